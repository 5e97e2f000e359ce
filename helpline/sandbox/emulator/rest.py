"""Twilio's REST API (2010-04-01), the part the helpline uses, served by the emulator.

Under `/2010-04-01/Accounts/{AccountSid}`, with HTTP Basic auth (account sid, auth token):
- `Calls.json` POST (To, From, Url+Method or Twiml, StatusCallback, StatusCallbackEvent
  repeated or space-separated, StatusCallbackMethod, Timeout, MachineDetection, Record,
  RecordingStatusCallback(+Method), FallbackUrl(+Method)) → 201; GET (Status, To, From,
  ParentCallSid filters). `Calls/{CallSid}.json` GET; POST Url+Method or Twiml (redirect a
  live call; before the answer, the new TwiML runs on answer) or Status=completed|canceled.
- `Conferences.json` GET (FriendlyName, Status); `Conferences/{sid}.json` GET, POST
  Status=completed. `…/Participants.json` GET, POST (From, To, Label, Muted, Beep,
  StartConferenceOnEnter, EndConferenceOnExit, Coaching, CallSidToCoach, WaitUrl,
  WaitMethod, MaxParticipants, Timeout, StatusCallback*, ConferenceStatusCallback*) → 201.
  `…/Participants/{CallSid or Label}.json` GET, POST (Muted, Hold, HoldUrl, HoldMethod,
  Coaching, CallSidToCoach, EndConferenceOnExit; AnnounceUrl is noted, not played),
  DELETE (kick) → 204.
- `Queues.json` POST (FriendlyName, MaxSize) → 201, GET; `Queues/{sid}.json` GET;
  `…/Members.json` GET; `…/Members/{Front or CallSid}.json` GET, POST Url(+Method).
- `Recordings/{sid}.json` GET. The audio (`Recordings/{sid}`, `.wav`, `.mp3`) needs no auth,
  as Twilio's public recordings, and is silence (WAV) as long as the recording, up to 10 s.

Errors answer JSON with `code`, `message`, `more_info` and `status`, so twilio-python
raises TwilioRestException: 401 code 20003 (bad credentials), 404 code 20404, 400 code
21201 (no To), 21213 (no From), 21205 (bad or missing URL), 21220 (call not in progress),
12100 (Twiml not valid), 20001 (another bad parameter), 409 code 20409, 429 code 20429.
"""

from __future__ import annotations

import hmac
import io
import wave
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, request
from twilio.twiml.voice_response import VoiceResponse

from helpline.sandbox.ids import API_VERSION
from helpline.sandbox.progress import parse_events
from helpline.sandbox.signals import Goto, Inline, Next
from helpline.sandbox.transcript import Note
from helpline.telephony import twiml

from . import resources
from .errors import ExchangeError
from .exchange import Exchange, OutboundCall
from .legs import Callback, Leg
from .queues import MAX_SIZE_LIMIT, CallQueue
from .rooms import CONFERENCE_EVENTS, Participant, Room

MAX_TWIML = 4000
MAX_TEXT = 256
SILENCE_SECONDS_LIMIT = 10
ERROR_CODES = {400: 20001, 401: 20003, 404: 20404, 405: 20004, 409: 20409, 413: 20001, 429: 20429}
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: int, message: str) -> Response:
    """A Twilio-like JSON error."""
    response = jsonify(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    )
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def from_exchange_error(error: ExchangeError) -> Response:
    return error_response(error.status, ERROR_CODES.get(error.status, 20001), str(error))


# Reading the form


def _text(name: str, required: int | None = None, message: str = "") -> str | None:
    value = request.form.get(name)
    if value is None or value == "":
        if required is not None:
            raise ApiError(400, required, message or f"{name} is required")
        return None
    if len(value) > MAX_TEXT:
        raise ApiError(400, 20001, f"{name} is too long")
    return value


def _url(name: str, required: bool = False) -> str | None:
    value = request.form.get(name)
    if not value:
        if required:
            raise ApiError(400, 21205, f"{name} parameter is required")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 2000:
        raise ApiError(400, 21205, f"{name} is not a valid URL: {value[:80]}")
    return value


def _method(name: str, default: str = "POST") -> str:
    value = (request.form.get(name) or default).upper()
    if value not in ("GET", "POST"):
        raise ApiError(400, 20001, f"{name} must be GET or POST")
    return value


def _flag(name: str) -> bool | None:
    value = request.form.get(name)
    if value is None or value == "":
        return None
    if value.lower() not in ("true", "false"):
        raise ApiError(400, 20001, f"{name} must be true or false")
    return value.lower() == "true"


def _number(name: str, default: int, low: int, high: int) -> int:
    value = request.form.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise ApiError(400, 20001, f"{name} must be a whole number from {low} to {high}")
    return int(value)


def _events(name: str, parse: Callable[[list[str]], frozenset[str]]) -> frozenset[str]:
    try:
        return parse(request.form.getlist(name))
    except ValueError as error:
        raise ApiError(400, 20001, str(error)) from None


def _target(purpose: str) -> Next | None:
    """Url(+Method) or Twiml, as given; None when neither is."""
    url = _url("Url")
    if url is not None:
        return Goto(url, _method("Method"), {}, purpose)
    raw = request.form.get("Twiml")
    if not raw:
        return None
    if len(raw) > MAX_TWIML:
        raise ApiError(400, 12100, f"Twiml is longer than {MAX_TWIML} characters")
    try:
        twiml.parse(raw)
    except twiml.TwimlError as error:
        raise ApiError(400, 12100, f"Twiml is not valid TwiML: {error}") from None
    return Inline(raw)


def _callback() -> Callback | None:
    """StatusCallback with its events and method; the events are checked even without it."""
    events = _events("StatusCallbackEvent", parse_events)
    method = _method("StatusCallbackMethod")
    url = _url("StatusCallback")
    return None if url is None else Callback(url, method, events)


def rest_blueprint(exchange: Exchange) -> Blueprint:
    """The REST API for one exchange (one account)."""
    bp = Blueprint("twilio_rest", __name__, url_prefix=f"/{API_VERSION}/Accounts/<account_sid>")

    @bp.before_request
    def authenticate() -> Response | None:
        auth = request.authorization
        if (
            auth is None
            or auth.type != "basic"
            or not hmac.compare_digest(
                (auth.username or "").encode(), exchange.account_sid.encode()
            )
            or not hmac.compare_digest((auth.password or "").encode(), exchange.auth_token.encode())
        ):
            return error_response(401, 20003, "Authentication Error - invalid username or password")
        if (request.view_args or {}).get("account_sid") != exchange.account_sid:
            return error_response(
                404, 20404, f"The requested resource {request.path} was not found"
            )
        return None

    @bp.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message)

    @bp.errorhandler(ExchangeError)
    def exchange_error(error: ExchangeError) -> Response:
        return from_exchange_error(error)

    def created(body: dict[str, Any]) -> Response:
        response = jsonify(body)
        response.status_code = 201
        return response

    def not_found() -> ApiError:
        return ApiError(404, 20404, f"The requested resource {request.path} was not found")

    def look_up(find: Callable[[str], T | None], key: str) -> T:
        """What `find(key)` finds, read under the exchange's lock; Twilio's 404 if nothing."""
        with exchange.lock:
            found = find(key)
        if found is None:
            raise not_found()
        return found

    # Calls

    @bp.post("/Calls.json")
    def create_call(account_sid: str) -> Response:
        to = _text("To", 21201, "A 'To' phone number is required.")
        from_ = _text("From", 21213, "A 'From' phone number is required.")
        target = _target("url")
        if target is None:
            raise ApiError(400, 21205, "Url or Twiml parameter is required")
        record = None
        if _flag("Record"):
            record = Goto(
                _url("RecordingStatusCallback") or "",
                _method("RecordingStatusCallbackMethod"),
                {},
                "recording status callback",
            )
        fallback = _url("FallbackUrl")
        machine = _text("MachineDetection")
        if machine not in (None, "Enable", "DetectMessageEnd"):
            raise ApiError(400, 20001, "MachineDetection must be Enable or DetectMessageEnd")
        call = OutboundCall(
            to=to or "",
            from_=from_ or "",
            start=target,
            callback=_callback(),
            timeout=_number("Timeout", 60, 1, 600),
            machine_detection=machine,
            record=record,
            fallback=Goto(fallback, _method("FallbackMethod"), {}, "fallback")
            if fallback
            else None,
        )
        snapshot: dict[str, Any] = {}

        def as_created(leg: Leg) -> None:  # the call as it is before it starts ringing
            with exchange.lock:
                snapshot.update(resources.call(leg))

        exchange.create_call(call, as_created)
        return created(snapshot)

    @bp.get("/Calls.json")
    def list_calls(account_sid: str) -> Response:
        args = request.args
        filters = {
            "Status": "status",
            "To": "to",
            "From": "from",
            "ParentCallSid": "parent_call_sid",
        }
        with exchange.lock:
            calls = [resources.call(leg) for leg in reversed(exchange.list_legs())]
        for arg, field in filters.items():
            if args.get(arg):
                calls = [call for call in calls if call[field] == args[arg]]
        return jsonify(resources.page("calls", calls, request.path, args))

    @bp.get("/Calls/<call_sid>.json")
    def fetch_call(account_sid: str, call_sid: str) -> Response:
        leg = look_up(exchange.legs.get, call_sid)
        with exchange.lock:
            return jsonify(resources.call(leg))

    @bp.post("/Calls/<call_sid>.json")
    def update_call(account_sid: str, call_sid: str) -> Response:
        look_up(exchange.legs.get, call_sid)  # Twilio's 404 for a call it never had
        status = request.form.get("Status")
        if status:
            if status not in ("completed", "canceled"):
                raise ApiError(400, 20001, "Status must be completed or canceled")
            leg = exchange.end_call(call_sid, status)
        else:
            target = _target("redirect (REST)")
            if target is None:
                raise ApiError(400, 21205, "Url, Twiml or Status is required")
            try:
                leg = exchange.redirect(call_sid, target)
            except ExchangeError as error:
                raise ApiError(400, 21220, str(error)) from None
        with exchange.lock:
            return jsonify(resources.call(leg))

    # Conferences

    def room_of(conference_sid: str) -> Room:
        return look_up(exchange.rooms.get, conference_sid)

    @bp.get("/Conferences.json")
    def list_conferences(account_sid: str) -> Response:
        args = request.args
        with exchange.lock:
            rooms = [resources.conference(room) for room in reversed(exchange.rooms.values())]
        if args.get("FriendlyName"):
            rooms = [room for room in rooms if room["friendly_name"] == args["FriendlyName"]]
        if args.get("Status"):
            rooms = [room for room in rooms if room["status"] == args["Status"]]
        return jsonify(resources.page("conferences", rooms, request.path, args))

    @bp.get("/Conferences/<conference_sid>.json")
    def fetch_conference(account_sid: str, conference_sid: str) -> Response:
        room = room_of(conference_sid)
        with exchange.lock:
            return jsonify(resources.conference(room))

    @bp.post("/Conferences/<conference_sid>.json")
    def update_conference(account_sid: str, conference_sid: str) -> Response:
        room = room_of(conference_sid)
        status = request.form.get("Status")
        if status not in (None, "", "completed"):
            raise ApiError(400, 20001, "Status must be completed")
        if status == "completed":
            exchange.end_room(room)
        with exchange.lock:
            return jsonify(resources.conference(room))

    def participant_json(room: Room, key: str) -> dict[str, Any]:
        with exchange.lock:
            found = room.find(key)
            if found is not None:
                return resources.participant(room, found)
            waiting = room.find_waiting(key)
            if waiting is None:
                raise not_found()
            return resources.pending_participant(room, *waiting)

    @bp.get("/Conferences/<conference_sid>/Participants.json")
    def list_participants(account_sid: str, conference_sid: str) -> Response:
        room = room_of(conference_sid)
        args = request.args
        with exchange.lock:
            found = [resources.participant(room, p) for p in room.participants.values()]
            found += [resources.pending_participant(room, *entry) for entry in room.waiting()]
        for arg, field in (("Muted", "muted"), ("Hold", "hold"), ("Coaching", "coaching")):
            if args.get(arg) in ("true", "false"):
                found = [item for item in found if item[field] == (args[arg] == "true")]
        return jsonify(resources.page("participants", found, request.path, args))

    @bp.post("/Conferences/<conference_sid>/Participants.json")
    def create_participant(account_sid: str, conference_sid: str) -> Response:
        room = room_of(conference_sid)
        to = _text("To", 21201, "A 'To' phone number is required.")
        from_ = _text("From", 21213, "A 'From' phone number is required.")
        label = _text("Label")
        coach = _text("CallSidToCoach")
        coaching = _flag("Coaching")
        if coaching and not coach:
            raise ApiError(400, 20001, "Coaching needs CallSidToCoach")
        options = {
            "muted": bool(_flag("Muted")),
            "start_on_enter": _flag("StartConferenceOnEnter") is not False,
            "end_on_exit": bool(_flag("EndConferenceOnExit")),
            "coaching": bool(coaching if coaching is not None else coach),
        }
        beep = _text("Beep") or "true"
        if beep not in ("true", "false", "onEnter", "onExit"):
            raise ApiError(400, 20001, "Beep must be true, false, onEnter or onExit")
        conference_callback = _url("ConferenceStatusCallback")
        events = " ".join(_events("ConferenceStatusCallbackEvent", _conference_events))
        response = VoiceResponse()
        response.dial().conference(
            room.name,
            muted=options["muted"],
            beep=beep,
            start_conference_on_enter=options["start_on_enter"],
            end_conference_on_exit=options["end_on_exit"],
            wait_url=_url("WaitUrl"),
            wait_method=_method("WaitMethod"),
            max_participants=_number("MaxParticipants", 250, 2, 250),
            coach=coach if options["coaching"] else None,
            participant_label=label,
            status_callback=conference_callback,
            status_callback_event=events or None,
            status_callback_method=_method("ConferenceStatusCallbackMethod"),
        )
        call = OutboundCall(
            to=to or "",
            from_=from_ or "",
            start=Inline(str(response), "join the conference"),
            callback=_callback(),
            timeout=_number("Timeout", 60, 5, 600),
        )
        leg = exchange.add_participant(room, call, label, options)
        with exchange.lock:
            return created(resources.pending_participant(room, leg, label, options))

    @bp.get("/Conferences/<conference_sid>/Participants/<key>.json")
    def fetch_participant(account_sid: str, conference_sid: str, key: str) -> Response:
        return jsonify(participant_json(room_of(conference_sid), key))

    def joined(room: Room, key: str) -> Participant:
        return look_up(room.find, key)

    @bp.post("/Conferences/<conference_sid>/Participants/<key>.json")
    def update_participant(account_sid: str, conference_sid: str, key: str) -> Response:
        room = room_of(conference_sid)
        who = joined(room, key)
        changes: dict[str, object] = {}
        for form_name, name in (
            ("Muted", "muted"),
            ("Hold", "hold"),
            ("Coaching", "coaching"),
            ("EndConferenceOnExit", "end_on_exit"),
        ):
            value = _flag(form_name)
            if value is not None:
                changes[name] = value
        hold_url = _url("HoldUrl")
        if hold_url is not None:
            changes["hold_url"] = Goto(hold_url, _method("HoldMethod", "GET"), {}, "hold music")
        coach = _text("CallSidToCoach")
        if coach is not None:
            changes["call_sid_to_coach"] = coach
        if changes.get("coaching") and not (coach or who.call_sid_to_coach):
            raise ApiError(400, 20001, "Coaching needs CallSidToCoach")
        if changes.get("coaching") is False:
            changes["call_sid_to_coach"] = None
        if _url("AnnounceUrl") is not None:
            note = Note(who.leg.now(), "an announcement was asked for; it is not emulated")
            who.leg.transcript.add(note)
        exchange.update_participant(room, who, changes)
        return jsonify(participant_json(room, who.call_sid))

    @bp.delete("/Conferences/<conference_sid>/Participants/<key>.json")
    def delete_participant(account_sid: str, conference_sid: str, key: str) -> Response:
        room = room_of(conference_sid)
        exchange.kick(room, joined(room, key))
        return Response(status=204)

    # Queues

    def queue_of(queue_sid: str) -> CallQueue:
        return look_up(exchange.queues.get, queue_sid)

    @bp.post("/Queues.json")
    def create_queue(account_sid: str) -> Response:
        name = _text("FriendlyName", 20001, "FriendlyName is required")
        if name is not None and len(name) > 64:
            raise ApiError(400, 20001, "FriendlyName is at most 64 characters")
        found = exchange.create_queue(name or "", _number("MaxSize", 100, 1, MAX_SIZE_LIMIT))
        with exchange.lock:
            return created(resources.queue(found))

    @bp.get("/Queues.json")
    def list_queues(account_sid: str) -> Response:
        with exchange.lock:
            found = [resources.queue(queue) for queue in exchange.queues.values()]
        return jsonify(resources.page("queues", found, request.path, request.args))

    @bp.get("/Queues/<queue_sid>.json")
    def fetch_queue(account_sid: str, queue_sid: str) -> Response:
        found = queue_of(queue_sid)
        with exchange.lock:
            return jsonify(resources.queue(found))

    @bp.get("/Queues/<queue_sid>/Members.json")
    def list_members(account_sid: str, queue_sid: str) -> Response:
        found = queue_of(queue_sid)
        with exchange.lock:
            now = exchange.now()
            members = [resources.member(found, m, now) for m in found.members if m.taken is None]
        return jsonify(resources.page("queue_members", members, request.path, request.args))

    @bp.get("/Queues/<queue_sid>/Members/<which>.json")
    def fetch_member(account_sid: str, queue_sid: str, which: str) -> Response:
        found = queue_of(queue_sid)
        with exchange.lock:
            member = found.front() if which == "Front" else found.find(which)
            if member is None:
                raise not_found()
            return jsonify(resources.member(found, member, exchange.now()))

    @bp.post("/Queues/<queue_sid>/Members/<which>.json")
    def dequeue_member(account_sid: str, queue_sid: str, which: str) -> Response:
        found = queue_of(queue_sid)
        url = _url("Url", required=True)
        target = Goto(url or "", _method("Method"), {}, "dequeue (REST)")
        with exchange.lock:
            member = found.front() if which == "Front" else found.find(which)
            if member is None or member.taken is not None:
                raise not_found()
            body = resources.member(found, member, exchange.now())
        exchange.dequeue(found, member.leg.sid, target)
        return jsonify(body)

    # Recordings

    @bp.get("/Recordings/<recording_sid>.json")
    def fetch_recording(account_sid: str, recording_sid: str) -> Response:
        found = look_up(exchange.recordings.get, recording_sid)
        with exchange.lock:
            return jsonify(resources.recording(found))

    @bp.delete("/Recordings/<recording_sid>.json")
    def delete_recording(account_sid: str, recording_sid: str) -> Response:
        """Twilio answers 204 and the audio is gone; 404 for one it does not hold."""
        with exchange.lock:
            if exchange.recordings.pop(recording_sid, None) is None:
                raise not_found()
        return Response(status=204)

    return bp


def media_blueprint(exchange: Exchange) -> Blueprint:
    """Recording audio: public, as Twilio's recordings are unless HTTP auth is turned on."""
    bp = Blueprint("twilio_media", __name__, url_prefix=f"/{API_VERSION}/Accounts/<account_sid>")

    @bp.get("/Recordings/<name>")
    def recording_audio(account_sid: str, name: str) -> Response:
        sid = name.rsplit(".", 1)[0] if name.endswith((".wav", ".mp3")) else name
        with exchange.lock:
            found = exchange.recordings.get(sid)
        if found is None or account_sid != exchange.account_sid:
            return error_response(
                404, 20404, f"The requested resource {request.path} was not found"
            )
        return Response(_silence(min(found.duration, SILENCE_SECONDS_LIMIT)), mimetype="audio/wav")

    return bp


def _silence(seconds: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(1)
        audio.setframerate(8000)
        audio.writeframes(b"\x80" * 8000 * max(seconds, 1))
    return buffer.getvalue()


def _conference_events(raw: list[str]) -> frozenset[str]:
    events = frozenset(word for value in raw for word in value.split())
    if unknown := events - CONFERENCE_EVENTS:
        raise ValueError(f"unknown conference events: {', '.join(sorted(unknown))}")
    return events
