"""What each kind of leg does in its thread, from the first ring to the end.

- `inbound`: a simulated caller rings the helpline: ringing, then the line's voice URL.
- `outbound`: a call made through the REST API: ring the number; once answered, its TwiML.
- `dialled`: a `<Dial><Number>` child: ring; the first to answer wins; its whisper runs;
  then it stays in the bridge until someone hangs up (or a REST redirect takes it away).

Ringing (`ring`) follows the phone's behaviour (see `phones`); a ring that ends without an
answer gives the leg's final status (busy, no-answer, failed, canceled).
Every program ends the leg with `Leg.finish`, which sends the `completed` event.
"""

from __future__ import annotations

from helpline.sandbox.caller import Caller, Keypad
from helpline.sandbox.script import Press, Script
from helpline.sandbox.signals import End, Goto, LeaveQueue, Next, Redirected, Stopped
from helpline.sandbox.transcript import Connected, Disconnected, EndReason, Note

from .bridges import DialAttempt
from .legs import Leg
from .phones import Behaviour
from .switchboard import Switchboard

WHISPER_VERBS = frozenset({"Say", "Play", "Pause", "Gather", "Record", "Redirect", "Hangup"})


def inbound(exchange: Switchboard, leg: Leg) -> None:
    """A caller rings the helpline; the line's voice URL answers."""
    line = exchange.line
    leg.progress("initiated")
    leg.set_status("ringing", "ringing")
    run = exchange.run_for(leg)
    end = run.run(Goto(line.voice_url, line.voice_method, {}, "voice"))
    leg.finish(run.status, end.reason, end.detail)


def outbound(
    exchange: Switchboard,
    leg: Leg,
    start: Next,
    timeout: float,
    machine_detection: str | None,
    record: Goto | None,
) -> None:
    """A REST call: ring `leg.setup.to`; once answered, run `start` (or a later update)."""
    leg.progress("initiated")
    behaviour = ring(exchange, leg, timeout)
    if isinstance(behaviour, str):
        leg.finish(behaviour, EndReason.UNANSWERED, behaviour)
        return
    pick_up(exchange, leg, behaviour, machine_detection)
    leg.hang_up_after(behaviour.talk)
    if machine_detection == "DetectMessageEnd" and behaviour.kind == "voicemail":
        try:  # Twilio waits for the greeting's beep before it asks for TwiML
            leg.timeline.pass_to(leg.now() + behaviour.greeting)
        except (End, Redirected) as cut:
            reason = cut.reason if isinstance(cut, End) else EndReason.API
            leg.finish("completed", reason, "during the greeting")
            return
    run = exchange.run_for(leg)
    with exchange.lock:
        target = leg.pending_target or start
        leg.pending_target = None
        leg.doing = "running TwiML"
    end = run.run(target)
    if record is not None and leg.answered_at is not None:
        recording = run.new_recording(leg.answered_at, run.now - leg.answered_at, "OutboundAPI")
        leg.call_recording = recording
        if record.url:
            leg.deliver(
                Goto(
                    record.url,
                    record.method,
                    recording.status_params("completed"),
                    "recording status callback",
                    common=False,
                )
            )
    leg.finish(run.status, end.reason, end.detail)


def dialled(
    exchange: Switchboard,
    leg: Leg,
    attempt: DialAttempt,
    whisper: Goto | None,
    override: Behaviour | None,
    machine_detection: str | None,
) -> None:
    """A `<Dial><Number>` child: ring, win or lose, whisper, then the bridge."""
    leg.progress("initiated")
    behaviour = ring(exchange, leg, attempt.timeout, override)
    if isinstance(behaviour, str):
        with exchange.lock:
            attempt.report(leg, behaviour)
        leg.finish(behaviour, EndReason.UNANSWERED, behaviour)
        return
    with exchange.lock:
        bridge = attempt.claim(leg)
        losers = attempt.losers() if bridge is not None else []
    for loser in losers:
        loser.send_hangup(EndReason.OTHER_PARTY, "another phone answered first", "canceled")
    if bridge is None:
        with exchange.lock:
            attempt.report(leg, "canceled")
        leg.finish("canceled", EndReason.OTHER_PARTY, "another phone answered first")
        return
    pick_up(exchange, leg, behaviour, machine_detection)
    if whisper is not None and not _whisper(exchange, leg, whisper):
        with exchange.lock:
            bridge.end(leg, "whisper", exchange.timebase.now())
        return
    with exchange.lock:
        if bridge.ended:  # the caller left during the whisper
            ended = True
        else:
            ended = False
            bridge.up(exchange.timebase.now())
            leg.bridge = bridge
            leg.doing = f"bridged with {attempt.parent.sid}"
    if ended:
        leg.finish("completed", EndReason.OTHER_PARTY, "the caller left during the whisper")
        return
    leg.hang_up_after(behaviour.talk)
    leg.transcript.add(Connected(leg.now(), attempt.parent.sid))
    try:
        with leg.timeline.guard(lambda: bridge.ended):
            leg.timeline.pass_to(leg.timeline.max_seconds + 1)
    except Stopped:
        leg.transcript.add(Disconnected(leg.now(), attempt.parent.sid, "the caller left"))
        leg.finish("completed", EndReason.OTHER_PARTY)
    except End as end:
        with exchange.lock:
            bridge.end(leg, "hung up", exchange.timebase.now())
        leg.finish(end.status or "completed", end.reason, end.detail)
    except Redirected as moved:
        with exchange.lock:
            bridge.end(leg, "redirected", exchange.timebase.now())
            leg.doing = "running TwiML"
        leg.transcript.add(Disconnected(leg.now(), attempt.parent.sid, "redirected"))
        run = exchange.run_for(leg)
        after = run.run(moved.target)
        leg.finish(run.status, after.reason, after.detail)


def _whisper(exchange: Switchboard, leg: Leg, whisper: Goto) -> bool:
    """Run the whisper document on the answering leg; True if it ended without hanging up."""
    with exchange.lock:
        leg.doing = "whisper"
    run = exchange.run_for(leg)
    try:
        with run.restricted(WHISPER_VERBS, "a whisper"):
            run.follow(whisper)
    except End as stop:
        run.finish(stop)
        leg.finish(run.status, stop.reason, stop.detail)
        return False
    except LeaveQueue:
        failure = run.fail("the whisper document holds a verb it may not")
        run.finish(failure)
        leg.finish("completed", failure.reason, failure.detail)
        return False
    except Redirected as moved:  # redirected before the bridge: it leaves the Dial
        after = run.run(moved.target)
        leg.finish(run.status, after.reason, after.detail)
        return False
    return True


def ring(
    exchange: Switchboard, leg: Leg, timeout: float, override: Behaviour | None = None
) -> Behaviour | str:
    """Ring the leg's number for up to `timeout` seconds.

    Return the behaviour of whoever picked up, or the final status when nobody did.
    """
    result = _ring(exchange, leg, timeout, override)
    if isinstance(result, str):
        exchange.release_phone(leg)
    return result


def _ring(
    exchange: Switchboard, leg: Leg, timeout: float, override: Behaviour | None
) -> Behaviour | str:
    phone, behaviour = exchange.ring_phone(leg, override)
    leg.set_status("ringing", "ringing")
    start = leg.now()
    try:
        if behaviour is None:  # the phone is in another call
            leg.timeline.pass_to(start + (Behaviour("busy").quick_end or 0))
            return "busy"
        if (quick := behaviour.quick_end) is not None:
            leg.timeline.pass_to(start + min(quick, timeout))
            return behaviour.kind
        if behaviour.kind == "human" and phone is not None:
            with leg.timeline.guard(lambda: phone.decision is not None):
                try:
                    leg.timeline.pass_to(start + timeout)
                except Stopped:
                    if exchange.take_decision(phone) == "decline":
                        return "busy"
                    return behaviour
            return "no-answer"
        if behaviour.rings_out or behaviour.after >= timeout:
            leg.timeline.pass_to(start + timeout)
            return "no-answer"
        leg.timeline.pass_to(start + behaviour.after)
        return behaviour
    except (End, Redirected) as cut:
        status = cut.status if isinstance(cut, End) and cut.status else "canceled"
        leg.transcript.add(Note(leg.now(), f"the ringing stopped: {_reason(cut)}"))
        return status


def pick_up(
    exchange: Switchboard, leg: Leg, behaviour: Behaviour, machine_detection: str | None
) -> None:
    """Whoever answered is now on the line: their keys, AnsweredBy, their talk time."""
    machine = behaviour.kind == "voicemail"
    answered_by: str | None = None
    if machine_detection:
        detect_end = machine_detection == "DetectMessageEnd"
        answered_by = (
            ("machine_end_beep" if detect_end else "machine_start") if machine else "human"
        )
    inputs: Keypad | Caller
    if behaviour.kind == "human":
        inputs = Keypad(leg.now, leg.transcript.add, leg.wake)
    else:
        script = Script((Press(behaviour.keys),)) if behaviour.keys else Script()
        inputs = Caller(script, leg.setup.limits.patience, leg.transcript.add)
    with exchange.lock:
        leg.inputs = inputs
        leg.keypad = inputs if isinstance(inputs, Keypad) else None
    exchange.phone_answered(leg)
    leg.answer(answered_by)
    if machine:
        leg.transcript.add(Note(leg.now(), "a voicemail machine answered"))


def _reason(cut: End | Redirected) -> str:
    return str(cut.reason) if isinstance(cut, End) else "redirected"
