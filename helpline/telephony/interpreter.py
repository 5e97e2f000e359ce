"""Place one simulated call: fetch the app's TwiML and execute it as Twilio would.

Rules (TWILIO.md §2):
- A document that ends without a Redirect ends the call.
- Relative URLs resolve against the current document's URL (after redirects); a Gather or
  Record without `action` posts to that URL.
- Every request carries the common call parameters and a valid X-Twilio-Signature over the
  exact absolute URL requested; for GET the parameters go in the query string.
- A non-2xx answer, no answer or a document that is not TwiML ends the call with an error
  event (Twilio would play its application error message). `run()` never raises for that.
- Time is simulated (see `sounds` for how long prompts take); nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
import math
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from email.utils import format_datetime
from xml.etree.ElementTree import Element

from helpline.telephony import dial, sounds, twiml
from helpline.telephony.caller import Caller
from helpline.telephony.ids import API_VERSION, new_sid, recording_url
from helpline.telephony.script import (
    DialOutcome,
    HangUp,
    Press,
    SayNothing,
    Script,
    ScriptSource,
    Speak,
)
from helpline.telephony.signing import SIGNATURE_HEADER, sign
from helpline.telephony.transcript import (
    Dialed,
    Ended,
    EndReason,
    Enqueued,
    Failed,
    Note,
    Pressed,
    Request,
    Silence,
    Spoke,
    Transcript,
    origin_of,
)
from helpline.telephony.transport import Transport, TransportError, TransportResponse, with_query

MAX_QUEUE_SIZE = "1000"
CALLBACK_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
HANGUPS = frozenset({EndReason.CALLER_HANGUP, EndReason.TWIML_HANGUP, EndReason.SCRIPT_ENDED})


@dataclass(frozen=True)
class Limits:
    """Safety limits; reaching one ends the call."""

    max_steps: int = 200  # requests plus verbs executed
    max_seconds: float = 3600.0  # simulated time
    patience: int = 3  # listening points the caller sits through once the script is over
    max_queue_rounds: int = 5  # times a waitUrl is played before the caller gives up

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.max_queue_rounds < 1 or self.max_seconds <= 0:
            raise ValueError("max_steps, max_queue_rounds and max_seconds must be positive")
        if self.patience < 0:
            raise ValueError("patience must not be negative")


class CallSimulator:
    """Place inbound calls to one voice URL with a caller script; `run()` returns the transcript.

    `dial_outcomes` maps a dialled target (`+4420…`, `client:alice`, `conference:room`,
    `queue:support`) to how it answers; a `dial …` script step overrides it for one Dial.
    `extra_params` are added to every request (e.g. FromCountry) and may override defaults.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        account_sid: str,
        auth_token: str,
        url: str,
        method: str = "POST",
        from_: str = "+15005550006",
        to: str = "+15005550001",
        script: Script | ScriptSource | None = None,
        status_callback: str | None = None,
        status_callback_method: str = "POST",
        status_callback_events: Sequence[str] = ("completed",),
        dial_outcomes: Mapping[str, DialOutcome] | None = None,
        extra_params: Mapping[str, str] | None = None,
        call_sid: str | None = None,
        limits: Limits | None = None,
        started_at: dt.datetime | None = None,
    ) -> None:
        if not account_sid.startswith("AC"):
            raise ValueError("account_sid must start with AC")
        if not auth_token:
            raise ValueError("auth_token is required")
        for name, value in (("url", url), ("status_callback", status_callback)):
            parts = urllib.parse.urlsplit(value or "")
            if value is not None and (parts.scheme not in ("http", "https") or not parts.netloc):
                raise ValueError(f"{name} must be an absolute http(s) URL, not {value!r}")
        for name, value in (("method", method), ("status_callback_method", status_callback_method)):
            if value not in ("GET", "POST"):
                raise ValueError(f"{name} must be GET or POST, not {value!r}")
        if unknown := set(status_callback_events) - CALLBACK_EVENTS:
            raise ValueError(f"unknown status callback events: {', '.join(sorted(unknown))}")
        if call_sid is not None and not call_sid.startswith("CA"):
            raise ValueError("call_sid must start with CA")
        if started_at is not None and started_at.tzinfo is None:
            raise ValueError("started_at must be timezone-aware")
        self.transport = transport
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.url = url
        self.method = method
        self.from_ = from_
        self.to = to
        self.script = Script.parse(script)
        self.status_callback = status_callback
        self.status_callback_method = status_callback_method
        self.status_callback_events = frozenset(status_callback_events)
        self.dial_outcomes = dict(dial_outcomes or {})
        self.extra_params = dict(extra_params or {})
        self.call_sid = call_sid
        self.limits = limits or Limits()
        self.started_at = started_at

    def run(self) -> Transcript:
        """Place the call and return what happened; app misbehaviour ends up in the transcript."""
        return _Call(self).run()


@dataclass(frozen=True)
class _Goto:
    """The next document to fetch."""

    url: str
    method: str
    params: Mapping[str, str]
    purpose: str


@dataclass
class _Queue:
    name: str
    sid: str
    entered: float
    hang_at: float | None = None

    def params(self, now: float) -> dict[str, str]:
        waited = str(round(now - self.entered))
        return {
            "QueueSid": self.sid,
            "QueueTime": waited,
            "QueuePosition": "1",
            "AvgQueueTime": waited,
            "CurrentQueueSize": "1",
            "MaxQueueSize": MAX_QUEUE_SIZE,
        }


class _End(Exception):
    def __init__(self, reason: EndReason, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


class _LeaveQueue(Exception):
    def __init__(self, result: str) -> None:
        super().__init__(result)
        self.result = result


Handler = Callable[[Element, str], _Goto | None]


class _Call:
    """One run of a CallSimulator: the clock, the caller, and the verb handlers."""

    def __init__(self, sim: CallSimulator) -> None:
        self.sim = sim
        self.transcript = Transcript(sim.call_sid or new_sid("CA"), origin_of(sim.url))
        self.caller = Caller(sim.script, sim.limits.patience, self.transcript.add)
        self.started_at = sim.started_at or dt.datetime.now(dt.UTC)
        self.now = 0.0
        self.steps = 0
        self.status = "ringing"
        self.answered_at: float | None = None
        self.sequence = 0
        self.queue: _Queue | None = None
        self.handlers: dict[str, Handler] = {
            "Say": self._prompt,
            "Play": self._prompt,
            "Pause": self._prompt,
            "Gather": self._gather,
            "Record": self._record,
            "Dial": self._dial,
            "Enqueue": self._enqueue,
            "Leave": self._leave,
            "Redirect": self._redirect,
            "Hangup": self._hangup,
            "Reject": self._reject,
        }

    def run(self) -> Transcript:
        try:
            self._callback("initiated")
            self._callback("ringing")
            goto: _Goto | None = _Goto(self.sim.url, self.sim.method, {}, "voice")
            while goto is not None:
                goto = self._execute(*self._document(goto))
            raise _End(EndReason.END_OF_DOCUMENT)
        except _End as end:
            if end.reason is EndReason.REJECTED and self.answered_at is None:
                self.status = "busy" if end.detail == "busy" else "no-answer"
            else:
                self.status = "completed"
            self.transcript.add(Ended(self.now, end.reason, end.detail))
        self._callback("completed")
        return self.transcript

    # Requests

    def _common(self) -> dict[str, str]:
        sim = self.sim
        return {
            "AccountSid": sim.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.transcript.call_sid,
            "CallStatus": self.status,
            "Direction": "inbound",
            "From": sim.from_,
            "To": sim.to,
            "Caller": sim.from_,
            "Called": sim.to,
            **sim.extra_params,
        }

    def _signature(self, url: str, params: Mapping[str, str]) -> dict[str, str]:
        return {SIGNATURE_HEADER: sign(self.sim.auth_token, url, params)}

    def _request(self, goto: _Goto) -> tuple[TransportResponse, str]:
        """Send a signed request and log it; return the answer and the URL of what it holds.

        Raise TransportError when no answer comes.
        """
        url = urllib.parse.urldefrag(goto.url).url  # connection overrides never reach the app
        form = {**self._common(), **goto.params}
        sent = with_query(url, form) if goto.method == "GET" else url
        if goto.method == "GET":
            form = {}
        try:
            response = self.sim.transport.request(
                goto.method, sent, form, self._signature(sent, form), resign=self._signature
            )
        except TransportError:
            self.transcript.add(Request(self.now, goto.method, sent, goto.purpose, None))
            raise
        moved = response.final_url != sent
        self.transcript.add(
            Request(
                self.now,
                goto.method,
                sent,
                goto.purpose,
                response.status,
                response.final_url if moved else "",
            )
        )
        return response, response.final_url if moved else url

    def _notify(self, goto: _Goto) -> None:
        """Send a request whose answer does not matter (callbacks, actions after hangup)."""
        try:
            self._request(goto)
        except TransportError as error:
            self.transcript.add(Note(self.now, f"{goto.purpose}: {error}"))

    def _document(self, goto: _Goto) -> tuple[list[Element], str]:
        """Fetch a TwiML document; return its verbs and its URL after redirects."""
        self._step()
        try:
            response, document = self._request(goto)
        except TransportError as error:
            raise self._fail(str(error)) from None
        if not response.ok:
            raise self._fail(f"{goto.method} {goto.url} answered HTTP {response.status}")
        try:
            return twiml.parse(response.body), document
        except twiml.TwimlError as error:
            raise self._fail(f"{document} did not answer TwiML: {error}") from None

    def _callback(self, event: str) -> None:
        sim = self.sim
        if sim.status_callback is None or event not in sim.status_callback_events:
            return
        status = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}
        params = {
            "CallStatus": status.get(event, self.status),
            "SequenceNumber": str(self.sequence),
            "Timestamp": format_datetime(self.started_at + dt.timedelta(seconds=self.now)),
            "CallbackSource": "call-progress-events",
        }
        if event == "completed":
            duration = 0 if self.answered_at is None else round(self.now - self.answered_at)
            params |= {"CallDuration": str(duration), "Duration": str(math.ceil(duration / 60))}
        self.sequence += 1
        self._notify(
            _Goto(
                sim.status_callback, sim.status_callback_method, params, f"status callback {event}"
            )
        )

    # Bookkeeping

    def _step(self) -> None:
        self.steps += 1
        if self.steps > self.sim.limits.max_steps:
            raise _End(EndReason.STEP_LIMIT, f"more than {self.sim.limits.max_steps} steps")

    def _advance_to(self, moment: float) -> None:
        limit = self.sim.limits.max_seconds
        if moment > limit:
            self.now = max(self.now, limit)
            raise _End(EndReason.TIME_LIMIT, f"more than {limit:g}s of simulated time")
        self.now = max(self.now, moment)

    def _fail(self, message: str) -> _End:
        self.transcript.add(Failed(self.now, message))
        return _End(EndReason.ERROR, message)

    def _answer(self) -> None:
        if self.answered_at is None:
            self.answered_at = self.now
            self.status = "in-progress"
            self._callback("answered")

    def _listen(self) -> None:
        """Enter a listening point; the caller gives up once the script is long over."""
        if self.caller.gives_up():
            raise _End(EndReason.SCRIPT_ENDED)

    def _caller_hangs_up(self) -> _End:
        self.caller.take()
        return _End(EndReason.CALLER_HANGUP)

    def _mismatch(self, action: object, where: str) -> _End:
        return _End(EndReason.SCRIPT_MISMATCH, f"the script says {str(action)!r} at {where}")

    # Documents and sounds

    def _execute(self, verbs: list[Element], document: str) -> _Goto | None:
        """Run verbs in order; return the next document to fetch, or None at the end."""
        for verb in verbs:
            self._step()
            if self.queue is not None and verb.tag not in twiml.QUEUE_VERBS:
                self.transcript.add(Note(self.now, f"<{verb.tag}> is not allowed in a waitUrl"))
                raise _LeaveQueue("error")
            if verb.tag in twiml.UNSIMULATED:
                self.transcript.add(Note(self.now, f"<{verb.tag}> is not simulated; skipped"))
                continue
            if verb.tag != "Reject":
                self._answer()
            try:
                goto = self.handlers[verb.tag](verb, document)
            except twiml.TwimlError as error:
                raise self._fail(f"invalid TwiML from {document}: {error}") from None
            if goto is not None:
                return goto
        return None

    def _play(self, prompt: Sequence[sounds.Sound], stop_at: float | None = None) -> bool:
        """Play sounds in order until `stop_at`; return True if they were cut short."""
        for sound in prompt:
            start = self.now
            if stop_at is not None and stop_at <= start:
                return True
            cut = stop_at is not None and stop_at < start + sound.seconds
            heard_for = stop_at - start if stop_at is not None and cut else sound.seconds
            if sound.heard is not None:
                self.transcript.add(
                    replace(sound.heard, at=start, cut_after=heard_for if cut else None)
                )
            else:
                self.transcript.add(Silence(start, round(heard_for, 1), sound.why))
            self._advance_to(start + heard_for)
            if cut:
                return True
        return False

    # Verbs

    def _prompt(self, verb: Element, document: str) -> _Goto | None:
        """Say, Play, Pause: a caller waiting in a queue may hang up part way."""
        hang_at = self.queue.hang_at if self.queue else None
        if self._play([sounds.sound(verb, document)], hang_at):
            raise self._caller_hangs_up()
        return None

    def _gather(self, verb: Element, document: str) -> _Goto | None:
        """Collect keys while the prompt plays; the first key stops the prompt.

        Without input before the timeout the Gather falls through to the next verb, unless
        actionOnEmptyResult is true. Speech is not simulated.
        """
        action = twiml.url(verb, "action", document) or document
        method = twiml.method(verb)
        timeout = twiml.integer(verb, "timeout", 5)
        num_digits = twiml.integer(verb, "numDigits", 0, minimum=1)
        finish = verb.get("finishOnKey", "#")
        on_empty = twiml.boolean(verb, "actionOnEmptyResult", False)
        keys = "dtmf" in verb.get("input", "dtmf").split()
        prompt = [sounds.sound(child, document) for child in verb]
        if not keys:
            self.transcript.add(Note(self.now, "a speech-only Gather: speech is not simulated"))
        self._listen()
        start = self.now
        settled = start + sum(sound.once for sound in prompt)
        open_until = start + sum(sound.seconds for sound in prompt) + timeout
        digits, finished, played = "", "", False
        while True:
            step, at = self.caller.next(start, settled)
            if at <= open_until and (
                isinstance(step, HangUp) or (keys and isinstance(step, Press))
            ):
                if not played:
                    self._play(prompt, at)
                    played = True
                self._advance_to(at)
                if not isinstance(step, Press):
                    raise self._caller_hangs_up()
                self.caller.take()
                self.transcript.add(Pressed(at, step.digits))
                digits, finished, rest = _collect(digits, step.digits, num_digits, finish)
                if rest:
                    self.transcript.add(Note(at, f"keys {rest} come after the Gather ended; lost"))
                if finished or rest or (num_digits and len(digits) >= num_digits):
                    break
                start = settled = at  # more keys may follow, each within the timeout
                open_until = at + timeout
                continue
            if isinstance(step, Speak | DialOutcome):
                raise self._mismatch(step, "a <Gather>")
            if isinstance(step, SayNothing):
                self.caller.take()
            if not played:
                self._play(prompt)
            why = "gather timed out" + ("" if digits else ", no input")
            self.transcript.add(Silence(self.now, round(open_until - self.now, 1), why))
            self._advance_to(open_until)
            break
        if digits or on_empty:
            return _Goto(
                action, method, {"Digits": digits, "FinishedOnKey": finished}, "gather action"
            )
        return None

    def _record(self, verb: Element, document: str) -> _Goto | None:
        """Record what the caller says; an empty recording does not request the action.

        The caller stops speaking with `#` (or the first finishOnKey), or by silence when
        finishOnKey is empty; a hangup straight after still requests the action, Digits=hangup.
        """
        action = twiml.url(verb, "action", document) or document
        method = twiml.method(verb)
        timeout = twiml.integer(verb, "timeout", 5, minimum=1)
        max_length = twiml.integer(verb, "maxLength", 3600, minimum=1)
        finish = verb.get("finishOnKey", "1234567890*#")
        self._listen()
        if twiml.boolean(verb, "playBeep", True):
            self._play([sounds.BEEP])
        step, at = self.caller.next(self.now, self.now)
        if at - self.now >= timeout or step is None or isinstance(step, SayNothing):
            if isinstance(step, SayNothing):
                self.caller.take()
            self.transcript.add(Silence(self.now, timeout, "nothing said, the recording ends"))
            self._advance_to(self.now + timeout)
        elif isinstance(step, HangUp):
            self._advance_to(at)
            raise self._caller_hangs_up()
        elif isinstance(step, Press):
            self.caller.take()
            self._advance_to(at)
            self.transcript.add(Pressed(at, step.digits))
        elif isinstance(step, Speak):
            self.caller.take()
            self._advance_to(at)
            spoken = min(step.seconds, max_length)
            self.transcript.add(Spoke(at, spoken))
            self._advance_to(at + spoken)
            params = {"RecordingDuration": str(round(spoken)), "Digits": ""}
            if step.seconds < max_length:
                params["Digits"] = self._stop_recording(finish, timeout)
            sid = new_sid("RE")
            params |= {
                "RecordingUrl": recording_url(self.sim.account_sid, sid),
                "RecordingSid": sid,
            }
            if params["Digits"] == "hangup":
                self.status = "completed"
                self._notify(_Goto(action, method, params, "record action"))
                raise _End(EndReason.CALLER_HANGUP)
            return _Goto(action, method, params, "record action")
        else:
            raise self._mismatch(step, "a <Record>")
        self.transcript.add(Note(self.now, "empty recording: the action is not requested"))
        return None

    def _stop_recording(self, finish: str, timeout: int) -> str:
        """End speech: by hangup, by the caller's next key, by `#`, or by silence."""
        after, at = self.caller.next(self.now, self.now)
        if isinstance(after, HangUp) and at - self.now < timeout:
            self.caller.take()
            self._advance_to(at)
            return "hangup"
        key = "#" if "#" in finish else finish[:1]
        if isinstance(after, Press) and after.digits[0] in finish and at - self.now < timeout:
            self.caller.take()
            self._advance_to(at)
            key = after.digits[0]
        if key:
            self.transcript.add(Pressed(self.now, key))
            return key
        self.transcript.add(Silence(self.now, timeout, "silence ends the recording"))
        self._advance_to(self.now + timeout)
        return ""

    def _dial(self, verb: Element, document: str) -> _Goto | None:
        """Ring the targets; post the Dial action, or go on with the next verb without one."""
        action = twiml.url(verb, "action", document)
        method = twiml.method(verb)
        timeout = twiml.integer(verb, "timeout", 30, minimum=1)
        time_limit = twiml.integer(verb, "timeLimit", 14400, minimum=1)
        dialled = dial.targets(verb)
        scripted = self.caller.peek()
        if isinstance(scripted, DialOutcome):
            self.caller.take()
            outcomes = [scripted] * len(dialled)
        else:
            outcomes = [dial.behaviour(target, self.sim.dial_outcomes) for target in dialled]
        result = dial.settle(dialled, outcomes, timeout, time_limit)
        labels = tuple(target.label for target in dialled)
        shown = result.talk if result.status == "answered" else result.seconds
        self.transcript.add(Dialed(self.now, labels, result.status, shown))
        self._advance_to(self.now + result.seconds)
        if action is None:
            return None
        recorded = verb.get("record", "do-not-record") != "do-not-record"
        return _Goto(
            action, method, result.action_params(self.sim.account_sid, recorded), "dial action"
        )

    def _enqueue(self, verb: Element, document: str) -> _Goto | None:
        """Wait in a queue, replaying the waitUrl document; nobody answers in this simulation.

        The Enqueue action gets QueueResult `leave` (after <Leave>), `error` (bad waitUrl), or
        `hangup` (posted after the call ended). Without an action the next verb runs.
        """
        name = twiml.text(verb)
        if not name or len(name) > 64:
            raise twiml.TwimlError("<Enqueue> needs a queue name of at most 64 characters")
        action = twiml.url(verb, "action", document)
        method = twiml.method(verb)
        raw_wait = verb.get("waitUrl")
        if raw_wait is None:
            wait_url = sounds.HOLD_MUSIC
        else:  # an empty waitUrl means silence
            wait_url = twiml.resolve(raw_wait, document) if raw_wait.strip() else ""
        wait = _Goto(wait_url, twiml.method(verb, "waitUrlMethod"), {}, "queue wait")
        queue = self.queue = _Queue(name, new_sid("QU"), self.now)
        self.transcript.add(Enqueued(self.now, name, wait_url))
        try:
            result = self._wait_in_queue(queue, wait)
        except _End as end:
            if action is not None and end.reason in HANGUPS:
                self.status = "completed"
                params = {"QueueResult": "hangup", **queue.params(self.now)}
                self._notify(_Goto(action, method, params, "enqueue action"))
            raise
        finally:
            self.queue = None
        if action is None:
            return None
        params = {
            "QueueResult": result,
            "QueueSid": queue.sid,
            "QueueTime": queue.params(self.now)["QueueTime"],
        }
        return _Goto(action, method, params, "enqueue action")

    def _wait_in_queue(self, queue: _Queue, wait: _Goto) -> str:
        """Play rounds of the wait document; return the QueueResult, or end the call."""
        self._listen()
        goto = wait
        for _ in range(self.sim.limits.max_queue_rounds):
            step, at = self.caller.next(self.now, math.inf)
            hangs_up = isinstance(step, HangUp)
            queue.hang_at = at if hangs_up and at < math.inf else None
            after_round = hangs_up and queue.hang_at is None
            if wait.url in (sounds.HOLD_MUSIC, ""):
                hold = sounds.HOLD if wait.url else sounds.HOLD_SILENCE
                if self._play([hold], queue.hang_at):
                    raise self._caller_hangs_up()
            else:
                try:
                    verbs, document = self._document(
                        replace(goto, params={**goto.params, **queue.params(self.now)})
                    )
                    goto = self._execute(verbs, document) or wait
                except _LeaveQueue as leave:
                    return leave.result
                except _End as end:
                    if end.reason is not EndReason.ERROR:
                        raise
                    return "error"
            if after_round:  # a caller who did not wait first hangs up after one round
                raise self._caller_hangs_up()
        self.transcript.add(Note(self.now, "nobody answers the queue in this simulation"))
        raise _End(EndReason.CALLER_HANGUP, "gave up waiting in the queue")

    def _leave(self, verb: Element, document: str) -> _Goto | None:
        if self.queue is None:
            self.transcript.add(Note(self.now, "<Leave> outside a queue does nothing"))
            return None
        raise _LeaveQueue("leave")

    def _redirect(self, verb: Element, document: str) -> _Goto | None:
        target = twiml.text(verb)
        if not target:
            raise twiml.TwimlError("<Redirect> needs a URL")
        return _Goto(twiml.resolve(target, document), twiml.method(verb), {}, "redirect")

    def _hangup(self, verb: Element, document: str) -> _Goto | None:
        raise _End(EndReason.TWIML_HANGUP)

    def _reject(self, verb: Element, document: str) -> _Goto | None:
        reason = verb.get("reason", "rejected")
        if reason not in ("rejected", "busy"):
            raise twiml.TwimlError(f"<Reject reason={reason!r}> must be rejected or busy")
        raise _End(EndReason.REJECTED, reason)


def _collect(digits: str, pressed: str, num_digits: int, finish: str) -> tuple[str, str, str]:
    """Add pressed keys to a Gather's digits: return (digits, finishing key, keys left over)."""
    for index, key in enumerate(pressed):
        if finish and key in finish:
            return digits, key, pressed[index + 1 :]
        digits += key
        if num_digits and len(digits) >= num_digits:
            return digits, "", pressed[index + 1 :]
    return digits, "", ""
