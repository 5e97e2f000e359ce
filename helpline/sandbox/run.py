"""Execute TwiML for one call leg as Twilio would (TWILIO.md §2), on any clock.

Rules:
- A document that ends without a Redirect ends the call.
- Relative URLs resolve against the current document's URL (after redirects); a Gather or
  Record without `action` posts to that URL.
- Every request carries the common call parameters and a valid X-Twilio-Signature over the
  exact absolute URL requested (see `webhook`).
- A non-2xx answer, no answer or a document that is not TwiML is an error. With a fallback
  URL, Twilio requests it (ErrorCode, ErrorUrl) and runs its TwiML; without one the call
  ends with an error event (Twilio would play its application error message). `run()`
  never raises for that. Assumption: the fallback serves every document, not only the first.
- The call is answered by its first verb other than `<Reject>`.
- Bounded: `Limits` caps requests plus verbs, simulated time and queue rounds.

The pluggable parts:
- the `Timeline`: the clock (instant or real time) and interrupts from other threads;
- the caller's `Inputs`: a `Caller` reading a script, or a `Keypad` fed at any time;
- the `Network` that `<Dial>` and `<Enqueue>` reach (simulated outcomes, or the exchange);
- the `Hooks` told about answering and recordings, which also send fire-and-forget webhooks.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol
from xml.etree.ElementTree import Element

from helpline.sandbox import sounds, webhook
from helpline.sandbox.audio import AudioLengths
from helpline.sandbox.ids import API_VERSION, TWILIO_API, new_sid, recording_url
from helpline.sandbox.recording import Recording, parse_events
from helpline.sandbox.script import Action, DialOutcome, HangUp, Press, SayNothing, Speak
from helpline.sandbox.signals import End, Goto, Inline, LeaveQueue, Next, Redirected, Stopped
from helpline.sandbox.timeline import Player, Timeline
from helpline.sandbox.transcript import (
    Ended,
    EndReason,
    Failed,
    Note,
    Pressed,
    Request,
    Silence,
    Spoke,
    Transcript,
)
from helpline.sandbox.transport import Transport, TransportError, TransportResponse
from helpline.telephony import twiml

LIVE_RECORDING_MINIMUM = 1.0  # seconds: a keypad caller who stops sooner said nothing


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


@dataclass(frozen=True)
class LegSetup:
    """Who the leg is, as Twilio tells the app on every request, and how to reach the app."""

    transport: Transport
    account_sid: str
    auth_token: str
    call_sid: str
    from_: str
    to: str
    started_at: dt.datetime
    direction: str = "inbound"
    parent_call_sid: str | None = None
    extra_params: Mapping[str, str] = field(default_factory=dict)
    fallback: Goto | None = None
    recording_base: str = TWILIO_API
    limits: Limits = field(default_factory=Limits)
    audio: AudioLengths | None = None  # audio plays its real length; else 5 s

    def date(self, moment: float) -> dt.datetime:
        return self.started_at + dt.timedelta(seconds=moment)

    def params(self, status: str) -> dict[str, str]:
        """The parameters common to every request about this call (TWILIO.md §1)."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.call_sid,
            "CallStatus": status,
            "Direction": self.direction,
            "From": self.from_,
            "To": self.to,
            "Caller": self.from_,
            "Called": self.to,
        }
        if self.parent_call_sid:
            params["ParentCallSid"] = self.parent_call_sid
        return params | dict(self.extra_params)


class Inputs(Protocol):
    """What the caller does at the points where the call listens (see `caller`)."""

    @property
    def interactive(self) -> bool:
        """True for a person at a keypad, whose next key cannot be known ahead."""
        ...

    def next(self, start: float, settled: float) -> tuple[Action | None, float]: ...

    def peek(self) -> Action | None: ...

    def take(self) -> None: ...

    def gives_up(self) -> bool: ...


class Network(Protocol):
    """What `<Dial>` and `<Enqueue>` reach; each returns the next document, or None."""

    def dial(self, run: CallRun, verb: Element, document: str) -> Next | None: ...

    def enqueue(self, run: CallRun, verb: Element, document: str) -> Next | None: ...


class Hooks:
    """What a run tells the world. The defaults send fire-and-forget webhooks at once."""

    def answered(self, run: CallRun) -> None:
        """The call was answered (its first verb)."""

    def recorded(self, run: CallRun, recording: Recording) -> None:
        """A recording was made."""

    def deliver(self, run: CallRun, goto: Goto) -> None:
        """Send a webhook whose answer does not matter (status and recording callbacks)."""
        run.notify(goto)


Handler = Callable[[Element, str], Next | None]


class CallRun:
    """One leg executing TwiML: the verb handlers, over pluggable time, caller and network."""

    def __init__(
        self,
        setup: LegSetup,
        *,
        timeline: Timeline,
        inputs: Inputs,
        network: Network,
        hooks: Hooks | None = None,
        transcript: Transcript | None = None,
        status: str = "ringing",
        answered_at: float | None = None,
    ) -> None:
        self.setup = setup
        self.timeline = timeline
        self.inputs = inputs
        self.network = network
        self.hooks = hooks or Hooks()
        self.transcript = transcript or Transcript(setup.call_sid)
        self.status = status
        self.answered_at = answered_at
        self.steps = 0
        self.hang_at: float | None = None  # a scripted caller hangs up then, whatever plays
        self._later: list[Goto] = []  # callbacks to send once the next document is fetched
        self._allowed: tuple[frozenset[str], str] | None = None
        self._in_fallback = False
        self.handlers: dict[str, Handler] = {
            "Say": self._prompt,
            "Play": self._prompt,
            "Pause": self._prompt,
            "Gather": self._gather,
            "Record": self._record,
            "Dial": lambda verb, document: self.network.dial(self, verb, document),
            "Enqueue": lambda verb, document: self.network.enqueue(self, verb, document),
            "Leave": self._leave,
            "Redirect": self._redirect,
            "Hangup": self._hangup,
            "Reject": self._reject,
        }

    @property
    def now(self) -> float:
        return self.timeline.now()

    @property
    def limits(self) -> Limits:
        return self.setup.limits

    def run(self, start: Next) -> End:
        """Execute from `start` until the leg ends; return how it ended (also in the transcript)."""
        target = start
        try:
            while True:
                try:
                    self.follow(target)
                    break
                except Redirected as moved:
                    target = moved.target
            raise End(EndReason.END_OF_DOCUMENT)
        except End as end:
            self.finish(end)
            return end

    def follow(self, start: Next) -> None:
        """Execute from `start` until a document ends; End and Redirected propagate."""
        target: Next | None = start
        while target is not None:
            target = self.execute(*self.document(target))

    def deliver_later(self, goto: Goto) -> None:
        """Send `goto` once the next document has been fetched (or the leg ends): a recording
        is processed before its callback comes, so the action request comes first."""
        self._later.append(goto)

    def _deliver_pending(self) -> None:
        pending, self._later = self._later, []
        for goto in pending:
            self.deliver(goto)

    def finish(self, end: End) -> None:
        """Settle the final status, log the end, send the callbacks held back."""
        if end.status is not None:
            self.status = end.status
        elif end.reason is EndReason.REJECTED and self.answered_at is None:
            self.status = "busy" if end.detail == "busy" else "no-answer"
        else:
            self.status = "completed"
        self.transcript.add(Ended(self.now, end.reason, end.detail))
        self._deliver_pending()

    # Requests

    def params(self) -> dict[str, str]:
        """The parameters common to every request about this call."""
        return self.setup.params(self.status)

    def request(self, goto: Goto) -> tuple[TransportResponse, str]:
        """Send a signed request and log it; return the answer and the URL of what it holds.

        Raise TransportError when no answer comes.
        """
        form = {**self.params(), **goto.params} if goto.common else dict(goto.params)
        sent, _ = webhook.prepare(goto.method, goto.url, form)
        url = urllib.parse.urldefrag(goto.url).url
        try:
            response = webhook.send(
                self.setup.transport, self.setup.auth_token, goto.method, goto.url, form
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

    def notify(self, goto: Goto) -> None:
        """Send a request whose answer does not matter (callbacks, actions after hangup)."""
        try:
            self.request(goto)
        except TransportError as error:
            self.transcript.add(Note(self.now, f"{goto.purpose}: {error}"))

    def document(self, target: Next) -> tuple[list[Element], str]:
        """Fetch (or read) a TwiML document; return its verbs and its URL after redirects."""
        self.step()
        if isinstance(target, Inline):
            try:
                return twiml.parse(target.twiml), ""
            except twiml.TwimlError as error:
                raise self.fail(f"the inline TwiML is not valid: {error}") from None
        try:
            response, document = self.request(target)
        except TransportError as error:
            return self._failed(target, str(error), "11200")
        finally:
            self._deliver_pending()
        if not response.ok:
            message = f"{target.method} {target.url} answered HTTP {response.status}"
            return self._failed(target, message, "11200")
        try:
            verbs = twiml.parse(response.body)
        except twiml.TwimlError as error:
            return self._failed(target, f"{document} did not answer TwiML: {error}", "12100")
        self._in_fallback = False
        self.timeline.check()
        return verbs, document

    def _failed(self, target: Goto, message: str, code: str) -> tuple[list[Element], str]:
        """Use the fallback URL once for a failed document; without one, end the call."""
        fallback = self.setup.fallback
        if fallback is None or self._in_fallback:
            raise self.fail(message)
        self.transcript.add(Failed(self.now, message))
        self._in_fallback = True
        params = {**fallback.params, "ErrorCode": code, "ErrorUrl": target.url}
        return self.document(Goto(fallback.url, fallback.method, params, "fallback"))

    # Bookkeeping

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise End(EndReason.STEP_LIMIT, f"more than {self.limits.max_steps} steps")

    def pass_to(self, moment: float, player: Player | None = None, *, early: bool = False) -> bool:
        """Let time pass (see `Timeline.pass_to`); a prompt playing stops if the leg is cut off."""
        with self._playing(player):
            return self.timeline.pass_to(moment, player, early=early)

    def fail(self, message: str) -> End:
        self.transcript.add(Failed(self.now, message))
        return End(EndReason.ERROR, message)

    def answer(self) -> None:
        if self.answered_at is None:
            self.answered_at = self.now
            self.status = "in-progress"
            self.hooks.answered(self)

    def listen(self) -> None:
        """Enter a listening point; the caller gives up once the script is long over."""
        if self.inputs.gives_up():
            raise End(EndReason.SCRIPT_ENDED)

    def caller_hangs_up(self) -> End:
        self.inputs.take()
        return End(EndReason.CALLER_HANGUP)

    def mismatch(self, action: object, where: str) -> End:
        return End(EndReason.SCRIPT_MISMATCH, f"the script says {str(action)!r} at {where}")

    def deliver(self, goto: Goto) -> None:
        self.hooks.deliver(self, goto)

    @contextmanager
    def restricted(self, allowed: frozenset[str], where: str) -> Iterator[None]:
        """Run documents in this block with only `allowed` verbs (a waitUrl, a whisper).

        Any other verb ends the wait: LeaveQueue("error").
        """
        previous = self._allowed
        self._allowed = (allowed, where)
        try:
            yield
        finally:
            self._allowed = previous

    @contextmanager
    def _playing(self, player: Player | None) -> Iterator[None]:
        try:
            yield
        except (End, Redirected, Stopped):
            if player is not None:
                player.stop(self.now)
            raise

    # Documents and sounds

    def execute(self, verbs: list[Element], document: str) -> Next | None:
        """Run verbs in order; return the next document to fetch, or None at the end."""
        for verb in verbs:
            self.step()
            self.timeline.check()
            if self._allowed is not None and verb.tag not in self._allowed[0]:
                self.transcript.add(
                    Note(self.now, f"<{verb.tag}> is not allowed in {self._allowed[1]}")
                )
                raise LeaveQueue("error")
            if verb.tag in twiml.UNSIMULATED:
                self.transcript.add(Note(self.now, f"<{verb.tag}> is not simulated; skipped"))
                continue
            if verb.tag != "Reject":
                self.answer()
            try:
                goto = self.handlers[verb.tag](verb, document)
            except twiml.TwimlError as error:
                raise self.fail(f"invalid TwiML from {document}: {error}") from None
            if goto is not None:
                return goto
        return None

    def play(self, prompt: Sequence[sounds.Sound], stop_at: float | None = None) -> bool:
        """Play sounds in order until `stop_at`; return True if they were cut short."""
        player = Player(prompt, self.now, self.transcript)
        if prompt and stop_at is not None and (stop_at < player.end or stop_at <= player.start):
            self.pass_to(stop_at, player)
            player.stop(stop_at)
            return True
        self.pass_to(player.end, player)
        player.finish()
        return False

    # Verbs

    def _prompt(self, verb: Element, document: str) -> Next | None:
        """Say, Play, Pause: a caller waiting in a queue may hang up part way."""
        if self.play([sounds.sound(verb, document, self.setup.audio)], self.hang_at):
            raise self.caller_hangs_up()
        return None

    def _gather(self, verb: Element, document: str) -> Next | None:
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
        prompt = [sounds.sound(child, document, self.setup.audio) for child in verb]
        if not keys:
            self.transcript.add(Note(self.now, "a speech-only Gather: speech is not simulated"))
        self.listen()
        start = self.now
        whole = Player(prompt, start, self.transcript)
        settled, open_until = whole.settled, whole.end + timeout
        player: Player | None = whole
        quiet_from = start
        digits, finished, silent = "", "", False
        while True:
            step, at = (None, open_until) if silent else self.inputs.next(start, settled)
            acts = isinstance(step, HangUp) or (keys and isinstance(step, Press))
            if acts and at <= open_until:
                self.pass_to(at, player)
                if player is not None:
                    player.stop(at)
                    player = None
                if not isinstance(step, Press):
                    raise self.caller_hangs_up()
                self.inputs.take()
                self.transcript.add(Pressed(at, step.digits))
                digits, finished, rest = _collect(digits, step.digits, num_digits, finish)
                if rest:
                    self.transcript.add(Note(at, f"keys {rest} come after the Gather ended; lost"))
                if finished or rest or (num_digits and len(digits) >= num_digits):
                    break
                start = settled = quiet_from = at  # more keys may follow, each within the timeout
                open_until = at + timeout
                continue
            if isinstance(step, Speak | DialOutcome):
                raise self.mismatch(step, "a <Gather>")
            if isinstance(step, SayNothing):
                self.inputs.take()
                silent = True
            if player is not None:
                if not self.pass_to(player.end, player, early=not silent):
                    continue  # woken: a key may have come
                player.finish()
                quiet_from = player.end
                player = None
            if not self.pass_to(open_until, early=not silent):
                continue
            why = "gather timed out" + ("" if digits else ", no input")
            self.transcript.add(Silence(quiet_from, round(open_until - quiet_from, 1), why))
            break
        if digits or on_empty:
            return Goto(
                action, method, {"Digits": digits, "FinishedOnKey": finished}, "gather action"
            )
        return None

    def _record(self, verb: Element, document: str) -> Next | None:
        """Record what the caller says; an empty recording does not request the action.

        The caller stops speaking with `#` (or the first finishOnKey), or by silence when
        finishOnKey is empty; a hangup straight after still requests the action, Digits=hangup.
        """
        take = _Take(verb, document)
        timeout = twiml.integer(verb, "timeout", 5, minimum=1)
        self.listen()
        if twiml.boolean(verb, "playBeep", True):
            self.play([sounds.BEEP])
        take.started = self.now
        self.recording_callback(take, "in-progress", self._draft(take.sid, take.started))
        if self.inputs.interactive:
            return self._record_live(take)
        step, at = self.inputs.next(self.now, self.now)
        if at - self.now >= timeout or step is None or isinstance(step, SayNothing):
            if isinstance(step, SayNothing):
                self.inputs.take()
            self.transcript.add(Silence(self.now, timeout, "nothing said, the recording ends"))
            self.pass_to(self.now + timeout)
        elif isinstance(step, HangUp):
            self.pass_to(at)
            raise self.caller_hangs_up()
        elif isinstance(step, Press):
            self.inputs.take()
            self.pass_to(at)
            self.transcript.add(Pressed(at, step.digits))
        elif isinstance(step, Speak):
            self.inputs.take()
            self.pass_to(at)
            spoken = min(step.seconds, take.max_length)
            self.transcript.add(Spoke(at, spoken))
            self.pass_to(at + spoken)
            key = (
                self._stop_recording(take.finish, timeout) if step.seconds < take.max_length else ""
            )
            return self._recorded(take, at, spoken, key)
        else:
            raise self.mismatch(step, "a <Record>")
        return self._empty_recording(take)

    def _record_live(self, take: _Take) -> Next | None:
        """A person at a keypad speaks from the beep until a key or a hangup, up to maxLength.

        A key sooner than LIVE_RECORDING_MINIMUM means nothing was said.
        """
        start, limit = take.started, take.started + take.max_length
        try:
            while True:
                step, at = self.inputs.next(start, start)
                if isinstance(step, Press) and at <= limit:
                    self.inputs.take()
                    self.transcript.add(Pressed(at, step.digits))
                    break
                if self.pass_to(limit, early=True):
                    step, at = None, limit
                    break
        except End as end:
            spoken = self.now - start
            if end.reason is EndReason.CALLER_HANGUP and spoken >= LIVE_RECORDING_MINIMUM:
                self.transcript.add(Spoke(start, round(spoken, 1)))
                self._recorded(take, start, spoken, "hangup")
            raise
        spoken = at - start
        if spoken < LIVE_RECORDING_MINIMUM:
            return self._empty_recording(take)
        self.transcript.add(Spoke(start, round(spoken, 1)))
        key = step.digits[0] if isinstance(step, Press) and step.digits[0] in take.finish else ""
        return self._recorded(take, start, spoken, key)

    def _empty_recording(self, take: _Take) -> Next | None:
        """Nothing was recorded: the action is not requested; the next verb runs."""
        self.recording_callback(take, "absent", self._draft(take.sid, take.started))
        self.transcript.add(Note(self.now, "empty recording: the action is not requested"))
        return None

    def _recorded(self, take: _Take, started: float, seconds: float, key: str) -> Next | None:
        """A recording was made: tell the hooks and callbacks, then post the action.

        `key` is what ended it: a key, "" for silence or maxLength, or "hangup" (the action
        is then posted for the record and the call ends).
        """
        recording = self.new_recording(started, seconds, "RecordVerb", take.sid)
        self.recording_callback(take, "completed", recording)
        params = {**recording.action_params(), "Digits": key}
        goto = Goto(take.action, take.method, params, "record action")
        if key == "hangup":
            self.status = "completed"
            self.notify(goto)
            raise End(EndReason.CALLER_HANGUP)
        return goto

    def _draft(self, sid: str, started: float) -> Recording:
        setup = self.setup
        return Recording(
            sid=sid,
            account_sid=setup.account_sid,
            call_sid=setup.parent_call_sid or setup.call_sid,
            url=recording_url(setup.account_sid, sid, setup.recording_base),
            duration=0,
            started=setup.date(started),
            source="RecordVerb",
        )

    def new_recording(
        self, started: float, seconds: float, source: str, sid: str | None = None
    ) -> Recording:
        """Make (and announce to the hooks) a finished recording of this leg."""
        draft = self._draft(sid or new_sid("RE"), started)
        recording = replace(draft, duration=round(seconds), source=source)
        self.hooks.recorded(self, recording)
        return recording

    def recording_callback(self, take: _Take, status: str, recording: Recording) -> None:
        """Send the Record verb's recordingStatusCallback for `status`, if it asked for it."""
        self.recording_status(take.callback, take.callback_method, take.events, status, recording)

    def recording_status(
        self,
        url: str | None,
        method: str,
        events: frozenset[str],
        status: str,
        recording: Recording,
    ) -> None:
        """Send a recording status callback for `status` to `url`, if it subscribed.

        `in-progress` goes at once; `completed` and `absent` after the next request (the
        action), as Twilio processes a recording before it reports it.
        """
        if url is None or status not in events:
            return
        params = recording.status_params(status)
        goto = Goto(url, method, params, "recording status callback", common=False)
        if status == "in-progress":
            self.deliver(goto)
        else:
            self.deliver_later(goto)

    def _stop_recording(self, finish: str, timeout: int) -> str:
        """End speech: by hangup, by the caller's next key, by `#`, or by silence."""
        after, at = self.inputs.next(self.now, self.now)
        if isinstance(after, HangUp) and at - self.now < timeout:
            self.inputs.take()
            self.pass_to(at)
            return "hangup"
        key = "#" if "#" in finish else finish[:1]
        if isinstance(after, Press) and after.digits[0] in finish and at - self.now < timeout:
            self.inputs.take()
            self.pass_to(at)
            key = after.digits[0]
        if key:
            self.transcript.add(Pressed(self.now, key))
            return key
        self.transcript.add(Silence(self.now, timeout, "silence ends the recording"))
        self.pass_to(self.now + timeout)
        return ""

    def _leave(self, verb: Element, document: str) -> Next | None:
        if self._allowed is None:
            self.transcript.add(Note(self.now, "<Leave> outside a queue does nothing"))
            return None
        raise LeaveQueue("leave")

    def _redirect(self, verb: Element, document: str) -> Next | None:
        target = twiml.text(verb)
        if not target:
            raise twiml.TwimlError("<Redirect> needs a URL")
        return Goto(twiml.resolve(target, document), twiml.method(verb), {}, "redirect")

    def _hangup(self, verb: Element, document: str) -> Next | None:
        raise End(EndReason.TWIML_HANGUP)

    def _reject(self, verb: Element, document: str) -> Next | None:
        reason = verb.get("reason", "rejected")
        if reason not in ("rejected", "busy"):
            raise twiml.TwimlError(f"<Reject reason={reason!r}> must be rejected or busy")
        raise End(EndReason.REJECTED, reason)


class _Take:
    """A Record verb's settings, and the sid its recording will have."""

    def __init__(self, verb: Element, document: str) -> None:
        self.action = twiml.url(verb, "action", document) or document
        self.method = twiml.method(verb)
        self.max_length = twiml.integer(verb, "maxLength", 3600, minimum=1)
        self.finish = verb.get("finishOnKey", "1234567890*#")
        self.callback = twiml.url(verb, "recordingStatusCallback", document)
        self.callback_method = twiml.method(verb, "recordingStatusCallbackMethod")
        self.events = parse_events(verb.get("recordingStatusCallbackEvent"))
        self.sid = new_sid("RE")
        self.started = 0.0


def _collect(digits: str, pressed: str, num_digits: int, finish: str) -> tuple[str, str, str]:
    """Add pressed keys to a Gather's digits: return (digits, finishing key, keys left over)."""
    for index, key in enumerate(pressed):
        if finish and key in finish:
            return digits, key, pressed[index + 1 :]
        digits += key
        if num_digits and len(digits) >= num_digits:
            return digits, "", pressed[index + 1 :]
    return digits, "", ""
