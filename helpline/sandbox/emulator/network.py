"""What `<Dial>` and `<Enqueue>` reach in the exchange: phones, conference rooms, queues.

Rules (TWILIO.md §1, §2):
- `<Dial>` Numbers (and Clients and SIP addresses, rung like phones) ring at once; the
  first to answer wins and the others are canceled; the winner runs the noun's whisper
  `url`, then the two are bridged. The action gets DialCallStatus (`completed` once
  answered; else busy, no-answer, failed, or their combination as in `dial.settle`),
  DialCallSid, DialCallDuration, DialBridged and, with `record`, the recording.
  Assumption: a whisper that hangs up gives `completed` with DialBridged `false`.
- Either side may end the bridge. The callee hanging up lets the caller go on after the
  Dial. The caller hanging up ends the callee, and the action is still posted (CallStatus
  completed; `canceled` while it rang) and its answer ignored. A REST redirect of the
  callee ends the caller's Dial without DialCallDuration; a REST redirect of the caller
  ends the callee and skips the action (assumption).
- `timeLimit` ends the bridge; `hangupOnStar` lets the caller leave it with `*`; other
  keys a person types while bridged go to the other party.
- `<Dial><Conference>`: see `rooms`. The action gets DialCallStatus `answered`
  [UNCONFIRMED] and DialBridged, no DialCallSid or DialCallDuration; a full room `failed`.
  The waitUrl (and a REST holdUrl) may hold Play, Say, Pause and Redirect.
- `<Dial><Queue>`: takes the front member, waiting up to `timeout` for one; a queue that
  does not exist gives `failed`. The member runs the noun's `url` document (Play, Say,
  Pause, Redirect), then both talk.
- `<Enqueue>` waits to its waitUrl until: taken by a Dial (QueueResult `bridged`, posted
  when the bridge ends), taken through REST (`redirected`: the action is posted and its
  answer ignored, then the REST URL runs; assumption), `<Leave>` (`leave`), a bad wait
  document (`error`), a full queue (`queue-full`) or a hangup (`hangup`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from xml.etree.ElementTree import Element

from helpline.sandbox import sounds
from helpline.sandbox.dial import DialVerb, Target, nouns
from helpline.sandbox.enqueue import (
    HANGUPS,
    EnqueueVerb,
    queue_round,
    scripted_hangup,
    wait_round,
)
from helpline.sandbox.progress import parse_events
from helpline.sandbox.recording import parse_events as recording_events
from helpline.sandbox.run import CallRun
from helpline.sandbox.script import DialOutcome, HangUp, Press
from helpline.sandbox.signals import End, Goto, LeaveQueue, Next, Redirected, Stopped
from helpline.sandbox.transcript import (
    Connected,
    Dialed,
    Disconnected,
    EndReason,
    Enqueued,
    Note,
    Pressed,
)
from helpline.telephony import twiml

from .errors import ExchangeError
from .legs import Bridge, Callback, Leg
from .phones import Behaviour
from .queues import CallQueue, DialTaken, Member, RestTaken
from .rooms import (
    CONFERENCE_EVENTS,
    DEFAULT_CONFERENCE_EVENTS,
    DEFAULT_MAX_PARTICIPANTS,
    HUNG_UP,
    UPDATED_VIA_API,
    ConferenceCallback,
    Participant,
    Room,
)
from .switchboard import DialTarget, Switchboard

ROOM_WAIT_VERBS = frozenset({"Play", "Say", "Pause", "Redirect"})
QUEUE_URL_VERBS = ROOM_WAIT_VERBS
PHONE_NOUNS = frozenset({"number", "client", "sip"})
BEEPS = ("true", "false", "onEnter", "onExit")
HOLD = Goto(sounds.HOLD_MUSIC, "GET", {}, "hold music")


def hold_line(
    run: CallRun, stop: Callable[[], bool], until: float, hangup_on_star: bool = False
) -> str:
    """Stay on the line until `stop()` ("stopped"), `until` ("until") or `*` ("star").

    The caller's hangup (scripted, or a person's) ends the call. Keys a person types go to
    the other party, except `*` with hangupOnStar; a script's `*` counts only then.
    """
    start = run.now
    with run.timeline.guard(stop):
        try:
            while True:
                step, at = run.inputs.next(start, start)
                if isinstance(step, HangUp) and at <= until:
                    run.pass_to(at)
                    raise run.caller_hangs_up()
                star = isinstance(step, Press) and hangup_on_star and "*" in step.digits
                if isinstance(step, Press) and at <= until and (run.inputs.interactive or star):
                    run.pass_to(at)
                    run.inputs.take()
                    run.transcript.add(Pressed(at, step.digits))
                    if star:
                        return "star"
                    start = at
                    continue
                if run.pass_to(until, early=True):
                    return "until"
        except Stopped:
            return "stopped"


def dial_params(
    status: str,
    bridged: bool,
    call_sid: str | None = None,
    duration: float | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    params = {"DialCallStatus": status, "DialBridged": "true" if bridged else "false"}
    if call_sid is not None:
        params["DialCallSid"] = call_sid
    if duration is not None:
        params["DialCallDuration"] = str(round(duration))
    return params | (extra or {})


@dataclass(frozen=True)
class ConferenceNoun:
    """What a `<Conference>` noun asks for (TWILIO.md §2)."""

    name: str
    muted: bool
    beep: str
    start_on_enter: bool
    end_on_exit: bool
    wait: Goto
    max_participants: int
    coach: str | None
    label: str | None
    callback: ConferenceCallback | None

    @classmethod
    def read(cls, noun: Element, document: str) -> ConferenceNoun:
        name = twiml.text(noun)
        if not name or len(name) > 128:
            raise twiml.TwimlError("<Conference> needs a name of at most 128 characters")
        beep = noun.get("beep", "true")
        if beep not in BEEPS:
            raise twiml.TwimlError(f"<Conference beep={beep!r}> must be one of {', '.join(BEEPS)}")
        raw_wait = noun.get("waitUrl")
        if raw_wait is None:
            wait_url = sounds.HOLD_MUSIC
        else:
            wait_url = twiml.resolve(raw_wait, document) if raw_wait.strip() else ""
        callback = None
        url = twiml.url(noun, "statusCallback", document)
        if url is not None:
            raw_events = noun.get("statusCallbackEvent")
            events = frozenset((raw_events or "").split()) & CONFERENCE_EVENTS
            callback = ConferenceCallback(
                url,
                twiml.method(noun, "statusCallbackMethod"),
                events or DEFAULT_CONFERENCE_EVENTS,
            )
        maximum = twiml.integer(noun, "maxParticipants", DEFAULT_MAX_PARTICIPANTS, minimum=2)
        return cls(
            name=name,
            muted=twiml.boolean(noun, "muted", False),
            beep=beep,
            start_on_enter=twiml.boolean(noun, "startConferenceOnEnter", True),
            end_on_exit=twiml.boolean(noun, "endConferenceOnExit", False),
            wait=Goto(wait_url, twiml.method(noun, "waitMethod"), {}, "conference wait"),
            max_participants=min(maximum, DEFAULT_MAX_PARTICIPANTS),
            coach=noun.get("coach") or None,
            label=noun.get("participantLabel") or None,
            callback=callback,
        )


class ExchangeNetwork:
    """The exchange's side of `<Dial>` and `<Enqueue>`; runs in the dialling leg's thread."""

    def __init__(self, exchange: Switchboard) -> None:
        self.exchange = exchange

    def _locked(self, check: Callable[[], bool]) -> Callable[[], bool]:
        def read() -> bool:
            with self.exchange.lock:
                return check()

        return read

    def dial(self, run: CallRun, verb: Element, document: str) -> Next | None:
        spec = DialVerb.read(verb, document)
        found = nouns(verb)
        kinds = {target.kind for target, _ in found}
        leg = self.exchange.get_leg(run.setup.call_sid)
        if kinds & {"conference", "queue"}:
            if len(found) != 1:
                raise twiml.TwimlError("<Conference> or <Queue> must be alone in its <Dial>")
            target, noun = found[0]
            if target.kind == "conference":
                return self._conference(run, leg, spec, noun, document)
            return self._queue(run, leg, spec, noun, document)
        return self._numbers(run, leg, spec, found, verb, document)

    def _action(self, spec: DialVerb, params: dict[str, str]) -> Goto | None:
        if spec.action is None:
            return None
        return Goto(spec.action, spec.method, params, "dial action")

    def _after_hangup(self, run: CallRun, spec: DialVerb, params: dict[str, str]) -> None:
        """The caller hung up inside the Dial: post the action for the record, answer ignored."""
        goto = self._action(spec, params)
        if goto is not None:
            run.status = "completed"
            run.notify(goto)

    # Numbers

    def _numbers(
        self,
        run: CallRun,
        leg: Leg,
        spec: DialVerb,
        nouns: list[tuple[Target, Element]],
        verb: Element,
        document: str,
    ) -> Next | None:
        exchange = self.exchange
        override = None
        scripted = run.inputs.peek()
        if isinstance(scripted, DialOutcome):
            run.inputs.take()
            override = Behaviour.from_outcome(scripted)
        targets: list[DialTarget] = []
        for target, noun in nouns:
            if target.kind not in PHONE_NOUNS:
                run.transcript.add(Note(run.now, f"<{noun.tag}> is not emulated: it fails"))
                continue
            whisper_url = twiml.url(noun, "url", document) if noun is not verb else None
            whisper = None
            if whisper_url is not None:
                whisper = Goto(whisper_url, twiml.method(noun), {}, "whisper")
            callback = None
            callback_url = twiml.url(noun, "statusCallback", document) if noun is not verb else None
            if callback_url is not None:
                events = parse_events([noun.get("statusCallbackEvent", "")])
                callback = Callback(
                    callback_url, twiml.method(noun, "statusCallbackMethod"), events
                )
            targets.append((target.label, whisper, callback, noun.get("machineDetection")))
        labels = tuple(label for label, *_ in targets)
        start = run.now
        if not targets:
            run.transcript.add(Dialed(run.now, labels, "failed", 0.0))
            return self._action(spec, dial_params("failed", False))
        run.transcript.add(Note(start, f"rings {', '.join(labels)}"))
        try:
            attempt = exchange.start_dial(
                leg, targets, spec.timeout, spec.caller_id or run.setup.from_, override
            )
        except ExchangeError as error:
            run.transcript.add(Note(run.now, f"the Dial fails: {error}"))
            run.transcript.add(Dialed(run.now, labels, "failed", 0.0))
            return self._action(spec, dial_params("failed", False))
        bridge: Bridge | None = None
        try:
            outcome = hold_line(run, self._locked(lambda: attempt.decided), start + spec.timeout)
            with exchange.lock:
                won = attempt.won
                if won is None:
                    attempt.over = True
                    losers = attempt.losers()
                    status = "no-answer" if outcome == "until" else attempt.combined()
            if won is None:
                for loser in losers:
                    loser.send_hangup(EndReason.UNANSWERED, "nobody answered in time", "no-answer")
                run.transcript.add(Dialed(run.now, labels, status, run.now - start))
                return self._action(spec, dial_params(status, False))
            winner, bridge = won
            if not self._bridge_up(run, leg, bridge, winner.sid):
                run.transcript.add(Dialed(run.now, labels, "not accepted", run.now - start))
                return self._action(spec, dial_params("completed", False, winner.sid, 0))
            run.transcript.add(Connected(run.now, winner.setup.to))
            why = self._talk(run, leg, bridge, spec)
            redirected = why == "redirected"
        except End:
            self._caller_left(attempt.children, bridge, leg)
            seconds = bridge.seconds() if bridge is not None and bridge.up_at is not None else None
            status = "completed" if seconds is not None else "canceled"
            self._after_hangup(run, spec, dial_params(status, seconds is not None, None, seconds))
            raise
        except Redirected:
            self._caller_left(attempt.children, bridge, leg)
            raise
        finally:
            with exchange.lock:
                leg.bridge = None
                leg.doing = "running TwiML"
        seconds = bridge.seconds()
        run.transcript.add(Disconnected(run.now, winner.setup.to, why))
        run.transcript.add(Dialed(run.now, labels, "answered", seconds))
        extra: dict[str, str] = {}
        if spec.recorded:
            recording = run.new_recording(run.now - seconds, seconds, "DialVerb")
            extra = recording.action_params()
            run.recording_status(
                twiml.url(verb, "recordingStatusCallback", document),
                twiml.method(verb, "recordingStatusCallbackMethod"),
                recording_events(verb.get("recordingStatusCallbackEvent")),
                "completed",
                recording,
            )
        duration = None if redirected else seconds
        return self._action(spec, dial_params("completed", True, winner.sid, duration, extra))

    def _bridge_up(self, run: CallRun, leg: Leg, bridge: Bridge, other: str) -> bool:
        """Wait until the dialled party's bridge is up or refused; once up, the caller's leg
        is on it (bridged with `other`, a call SID)."""
        hold_line(run, self._locked(lambda: bridge.state != "connecting"), math.inf)
        with self.exchange.lock:
            came_up = bridge.state == "up"
            if came_up:
                leg.bridge = bridge
                leg.doing = f"bridged with {other}"
        return came_up

    def _talk(self, run: CallRun, leg: Leg, bridge: Bridge, spec: DialVerb) -> str:
        """Hold the bridged caller until a side ends it or the time limit; why it ended."""
        outcome = hold_line(
            run, self._locked(lambda: bridge.ended), run.now + spec.time_limit, spec.hangup_on_star
        )
        with self.exchange.lock:
            bridge.end(leg, outcome, self.exchange.now())
            return bridge.why

    def _caller_left(self, children: list[Leg], bridge: Bridge | None, leg: Leg) -> None:
        """The dialling leg is gone: end its bridge and every child still going."""
        with self.exchange.lock:
            if bridge is not None:
                bridge.end(leg, "the caller left", self.exchange.now())
            going = [child for child in children if not child.ended.is_set()]
        for child in going:
            answered = child.answered_at is not None
            child.send_hangup(
                EndReason.OTHER_PARTY, "the caller left", None if answered else "canceled"
            )

    # Conferences

    def _conference(
        self, run: CallRun, leg: Leg, spec: DialVerb, noun: Element, document: str
    ) -> Next | None:
        conf = ConferenceNoun.read(noun, document)

        def participant_of(room: Room) -> Participant:
            if room.callback is None and conf.callback is not None:
                room.callback = conf.callback
            if not room.participants:
                room.max_participants = conf.max_participants
            return Participant(
                leg=leg,
                label=conf.label,
                muted=conf.muted,
                start_on_enter=conf.start_on_enter,
                end_on_exit=conf.end_on_exit,
                beep=conf.beep,
                wait=conf.wait,
                joined=leg.date(),
                coaching=conf.coach is not None,
                call_sid_to_coach=conf.coach,
            )

        joined = self.exchange.join_room(leg, conf.name, participant_of)
        if joined is None:
            run.transcript.add(Note(run.now, f"conference {conf.name!r} is full"))
            return self._action(spec, dial_params("failed", False))
        room, participant = joined
        run.transcript.add(Connected(run.now, f"conference {conf.name}", "joined"))
        try:
            self._in_room(run, room, participant, run.now + spec.time_limit, spec.hangup_on_star)
        except End:
            self.exchange.leave_room(room, participant, HUNG_UP)
            self._after_hangup(run, spec, dial_params("answered", True))
            raise
        except Redirected:
            self.exchange.leave_room(room, participant, UPDATED_VIA_API)
            raise
        finally:
            run.hang_at = None
            with self.exchange.lock:
                leg.doing = "running TwiML"
        self.exchange.leave_room(room, participant, HUNG_UP)
        with self.exchange.lock:
            why = participant.left or HUNG_UP
        run.transcript.add(Disconnected(run.now, f"conference {conf.name}", why))
        return self._action(spec, dial_params("answered", True))

    def _in_room(
        self, run: CallRun, room: Room, participant: Participant, until: float, star: bool
    ) -> str:
        """Wait, hold or talk in the room until the participant's time there is over."""
        wait, hold_music = participant.wait, HOLD
        current_wait, current_hold = wait, hold_music
        while True:
            with self.exchange.lock:
                left, started = participant.left, room.started
                hold, hold_url = participant.hold, participant.hold_url
            if left is not None:
                return "left"
            if not hold and started:
                run.hang_at = None
                outcome = hold_line(
                    run,
                    self._locked(lambda: participant.left is not None or participant.hold),
                    until,
                    star,
                )
                if outcome == "stopped":
                    continue
                return outcome
            if hold and hold_url is not None and hold_url != hold_music:
                hold_music = current_hold = hold_url
            music, current = (hold_music, current_hold) if hold else (wait, current_wait)

            def changed(was_hold: bool = hold) -> bool:
                return (
                    participant.left is not None
                    or participant.hold != was_hold
                    or (not was_hold and room.started)
                )

            hang_at, after_round = scripted_hangup(run)
            run.hang_at = hang_at
            try:
                with run.timeline.guard(self._locked(changed)):
                    following = wait_round(
                        run,
                        music,
                        current,
                        {"ConferenceSid": room.sid, "FriendlyName": room.name},
                        ROOM_WAIT_VERBS,
                        "a holdUrl" if hold else "a conference waitUrl",
                    )
            except Stopped:
                continue
            except LeaveQueue:
                following = replace(music, url="")  # a bad document: silence from now on
            except End as end:
                if end.reason is not EndReason.ERROR:
                    raise
                following = replace(music, url="")
            if hold:
                current_hold = following if following.url else replace(hold_music, url="")
                if not following.url:
                    hold_music = current_hold
            else:
                current_wait = following
                if not following.url:
                    wait = following
            if after_round:
                raise run.caller_hangs_up()

    # Queues: the dequeuing side

    def _queue(
        self, run: CallRun, leg: Leg, spec: DialVerb, noun: Element, document: str
    ) -> Next | None:
        exchange = self.exchange
        name = twiml.text(noun)
        raw_url = twiml.url(noun, "url", document)
        url = Goto(raw_url, twiml.method(noun), {}, "queue url") if raw_url else None
        queue = exchange.queue_named(name)
        start = run.now
        label = f"queue:{name}"
        if queue is None:
            run.transcript.add(Note(start, f"there is no queue named {name!r}"))
            run.transcript.add(Dialed(run.now, (label,), "failed", 0.0))
            return self._action(spec, dial_params("failed", False))
        member: Member | None = None
        bridge: Bridge | None = None
        with exchange.lock:
            queue.dequeuers.append(leg)
        try:
            while True:
                taken = exchange.take_front(queue, leg, url)
                if taken is not None:
                    member, bridge = taken
                    break
                waiting = hold_line(
                    run, self._locked(lambda: queue.front() is not None), start + spec.timeout
                )
                if waiting == "until":
                    run.transcript.add(Dialed(run.now, (label,), "no-answer", run.now - start))
                    return self._action(spec, dial_params("no-answer", False))
            if not self._bridge_up(run, leg, bridge, member.leg.sid):
                run.transcript.add(Dialed(run.now, (label,), "no-answer", run.now - start))
                return self._action(spec, dial_params("no-answer", False, member.leg.sid))
            run.transcript.add(Connected(run.now, member.leg.sid))
            why = self._talk(run, leg, bridge, spec)
        except End:
            seconds = None
            with exchange.lock:
                if bridge is not None:
                    bridge.end(leg, "hung up", exchange.now())
                    seconds = bridge.seconds() if bridge.up_at is not None else None
            sid = member.leg.sid if member is not None else None
            status = "completed" if seconds is not None else "canceled"
            self._after_hangup(run, spec, dial_params(status, seconds is not None, sid, seconds))
            raise
        except Redirected:
            with exchange.lock:
                if bridge is not None:
                    bridge.end(leg, "redirected", exchange.now())
            raise
        finally:
            with exchange.lock:
                if leg in queue.dequeuers:
                    queue.dequeuers.remove(leg)
                leg.bridge = None
                leg.doing = "running TwiML"
        seconds = bridge.seconds()
        run.transcript.add(Disconnected(run.now, member.leg.sid, why))
        run.transcript.add(Dialed(run.now, (label,), "answered", seconds))
        extra = {"QueueSid": queue.sid}
        return self._action(spec, dial_params("completed", True, member.leg.sid, seconds, extra))

    # Queues: the waiting side

    def enqueue(self, run: CallRun, verb: Element, document: str) -> Next | None:
        exchange = self.exchange
        spec = EnqueueVerb.read(verb, document)
        leg = exchange.get_leg(run.setup.call_sid)
        try:
            queue = exchange.queue_for(spec.name)
        except ExchangeError as error:
            run.transcript.add(Note(run.now, f"no queue: {error}"))
            return spec.result({"QueueResult": "system-error"})
        with exchange.lock:
            member = queue.add(leg, exchange.now(), leg.date())
            if member is not None:
                leg.doing = f"in queue {spec.name}"
        if member is None:
            run.transcript.add(Note(run.now, f"queue {spec.name!r} is full"))
            return spec.result({"QueueResult": "queue-full"})
        run.transcript.add(Enqueued(run.now, spec.name, spec.wait.url))
        result = "hangup"
        try:
            taken = self._wait_in_queue(run, queue, member, spec)
            if isinstance(taken, str):
                result = taken
            elif isinstance(taken, RestTaken):
                result = "redirected"
            else:
                result = "bridged"
                self._answer_dequeue(run, leg, queue, member, taken)
        except End as end:
            goto = spec.result({"QueueResult": result, **self._queue_params(queue, member)})
            if goto is not None and end.reason in HANGUPS:
                run.status = "completed"
                run.notify(goto)
            raise
        except Redirected:
            self._notify_redirected(run, spec, queue, member)
            raise
        finally:
            with exchange.lock:
                queue.remove(member, exchange.now())
                leg.doing = "running TwiML"
        if isinstance(taken, RestTaken):
            self._notify_redirected(run, spec, queue, member)
            raise Redirected(taken.target)
        waited = str(round(exchange.now() - member.entered))
        return spec.result({"QueueResult": result, "QueueSid": queue.sid, "QueueTime": waited})

    def _queue_params(self, queue: CallQueue, member: Member) -> dict[str, str]:
        with self.exchange.lock:
            return queue.params(member, self.exchange.now())

    def _notify_redirected(
        self, run: CallRun, spec: EnqueueVerb, queue: CallQueue, member: Member
    ) -> None:
        waited = str(round(self.exchange.now() - member.entered))
        params = {"QueueResult": "redirected", "QueueSid": queue.sid, "QueueTime": waited}
        goto = spec.result(params)
        if goto is not None:
            run.notify(goto)

    def _wait_in_queue(
        self, run: CallRun, queue: CallQueue, member: Member, spec: EnqueueVerb
    ) -> str | DialTaken | RestTaken:
        """Play rounds of the wait document until taken; or the QueueResult of leaving."""
        run.listen()
        current = spec.wait
        try:
            with run.timeline.guard(self._locked(lambda: member.taken is not None)):
                while True:
                    following = queue_round(
                        run, spec.wait, current, self._queue_params(queue, member)
                    )
                    if isinstance(following, str):
                        return following
                    current = following
        except Stopped:
            pass
        finally:
            run.hang_at = None
        with self.exchange.lock:
            return member.taken or "error"  # taken: the guard said so

    def _answer_dequeue(
        self, run: CallRun, leg: Leg, queue: CallQueue, member: Member, taken: DialTaken
    ) -> None:
        """Taken by `<Dial><Queue>`: run its url document, then talk until either leaves."""
        exchange = self.exchange
        bridge = taken.bridge
        with exchange.lock:
            queue.remove(member, exchange.now())
        if taken.url is not None:
            params = {
                "QueueSid": queue.sid,
                "QueueTime": str(round(exchange.now() - member.entered)),
                "DequeingCallSid": bridge.caller.sid,
            }
            try:
                with run.restricted(QUEUE_URL_VERBS, "a <Queue> url document"):
                    run.follow(replace(taken.url, params=params))
            except LeaveQueue:
                pass  # the note is in the transcript; the bridge goes ahead
            except End as end:
                if end.reason is not EndReason.ERROR:
                    raise
        with exchange.lock:
            if not bridge.ended:
                bridge.up(exchange.now())
                leg.bridge = bridge
                leg.doing = f"bridged with {bridge.caller.sid}"
        run.transcript.add(Connected(run.now, bridge.caller.sid))
        try:
            outcome = hold_line(
                run, self._locked(lambda: bridge.ended), run.timeline.max_seconds + 1
            )
        finally:
            with exchange.lock:
                bridge.end(leg, "hung up", exchange.now())
                leg.bridge = None
        run.transcript.add(Disconnected(run.now, bridge.caller.sid, bridge.why or outcome))
