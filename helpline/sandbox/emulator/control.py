"""The sandbox's control API: JSON for people (the practice phone) and tools (traffic).

Served beside the REST API, without auth: the server binds to 127.0.0.1 by default.
This contract is stable; add fields, never change or remove them.

Calls
- `POST /sandbox/api/calls` `{"from": "+90…", "to": optional, "script": optional}` → 201
  `{"sid": "CA…"}`. A simulated caller rings the helpline (`to` defaults to its number;
  every call goes to its voice URL). Without `script` a person drives the call with the two
  endpoints below; a script is the `helpline simulate` syntax ("press 2; wait 3; hangup").
- `GET /sandbox/api/calls` → `{"calls": [call…]}`, the live calls. A call:
  `{"sid", "direction", "from", "to", "status", "parent_call_sid", "doing", "interactive",
  "created_at"}` (ISO 8601).
- `GET /sandbox/api/calls/{sid}?after=N` → the call plus `{"ended": bool, "events": [...],
  "last": the index of the last event listed (N when none)}`, with the events whose index
  is greater than N (default -1: all); poll again with `after` = `last`. An event:
  `{"index", "at" (seconds since the call began), "kind", "text", "language", "voice",
  "audio_url", "cut_after", "detail"}`. Kinds: say, play, digits, beep (what the caller
  hears), pressed, waited, spoke, silence, request, dialed, enqueued, connected,
  disconnected, note, error, ended. A prompt cut short gains `cut_after` in place after it
  was first listed: a client that speaks prompts stops at the next event anyway.
- `POST /sandbox/api/calls/{sid}/digits` `{"digits": "1"}` → 202. Keys count at the
  listening point (Gather, Record) in progress; typed while nothing listens they are lost.
- `POST /sandbox/api/calls/{sid}/hangup` → 202.

Phones (staff)
- `GET /sandbox/api/phones` → `{"phones": [{"number", "behaviour", "state"
  (idle|ringing|in-call), "call_sid"}]}`.
- `POST /sandbox/api/phones` `{"number": "+90…", "behaviour": "human" or {"kind", "after",
  "talk", "keys", "greeting"}}` → 201 (new) or 200 (replaced) phone. See `phones`.
- `POST /sandbox/api/phones/{number}/answer|decline|hangup` → 202 phone; `…/digits`
  `{"digits": "1"}` → 202 phone. Answer and decline are for the `human` behaviour.

Faults and state
- `GET /sandbox/api/faults`; `POST /sandbox/api/faults` `{"duplicate": 0.0-1.0, "reorder":
  bool, "delay_ms": int}` → the faults now (absent fields keep their value).
- `GET /sandbox/api/conferences` → rooms with participants and who hears whom;
  `GET /sandbox/api/queues` → queues with their members.

Errors are `{"error": "..."}` with 400 (bad JSON or values), 404 (unknown call or phone),
409 (not possible now), 413 (body too large), 429 (too many calls); never a 500.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from helpline.sandbox.script import Script, ScriptError
from helpline.sandbox.transcript import (
    Connected,
    Dialed,
    Disconnected,
    Ended,
    Enqueued,
    Event,
    Failed,
    Heard,
    Note,
    Pressed,
    Request,
    Silence,
    Spoke,
    Waited,
)

from .deliveries import Faults
from .errors import ExchangeError
from .exchange import Exchange
from .legs import Leg
from .phones import Behaviour, BehaviourError

NUMBER = re.compile(r"^(\+[0-9]{6,15}|client:[A-Za-z0-9_.-]{1,64})$")
CALLER = re.compile(r"^(\+[0-9]{6,15}|anonymous|client:[A-Za-z0-9_.-]{1,64})$")
MAX_SCRIPT = 2000
NO_DIGITS = "digits is required: 0-9, * and #"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _body() -> dict[str, Any]:
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _string(body: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
        raise ControlError(400, f"{name} is not valid")
    return value


def _required(
    body: dict[str, Any], name: str, missing: str, pattern: re.Pattern[str] | None = None
) -> str:
    """`_string`, present and not empty; otherwise a 400 with the message `missing`."""
    value = _string(body, name, pattern)
    if not value:
        raise ControlError(400, missing)
    return value


def call_summary(leg: Leg) -> dict[str, Any]:
    """Read under the exchange's lock."""
    return {
        "sid": leg.sid,
        "direction": leg.setup.direction,
        "from": leg.setup.from_,
        "to": leg.setup.to,
        "status": leg.status,
        "parent_call_sid": leg.setup.parent_call_sid,
        "doing": leg.doing,
        "interactive": leg.keypad is not None,
        "created_at": leg.created.isoformat(),
    }


def event_json(index: int, event: Event) -> dict[str, Any]:
    """One transcript event, with the same keys whatever its kind."""
    item: dict[str, Any] = {
        "index": index,
        "at": round(event.at, 2),
        "kind": "",
        "text": "",
        "language": None,
        "voice": None,
        "audio_url": None,
        "cut_after": None,
        "detail": event.describe(lambda url: url),
    }
    if isinstance(event, Heard):
        item |= {
            "kind": event.kind,
            "text": event.text,
            "language": event.language or None,
            "voice": event.voice or None,
            "audio_url": event.url or None,
            "cut_after": event.cut_after,
        }
        return item
    kinds: dict[type, str] = {
        Pressed: "pressed",
        Waited: "waited",
        Spoke: "spoke",
        Silence: "silence",
        Request: "request",
        Dialed: "dialed",
        Enqueued: "enqueued",
        Connected: "connected",
        Disconnected: "disconnected",
        Note: "note",
        Failed: "error",
        Ended: "ended",
    }
    item["kind"] = kinds.get(type(event), "note")
    if isinstance(event, Pressed):
        item["text"] = event.digits
    elif isinstance(event, Note):
        item["text"] = event.text
    elif isinstance(event, Failed):
        item["text"] = event.message
    elif isinstance(event, Ended):
        item["text"] = str(event.reason)
    return item


def control_blueprint(exchange: Exchange) -> Blueprint:
    bp = Blueprint("sandbox_control", __name__, url_prefix="/sandbox/api")

    @bp.errorhandler(ControlError)
    def control_error(error: ControlError) -> Response:
        return error_response(error.status, error.message)

    @bp.errorhandler(ExchangeError)
    def exchange_error(error: ExchangeError) -> Response:
        return error_response(error.status, str(error))

    def accepted(body: dict[str, Any]) -> Response:
        response = jsonify(body)
        response.status_code = 202
        return response

    # Calls

    @bp.post("/calls")
    def place_call() -> Response:
        body = _body()
        caller = _required(
            body, "from", "from is required: the caller's number, or anonymous", CALLER
        )
        to = _string(body, "to", NUMBER)
        raw_script = body.get("script")
        script = None
        if raw_script is not None:
            if not isinstance(raw_script, str | list) or len(str(raw_script)) > MAX_SCRIPT:
                raise ControlError(400, "script is a string or a list of steps")
            try:
                script = Script.parse(raw_script)
            except ScriptError as error:
                raise ControlError(400, f"script: {error}") from None
        leg = exchange.place_call(caller, to, script)
        response = jsonify({"sid": leg.sid})
        response.status_code = 201
        return response

    @bp.get("/calls")
    def live_calls() -> Response:
        with exchange.lock:
            calls = [call_summary(leg) for leg in exchange.live_legs()]
        return jsonify({"calls": calls})

    @bp.get("/calls/<sid>")
    def call_events(sid: str) -> Response:
        raw_after = request.args.get("after", "-1")
        if not re.fullmatch(r"-?[0-9]{1,9}", raw_after):
            raise ControlError(400, "after must be a whole number")
        leg = exchange.get_leg(sid)
        with exchange.lock:
            summary = call_summary(leg)
        events = leg.transcript.snapshot(int(raw_after))
        last = events[-1][0] if events else max(int(raw_after), -1)
        return jsonify(
            summary
            | {
                "ended": leg.ended.is_set(),
                "events": [event_json(index, event) for index, event in events],
                "last": last,
            }
        )

    @bp.post("/calls/<sid>/digits")
    def call_digits(sid: str) -> Response:
        digits = _required(_body(), "digits", NO_DIGITS)
        exchange.press(sid, digits)
        return accepted({"sid": sid, "digits": digits})

    @bp.post("/calls/<sid>/hangup")
    def call_hangup(sid: str) -> Response:
        exchange.hang_up(sid)
        return accepted({"sid": sid})

    # Phones

    @bp.get("/phones")
    def phones() -> Response:
        with exchange.lock:
            listed = [phone.to_json() for phone in exchange.phones.values()]
        return jsonify({"phones": listed})

    @bp.post("/phones")
    def register_phone() -> Response:
        body = _body()
        number = _required(
            body, "number", "number is required, in E.164 form (+90…) or client:name", NUMBER
        )
        try:
            behaviour = Behaviour.parse(body.get("behaviour", "answer"))
        except BehaviourError as error:
            raise ControlError(400, f"behaviour: {error}") from None
        with exchange.lock:
            known = number in exchange.phones
        phone = exchange.set_phone(number, behaviour)
        with exchange.lock:
            response = jsonify(phone.to_json())
        response.status_code = 200 if known else 201
        return response

    @bp.post("/phones/<number>/<action>")
    def phone_action(number: str, action: str) -> Response:
        if action not in ("answer", "decline", "hangup", "digits"):
            raise ControlError(404, f"no phone action {action!r}")
        digits = ""
        if action == "digits":
            digits = _required(_body(), "digits", NO_DIGITS)
        phone = exchange.phone_act(number, action, digits)
        with exchange.lock:
            return accepted(phone.to_json())

    # Faults and state

    @bp.get("/faults")
    def faults() -> Response:
        return jsonify(exchange.deliveries.faults.to_json())

    @bp.post("/faults")
    def set_faults() -> Response:
        body = _body()
        current = exchange.deliveries.faults
        changes: dict[str, Any] = {}
        duplicate = body.get("duplicate", current.duplicate)
        if isinstance(duplicate, bool) or not isinstance(duplicate, int | float):
            raise ControlError(400, "duplicate is a number from 0.0 to 1.0")
        changes["duplicate"] = float(duplicate)
        reorder = body.get("reorder", current.reorder)
        if not isinstance(reorder, bool):
            raise ControlError(400, "reorder is true or false")
        changes["reorder"] = reorder
        delay = body.get("delay_ms", current.delay_ms)
        if isinstance(delay, bool) or not isinstance(delay, int):
            raise ControlError(400, "delay_ms is a whole number of milliseconds")
        changes["delay_ms"] = delay
        try:
            updated = dataclasses.replace(current, **changes)
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        exchange.set_faults(updated)
        return jsonify(updated.to_json())

    @bp.get("/conferences")
    def conferences() -> Response:
        with exchange.lock:
            rooms = []
            for room in exchange.rooms.values():
                hears = room.hears()
                people = [
                    {
                        "call_sid": p.call_sid,
                        "label": p.label,
                        "muted": p.muted,
                        "hold": p.hold,
                        "coaching": p.coaching,
                        "call_sid_to_coach": p.call_sid_to_coach,
                        "hears": sorted(hears.get(p.call_sid, ())),
                    }
                    for p in room.participants.values()
                ]
                rooms.append(
                    {
                        "sid": room.sid,
                        "name": room.name,
                        "status": room.status,
                        "participants": people,
                    }
                )
        return jsonify({"conferences": rooms})

    @bp.get("/queues")
    def queues() -> Response:
        with exchange.lock:
            now = exchange.now()
            listed = [
                {
                    "sid": queue.sid,
                    "name": queue.name,
                    "size": len(queue.members),
                    "members": [
                        {
                            "call_sid": m.leg.sid,
                            "position": queue.position(m),
                            "wait_time": round(now - m.entered),
                        }
                        for m in queue.members
                    ],
                }
                for queue in exchange.queues.values()
            ]
        return jsonify({"queues": listed})

    return bp


__all__ = ["Faults", "control_blueprint"]
