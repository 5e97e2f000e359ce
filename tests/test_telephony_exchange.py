"""The exchange: call legs that interact in real time (sped up), against TwiML rules.

Every test talks to the signature-checking app in tests/twilio_app.py; `refused == 0`
at the end of a test proves every webhook was signed right.
"""

from __future__ import annotations

import re
import threading

import pytest

from helpline.sandbox.emulator.deliveries import Faults
from helpline.sandbox.emulator.errors import Busy
from helpline.sandbox.emulator.exchange import Exchange, OutboundCall
from helpline.sandbox.emulator.legs import Callback, Leg
from helpline.sandbox.emulator.phones import Behaviour
from helpline.sandbox.signals import Goto, Inline
from helpline.sandbox.transcript import Connected, EndReason, Heard, Note, Pressed, Silence
from tests.twilio_app import BASE, CALLER, AppUnderTest, Page, emulator, line

STAFF = "+905550001111"
OTHER = "+905550002222"
SID = re.compile(r"^CA[0-9a-f]{32}$")


def finish(exchange: Exchange, app: AppUnderTest, timeout: float = 20.0) -> None:
    """Wait for every call to end and every callback to arrive; nothing was refused."""
    assert exchange.settle(timeout), [leg.transcript.render() for leg in exchange.live_legs()]
    assert app.refused == 0


def children(exchange: Exchange, parent: Leg) -> list[Leg]:
    return [leg for leg in exchange.list_legs() if leg.setup.parent_call_sid == parent.sid]


# <Dial><Number>


WHISPER_PAGES: dict[str, Page] = {
    "/voice": '<Say>Connecting you</Say><Dial action="/after" timeout="20">'
    '<Number url="/whisper">' + STAFF + "</Number></Dial>",
    "/whisper": '<Gather numDigits="1" action="/accept" timeout="5">'
    "<Say>A caller in Arabic. Press 1 to accept.</Say></Gather><Hangup/>",
    "/accept": lambda p: "" if p.get("Digits") == "1" else "<Hangup/>",
    "/after": "<Say>Goodbye</Say>",
}


def test_exchange_dial_number_bridges_after_the_whisper_is_accepted() -> None:
    """The callee's leg runs the whisper; a key accepts; both talk until the callee hangs up."""
    with emulator(WHISPER_PAGES) as (exchange, app):
        exchange.set_phone(STAFF, Behaviour("answer", after=3, talk=20, keys="1"))
        caller = exchange.place_call(CALLER, script="")
        finish(exchange, app)
        (child,) = children(exchange, caller)
        whisper = app.seen("/whisper")[0]
        assert whisper.get("CallSid") == child.sid
        assert whisper.get("ParentCallSid") == caller.sid
        assert whisper.get("Direction") == "outbound-dial"
        assert whisper.get("From") == CALLER  # the caller's number passes through by default
        assert app.seen("/accept")[0].get("Digits") == "1"
        after = app.seen("/after")[0]
        assert after.get("CallSid") == caller.sid
        assert after.get("DialCallStatus") == "completed"
        assert after.get("DialBridged") == "true"
        assert after.get("DialCallSid") == child.sid
        assert 15 <= int(after.get("DialCallDuration") or 0) <= 25  # 20 s, give or take jitter
        assert (caller.status, child.status) == ("completed", "completed")
        assert any(isinstance(e, Connected) for e in caller.transcript.events)
        assert [h.text for h in caller.transcript.heard()][-1] == "Goodbye"


def test_exchange_whisper_refused_does_not_bridge() -> None:
    """A callee who presses another key hangs up in the whisper: completed, not bridged."""
    with emulator(WHISPER_PAGES) as (exchange, app):
        exchange.set_phone(STAFF, Behaviour("answer", after=2, keys="2"))
        caller = exchange.place_call(CALLER, script="")
        finish(exchange, app)
        after = app.seen("/after")[0]
        assert after.get("DialCallStatus") == "completed"
        assert after.get("DialBridged") == "false"
        (child,) = children(exchange, caller)
        assert child.transcript.end_reason is EndReason.TWIML_HANGUP


@pytest.mark.parametrize(
    ("behaviours", "status"),
    [
        (["no-answer"], "no-answer"),
        (["busy"], "busy"),
        (["failed"], "failed"),
        (["busy", "no-answer"], "no-answer"),
        (["busy", "answer"], "completed"),
    ],
)
def test_exchange_dial_status_follows_the_phones(behaviours: list[str], status: str) -> None:
    """Numbers ring at once; nobody answering gives busy, no-answer or failed."""
    numbers = [STAFF, OTHER][: len(behaviours)]
    nouns = "".join(f"<Number>{number}</Number>" for number in numbers)
    pages = {"/voice": f'<Dial action="/after" timeout="10">{nouns}</Dial>', "/after": ""}
    with emulator(pages) as (exchange, app):
        for number, kind in zip(numbers, behaviours, strict=True):
            exchange.set_phone(number, Behaviour.parse({"kind": kind, "after": 6, "talk": 5}))
        caller = exchange.place_call(CALLER, script="")
        finish(exchange, app)
        after = app.seen("/after")[0]
        assert after.get("DialCallStatus") == status
        assert after.get("DialBridged") == ("true" if status == "completed" else "false")
        statuses = sorted(leg.status for leg in children(exchange, caller))
        expected = sorted(
            {"busy": "busy", "failed": "failed", "no-answer": "no-answer", "answer": "completed"}[k]
            for k in behaviours
        )
        assert statuses == expected


def test_exchange_first_to_answer_wins_and_the_other_is_canceled() -> None:
    with emulator({"/voice": f"<Dial><Number>{STAFF}</Number><Number>{OTHER}</Number></Dial>"}) as (
        exchange,
        app,
    ):
        exchange.set_phone(STAFF, Behaviour("answer", after=2, talk=3))
        # Far apart, so a busy machine cannot swap who answers first (50x: 0.56 s real).
        exchange.set_phone(OTHER, Behaviour("answer", after=30, talk=3))
        caller = exchange.place_call(CALLER, script="")
        finish(exchange, app)
        by_number = {leg.setup.to: leg for leg in children(exchange, caller)}
        assert by_number[STAFF].status == "completed"
        assert by_number[OTHER].status == "canceled"


def test_exchange_caller_hanging_up_ends_the_callee_and_posts_the_action() -> None:
    """The caller leaves mid-bridge: the callee's leg ends; the action is posted, completed."""
    pages = {"/voice": f'<Dial action="/after"><Number>{STAFF}</Number></Dial>', "/after": ""}
    with emulator(pages) as (exchange, app):
        exchange.set_phone(STAFF, Behaviour("answer", after=1, talk=None))
        caller = exchange.place_call(CALLER)  # a person at a keypad
        assert app.wait_for(lambda: any(isinstance(e, Connected) for e in caller.transcript.events))
        exchange.hang_up(caller.sid)
        finish(exchange, app)
        (child,) = children(exchange, caller)
        assert child.transcript.end_reason is EndReason.OTHER_PARTY
        after = app.seen("/after")[0]
        assert (after.get("CallStatus"), after.get("DialCallStatus")) == ("completed", "completed")


def test_exchange_rest_redirect_of_the_callee_ends_the_dial_without_duration() -> None:
    """Redirecting the callee (a transfer) lets the caller go on; no DialCallDuration."""
    pages = {
        "/voice": f'<Dial action="/after"><Number>{STAFF}</Number></Dial>',
        "/after": "<Say>The counsellor moved on</Say>",
        "/elsewhere": "<Say>You are elsewhere</Say>",
    }
    with emulator(pages) as (exchange, app):
        exchange.set_phone(STAFF, Behaviour("answer", after=1, talk=None))
        caller = exchange.place_call(CALLER, script="")
        assert app.wait_for(lambda: any(isinstance(e, Connected) for e in caller.transcript.events))
        (child,) = children(exchange, caller)
        exchange.redirect(child.sid, Goto(f"{BASE}/elsewhere", "POST"))
        finish(exchange, app)
        after = app.seen("/after")[0]
        assert after.get("DialCallStatus") == "completed"
        assert "DialCallDuration" not in after.params
        assert app.seen("/elsewhere")[0].get("CallSid") == child.sid


# <Dial><Conference>


def conference_pages(room: str = "room") -> dict[str, Page]:
    def voice(params: dict[str, str]) -> str:
        if params["From"] == CALLER:
            return (
                '<Dial action="/after"><Conference startConferenceOnEnter="false" '
                f'waitUrl="/wait" statusCallback="/conference" '
                f'statusCallbackEvent="start end join leave">{room}</Conference></Dial>'
            )
        return (
            f'<Dial><Conference endConferenceOnExit="true" beep="true">{room}</Conference></Dial>'
        )

    return {
        "/voice": voice,
        "/wait": '<Say>Please wait for the counsellor</Say><Pause length="3"/>',
        "/after": "<Say>The session has ended</Say>",
        "/conference": "",
    }


def test_exchange_conference_waits_starts_and_ends_with_the_moderator() -> None:
    """Waiting replays the waitUrl; the moderator starts the room and ending it ends the Dial."""
    with emulator(conference_pages()) as (exchange, app):
        caller = exchange.place_call(CALLER, script="")
        assert app.wait_for(lambda: len(app.seen("/wait")) >= 2)
        counsellor = exchange.place_call(STAFF, script="wait 30; hangup")
        finish(exchange, app)
        events = [
            (s.get("StatusCallbackEvent"), s.get("CallSid"), s.get("SequenceNumber"))
            for s in app.seen("/conference")
        ]
        assert [name for name, *_ in events] == [
            "participant-join",
            "participant-join",
            "conference-start",
            "participant-leave",
            "participant-leave",
            "conference-end",
        ]
        assert [int(seq or 0) for *_, seq in events] == list(range(1, 7))
        assert events[0][1] == caller.sid
        assert events[1][1] == counsellor.sid
        end = app.seen("/conference")[-1]
        assert end.get("ReasonConferenceEnded") == "participant-with-end-conference-on-exit-left"
        assert end.get("CallSidEndingConference") == counsellor.sid
        leave = app.seen("/conference")[4]
        assert leave.get("ReasonParticipantLeft") == "moderator_ended_conference"
        after = app.seen("/after")[0]
        assert (after.get("DialCallStatus"), after.get("CallSid")) == ("answered", caller.sid)
        assert "DialCallSid" not in after.params
        waits = app.seen("/wait")
        assert {w.get("ConferenceSid") for w in waits} == {end.get("ConferenceSid")}
        assert caller.transcript.heard()[-1].text == "The session has ended"
        assert any(h.kind == "beep" for h in caller.transcript.heard())


def test_exchange_conference_who_hears_whom() -> None:
    """Muted speakers are heard by nobody; a coach only by the participant coached."""
    sids: dict[str, str] = {}

    def voice(params: dict[str, str]) -> str:
        role = {CALLER: "caller", STAFF: "counsellor", OTHER: "supervisor"}.get(params["From"])
        if role == "supervisor":
            coach = sids["counsellor"]
            return f'<Dial><Conference coach="{coach}" beep="false">room</Conference></Dial>'
        muted = "true" if role == "caller" else "false"
        return f'<Dial><Conference muted="{muted}" beep="false">room</Conference></Dial>'

    with emulator({"/voice": voice}) as (exchange, app):
        caller = exchange.place_call(CALLER)
        counsellor = exchange.place_call(STAFF)
        sids["counsellor"] = counsellor.sid
        listener = exchange.place_call("+905550003333")
        assert app.wait_for(lambda: len(exchange.rooms) == 1)
        (room,) = exchange.rooms.values()
        assert app.wait_for(lambda: len(room.participants) == 3)
        supervisor = exchange.place_call(OTHER)
        assert app.wait_for(lambda: len(room.participants) == 4)
        with exchange.lock:
            hears = room.hears()
        assert hears[caller.sid] == {counsellor.sid, listener.sid}
        assert hears[counsellor.sid] == {listener.sid, supervisor.sid}
        assert hears[listener.sid] == {counsellor.sid}
        assert hears[supervisor.sid] == {counsellor.sid, listener.sid}
        for leg in (caller, counsellor, listener, supervisor):
            exchange.hang_up(leg.sid)
        finish(exchange, app)
        assert room.status == "completed"
        assert room.reason_ended == "last-participant-left"


# <Enqueue> and <Dial><Queue>


QUEUE_PAGES: dict[str, Page] = {
    "/voice": lambda p: (
        '<Enqueue action="/queue-after" waitUrl="/hold">support</Enqueue><Say>After</Say>'
        if p["From"] == CALLER
        else '<Dial action="/agent-after" timeout="30"><Queue url="/about">support</Queue></Dial>'
    ),
    "/hold": '<Say>All counsellors are busy</Say><Pause length="5"/>',
    "/about": "<Say>A counsellor will speak with you now</Say>",
    "/queue-after": lambda p: f"<Say>Queue result {p.get('QueueResult')}</Say>",
    "/agent-after": "",
    "/moved": "<Say>You were moved</Say>",
}


def test_exchange_dial_queue_takes_the_front_member_and_bridges() -> None:
    """The member hears the Queue url document, talks, then its Enqueue action says bridged."""
    with emulator(QUEUE_PAGES) as (exchange, app):
        member = exchange.place_call(CALLER, script="")
        assert app.wait_for(lambda: len(app.seen("/hold")) >= 2)
        holds = app.seen("/hold")
        assert [h.get("QueuePosition") for h in holds[:2]] == ["1", "1"]
        assert int(holds[1].get("QueueTime") or 0) > 0
        agent = exchange.place_call(STAFF, script="wait 15; hangup")
        finish(exchange, app)
        about = app.seen("/about")[0]
        assert (about.get("CallSid"), about.get("DequeingCallSid")) == (member.sid, agent.sid)
        result = app.seen("/queue-after")[0]
        assert result.get("QueueResult") == "bridged"
        assert result.get("CallSid") == member.sid
        agent_after = app.seen("/agent-after")[0]
        assert agent_after.get("DialCallSid") == member.sid
        assert agent_after.get("DialCallStatus") == "completed"
        assert member.transcript.heard()[-1].text == "Queue result bridged"


def test_exchange_dial_queue_of_an_empty_queue_waits_then_gives_up() -> None:
    pages = {
        "/voice": '<Dial action="/after" timeout="5"><Queue>support</Queue></Dial>',
        "/after": "",
    }
    with emulator(pages) as (exchange, app):
        exchange.queue_for("support")
        exchange.place_call(STAFF, script="")
        finish(exchange, app)
        assert app.seen("/after")[0].get("DialCallStatus") == "no-answer"


def test_exchange_dial_queue_that_does_not_exist_fails() -> None:
    pages = {"/voice": '<Dial action="/after"><Queue>nowhere</Queue></Dial>', "/after": ""}
    with emulator(pages) as (exchange, app):
        exchange.place_call(STAFF, script="")
        finish(exchange, app)
        assert app.seen("/after")[0].get("DialCallStatus") == "failed"


def test_exchange_rest_dequeue_redirects_and_reports_redirected() -> None:
    """A REST dequeue posts the Enqueue action (redirected) and runs the given URL."""
    with emulator(QUEUE_PAGES) as (exchange, app):
        member = exchange.place_call(CALLER, script="")
        assert app.wait_for(lambda: len(app.seen("/hold")) >= 1)
        queue = exchange.queue_named("support")
        assert queue is not None
        exchange.dequeue(queue, "Front", Goto(f"{BASE}/moved", "POST"))
        finish(exchange, app)
        result = app.seen("/queue-after")[0]
        assert result.get("QueueResult") == "redirected"
        assert result.get("QueueSid") == queue.sid
        assert app.seen("/moved")[0].get("CallSid") == member.sid
        assert [h.text for h in member.transcript.heard()][-1] == "You were moved"
        assert queue.members == []


def test_exchange_caller_hanging_up_in_the_queue_reports_hangup() -> None:
    with emulator(QUEUE_PAGES) as (exchange, app):
        exchange.place_call(CALLER, script="wait 12; hangup")
        finish(exchange, app)
        result = app.seen("/queue-after")[0]
        assert (result.get("QueueResult"), result.get("CallStatus")) == ("hangup", "completed")


# REST-like operations on live calls


def test_exchange_redirect_cuts_the_prompt_and_fetches_new_twiml() -> None:
    pages = {"/voice": '<Say>A notice</Say><Pause length="600"/>', "/new": "<Hangup/>"}
    with emulator(pages) as (exchange, app):
        caller = exchange.place_call(CALLER)

        def pauses() -> list[Silence]:
            return [e for e in caller.transcript.events if isinstance(e, Silence)]

        assert app.wait_for(lambda: bool(pauses()))
        exchange.redirect(caller.sid, Goto(f"{BASE}/new", "POST"))
        finish(exchange, app)
        assert app.seen("/new")[0].get("CallSid") == caller.sid
        assert caller.transcript.end_reason is EndReason.TWIML_HANGUP
        assert pauses()[0].seconds < 600  # cut where the redirect came


def test_exchange_rest_end_completes_the_call() -> None:
    with emulator({"/voice": '<Pause length="600"/>'}) as (exchange, app):
        caller = exchange.place_call(CALLER)
        assert app.wait_for(lambda: caller.status == "in-progress")
        exchange.end_call(caller.sid, "completed")
        finish(exchange, app)
        assert caller.status == "completed"
        assert caller.transcript.end_reason is EndReason.API
        assert app.seen("/status")[-1].get("CallStatus") == "completed"


def test_exchange_outbound_call_reports_progress_in_order() -> None:
    """A REST call's status callbacks: the subscribed events, SequenceNumber from 0, in order."""
    pages = {"/outbound": "<Say>This is the helpline calling you back</Say>", "/events": ""}
    with emulator(pages) as (exchange, app):
        exchange.set_phone(STAFF, Behaviour("answer", after=2, talk=30))
        events = frozenset({"initiated", "ringing", "answered", "completed"})
        leg = exchange.create_call(
            OutboundCall(
                to=STAFF,
                from_="+903120000183",
                start=Goto(f"{BASE}/outbound", "POST"),
                callback=Callback(f"{BASE}/events", "POST", events),
            )
        )
        finish(exchange, app)
        seen = app.seen("/events")
        assert [s.get("CallStatus") for s in seen] == [
            "initiated",
            "ringing",
            "in-progress",
            "completed",
        ]
        assert [s.get("SequenceNumber") for s in seen] == ["0", "1", "2", "3"]
        assert {s.get("CallbackSource") for s in seen} == {"call-progress-events"}
        assert seen[-1].get("CallDuration") is not None
        assert "CallDuration" not in seen[1].params
        assert app.seen("/outbound")[0].get("Direction") == "outbound-api"
        assert leg.status == "completed"


@pytest.mark.parametrize(
    ("kind", "detection", "answered_by"),
    [
        ("voicemail", "Enable", "machine_start"),
        ("voicemail", "DetectMessageEnd", "machine_end_beep"),
        ("answer", "Enable", "human"),
    ],
)
def test_exchange_machine_detection_reports_answered_by(
    kind: str, detection: str, answered_by: str
) -> None:
    with emulator({"/outbound": "<Say>Hello</Say>"}) as (exchange, app):
        exchange.set_phone(STAFF, Behaviour.parse({"kind": kind, "after": 1, "talk": 20}))
        leg = exchange.create_call(
            OutboundCall(
                to=STAFF,
                from_="+903120000183",
                start=Goto(f"{BASE}/outbound", "POST"),
                machine_detection=detection,
            )
        )
        finish(exchange, app)
        assert app.seen("/outbound")[0].get("AnsweredBy") == answered_by
        assert leg.answered_by == answered_by


def test_exchange_unanswered_outbound_call_never_fetches_twiml() -> None:
    with emulator({"/outbound": "<Say>Hello</Say>"}) as (exchange, app):
        exchange.set_phone(STAFF, Behaviour("busy"))
        leg = exchange.create_call(
            OutboundCall(
                to=STAFF, from_="+903120000183", start=Inline("<Response><Say>x</Say></Response>")
            )
        )
        finish(exchange, app)
        assert leg.status == "busy"
        assert app.seen("/outbound") == []


# Recordings


def test_exchange_record_sends_the_recording_status_callback() -> None:
    pages = {
        "/voice": '<Record action="/recorded" recordingStatusCallback="/recording" '
        'recordingStatusCallbackEvent="in-progress completed"/>',
        "/recorded": "<Hangup/>",
        "/recording": "",
    }
    with emulator(pages) as (exchange, app):
        caller = exchange.place_call(CALLER, script="record 12")
        finish(exchange, app)
        action = app.seen("/recorded")[0]
        assert action.get("RecordingDuration") == "12"
        callbacks = app.seen("/recording")
        assert [c.get("RecordingStatus") for c in callbacks] == ["in-progress", "completed"]
        assert {c.get("RecordingSid") for c in callbacks} == {action.get("RecordingSid")}
        assert callbacks[-1].get("CallSid") == caller.sid
        assert callbacks[-1].get("RecordingSource") == "RecordVerb"
        assert "From" not in callbacks[-1].params  # not a call request
        assert action.get("RecordingSid") in exchange.recordings
        order = [(s.path, s.get("RecordingStatus")) for s in app.seen() if s.path != "/status"]
        assert order.index(("/recorded", None)) < order.index(("/recording", "completed"))


def test_exchange_dial_record_puts_the_recording_in_the_action() -> None:
    dial = f'<Dial action="/after" record="record-from-answer"><Number>{STAFF}</Number></Dial>'
    pages = {"/voice": dial, "/after": ""}
    with emulator(pages) as (exchange, app):
        exchange.set_phone(STAFF, Behaviour("answer", after=1, talk=10))
        exchange.place_call(CALLER, script="")
        finish(exchange, app)
        after = app.seen("/after")[0]
        assert after.get("RecordingSid") in exchange.recordings
        assert 6 <= int(after.get("RecordingDuration") or 0) <= 14


# People at keypads


def test_exchange_keys_from_a_person_reach_the_gather() -> None:
    pages: dict[str, Page] = {
        "/voice": '<Gather numDigits="1" action="/menu" timeout="60"><Say>Press</Say></Gather>',
        "/menu": lambda p: f"<Say>You pressed {p.get('Digits')}</Say>",
    }
    with emulator(pages) as (exchange, app):
        caller = exchange.place_call(CALLER)
        assert app.wait_for(lambda: any(isinstance(e, Heard) for e in caller.transcript.events))
        exchange.press(caller.sid, "7")
        finish(exchange, app)
        assert app.seen("/menu")[0].get("Digits") == "7"
        assert any(isinstance(e, Pressed) for e in caller.transcript.events)


def test_exchange_keys_typed_while_nothing_listens_are_lost() -> None:
    pages = {
        "/voice": '<Pause length="20"/><Gather numDigits="1" action="/menu" timeout="2"/>',
        "/menu": "",
    }
    with emulator(pages) as (exchange, app):
        caller = exchange.place_call(CALLER)
        assert app.wait_for(lambda: caller.status == "in-progress")
        exchange.press(caller.sid, "5")
        finish(exchange, app)
        assert app.seen("/menu") == []
        notes = [e.text for e in caller.transcript.events if isinstance(e, Note)]
        assert any("lost" in note for note in notes)


def test_exchange_fallback_serves_a_failing_voice_url() -> None:
    """A voice URL answering 500 gets the fallback URL, with ErrorCode and ErrorUrl."""
    pages = {"/fallback": "<Say>Sorry</Say>"}
    fallback_line = line()
    from dataclasses import replace

    fallback_line = replace(
        fallback_line, voice_url=f"{BASE}/missing", fallback_url=f"{BASE}/fallback"
    )
    with emulator(pages, line=fallback_line) as (exchange, app):
        caller = exchange.place_call(CALLER, script="")
        finish(exchange, app)
        fallback = app.seen("/fallback")[0]
        assert (fallback.get("ErrorCode"), fallback.get("ErrorUrl")) == ("11200", f"{BASE}/missing")
        assert caller.transcript.heard()[0].text == "Sorry"


# Many calls at once, faults, shutdown


def test_exchange_concurrent_calls_stay_apart() -> None:
    """Twelve callers at once, each through a two-level menu: every call gets its own keys."""
    pages = {
        "/voice": '<Gather numDigits="1" action="/one"><Say>First</Say></Gather>',
        "/one": '<Gather numDigits="1" action="/two"><Say>Second</Say></Gather>',
        "/two": "<Say>Thanks</Say><Hangup/>",
    }
    with emulator(pages) as (exchange, app):
        legs: dict[str, tuple[str, str]] = {}
        lock = threading.Lock()

        def call(index: int) -> None:
            first, second = str(index % 10), str((index * 3) % 10)
            leg = exchange.place_call(
                f"+90532000{index:04d}", script=f"press {first}; press {second}"
            )
            with lock:
                legs[leg.sid] = (first, second)

        threads = [threading.Thread(target=call, args=(index,)) for index in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        finish(exchange, app, timeout=30)
        assert len(legs) == 12
        for sid, (first, second) in legs.items():
            assert [s.get("Digits") for s in app.seen("/one") if s.get("CallSid") == sid] == [first]
            assert [s.get("Digits") for s in app.seen("/two") if s.get("CallSid") == sid] == [
                second
            ]
            assert exchange.get_leg(sid).transcript.end_reason is EndReason.TWIML_HANGUP
        completed = {
            s.get("CallSid") for s in app.seen("/status") if s.get("CallStatus") == "completed"
        }
        assert completed == set(legs)


def test_exchange_fault_injection_duplicates_and_reorders_callbacks() -> None:
    """Duplicates repeat the idempotency token; reordering swaps SequenceNumbers."""
    with emulator({"/voice": '<Say>Hi</Say><Pause length="5"/>'}, faults=Faults(duplicate=1.0)) as (
        exchange,
        app,
    ):
        exchange.place_call(CALLER, script="")
        finish(exchange, app)
        seen = app.seen("/status")
        assert len(seen) == 8
        by_token: dict[str, list[str | None]] = {}
        for item in seen:
            by_token.setdefault(item.token, []).append(item.get("SequenceNumber"))
        assert sorted(len(v) for v in by_token.values()) == [2, 2, 2, 2]
        assert all(len(set(v)) == 1 for v in by_token.values())

        exchange.set_faults(Faults(reorder=True))
        exchange.place_call(OTHER, script="")
        finish(exchange, app)
        sequence = [int(s.get("SequenceNumber") or 0) for s in app.seen("/status")[8:]]
        assert sorted(sequence) == [0, 1, 2, 3]
        assert sequence != [0, 1, 2, 3]


def test_exchange_close_ends_every_call_and_joins_the_threads() -> None:
    with emulator({"/voice": '<Pause length="3000"/>'}) as (exchange, app):
        legs = [exchange.place_call(CALLER) for _ in range(3)]
        assert app.wait_for(lambda: all(leg.status == "in-progress" for leg in legs))
        exchange.close()
        assert all(leg.ended.is_set() for leg in legs)
        assert all(leg.thread is not None and not leg.thread.is_alive() for leg in legs)
        assert {leg.transcript.end_reason for leg in legs} == {EndReason.SHUTDOWN}
        assert SID.match(legs[0].sid)


def test_exchange_refuses_calls_beyond_its_bound() -> None:
    """At most max_live_legs at once: a new caller is refused, a Dial that needs one fails."""
    pages: dict[str, Page] = {
        "/voice": lambda p: (
            f'<Dial action="/after"><Number>{STAFF}</Number></Dial>'
            if p["From"] == CALLER
            else '<Pause length="600"/>'
        ),
        "/after": '<Pause length="600"/>',
    }
    with emulator(pages, max_live_legs=2) as (exchange, app):
        waiting = exchange.place_call(OTHER)
        caller = exchange.place_call(CALLER)
        with pytest.raises(Busy):
            exchange.place_call("+905550007777")
        assert app.wait_for(lambda: bool(app.seen("/after")))
        assert app.seen("/after")[0].get("DialCallStatus") == "failed"
        for leg in (waiting, caller):
            exchange.hang_up(leg.sid)
        finish(exchange, app)


def test_exchange_full_conference_fails_the_dial() -> None:
    """maxParticipants (from the first participant) turns the next one away: failed."""
    pages: dict[str, Page] = {
        "/voice": '<Dial action="/after"><Conference maxParticipants="2">room</Conference></Dial>',
        "/after": "",
    }
    with emulator(pages) as (exchange, app):
        first, second = exchange.place_call(CALLER), exchange.place_call(STAFF)
        assert app.wait_for(lambda: sum(len(r.participants) for r in exchange.rooms.values()) == 2)
        third = exchange.place_call(OTHER, script="")
        assert app.wait_for(lambda: bool(app.seen("/after")))
        after = app.seen("/after")[0]
        assert (after.get("CallSid"), after.get("DialCallStatus")) == (third.sid, "failed")
        for leg in (first, second):
            exchange.hang_up(leg.sid)
        finish(exchange, app)
