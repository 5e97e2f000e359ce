"""The exchange: every call leg, conference room, queue and simulated phone, in real time.

Rules:
- One re-entrant lock (`lock`) guards every registry and the mutable state of every leg,
  room, queue, bridge and phone. Nothing sleeps or sends a request while holding it;
  waking a leg (its clock has its own lock) and submitting a delivery are fine.
- Each leg runs in its own daemon thread (`programs`), executing TwiML through `CallRun`
  with `ExchangeNetwork`; `close` ends every leg and joins the threads.
- Bounded: at most `max_live_legs` legs at once (`Busy` beyond), and the newest
  MAX_HISTORY ended legs, rooms and recordings are kept for the REST API.
- Time runs at `speed` times real time on one `Timebase`; a sleeping leg looks again
  every `poll` real seconds even if nothing woke it.
- With `measure_audio`, `<Play>` audio is fetched once per URL (a plain GET, as Twilio
  fetches media) and plays for its real length; otherwise for 5 s (`sounds.PLAY_SECONDS`),
  which keeps tests' timings independent of the audio files.
- Never logs phone numbers: call sids only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import format_datetime
from typing import TypeVar

from helpline.sandbox.audio import AudioLengths
from helpline.sandbox.caller import Caller, Keypad
from helpline.sandbox.clock import MAX_REAL_WAIT, Timebase
from helpline.sandbox.ids import TWILIO_API, new_sid
from helpline.sandbox.progress import TERMINAL_STATUSES
from helpline.sandbox.recording import Recording
from helpline.sandbox.run import CallRun, Hooks, LegSetup, Limits
from helpline.sandbox.script import Script, ScriptSource
from helpline.sandbox.signals import Goto, Next, RedirectNow
from helpline.sandbox.transcript import EndReason, Failed, Heard, origin_of
from helpline.sandbox.transport import Transport, TransportError
from helpline.sandbox.webhook import new_token

from . import programs
from .bridges import DialAttempt
from .deliveries import Deliveries, Delivery, Faults
from .errors import Busy, Conflict, ExchangeError, NotFound
from .legs import Bridge, Callback, Leg
from .network import ExchangeNetwork
from .phones import DEFAULT, Behaviour, Phone
from .queues import DEFAULT_MAX_SIZE, CallQueue, DialTaken, Member, RestTaken
from .rooms import HUNG_UP, UPDATED_VIA_API, Participant, Room, RoomEvent
from .switchboard import DialTarget, Line

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_LIVE_LEGS = 200
MAX_HISTORY = 1000
MAX_PHONES = 500
EXCHANGE_LIMITS = Limits(max_steps=2000, max_seconds=4 * 3600.0, patience=3, max_queue_rounds=1000)


@dataclass(frozen=True)
class OutboundCall:
    """A call to make through the REST API (Calls.json)."""

    to: str
    from_: str
    start: Next
    callback: Callback | None = None
    timeout: float = 60.0
    machine_detection: str | None = None
    record: Goto | None = None  # the recording status callback (url "" for none) when Record=true
    fallback: Goto | None = None


class _LegHooks(Hooks):
    def __init__(self, exchange: Exchange, leg: Leg) -> None:
        self.exchange = exchange
        self.leg = leg

    def answered(self, run: CallRun) -> None:
        self.leg.answer()

    def recorded(self, run: CallRun, recording: Recording) -> None:
        self.exchange.keep_recording(recording)

    def deliver(self, run: CallRun, goto: Goto) -> None:
        params = {**run.params(), **goto.params} if goto.common else dict(goto.params)
        self.leg.deliver(goto, params)


class Exchange:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        transport: Transport,
        line: Line,
        speed: float = 1.0,
        limits: Limits = EXCHANGE_LIMITS,
        recording_base: str = TWILIO_API,
        default_behaviour: Behaviour = DEFAULT,
        faults: Faults | None = None,
        seed: int | None = None,
        max_live_legs: int = MAX_LIVE_LEGS,
        poll: float = MAX_REAL_WAIT,
        measure_audio: bool = False,
    ) -> None:
        if not account_sid.startswith("AC"):
            raise ValueError("account_sid must start with AC")
        if not auth_token:
            raise ValueError("auth_token is required")
        if max_live_legs < 1:
            raise ValueError("max_live_legs must be positive")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.transport = transport
        self.line = line
        self.limits = limits
        self.recording_base = recording_base.rstrip("/")
        self.default_behaviour = default_behaviour
        self.max_live_legs = max_live_legs
        self.lock = threading.RLock()
        self.timebase = Timebase(speed, poll=poll)
        self.deliveries = Deliveries(transport, auth_token, faults, seed)
        self.audio = AudioLengths(self._fetch_audio) if measure_audio else None
        self.network = ExchangeNetwork(self)
        self.legs: dict[str, Leg] = {}
        self.rooms: dict[str, Room] = {}
        self.queues: dict[str, CallQueue] = {}
        self.phones: dict[str, Phone] = {}
        self.recordings: dict[str, Recording] = {}
        self._closed = False

    # Reading

    def now(self) -> float:
        return self.timebase.now()

    def _get(self, table: Mapping[str, T], key: str, missing: str) -> T:
        """`table[key]`, read under the lock; NotFound(`missing`) when it holds no such key."""
        with self.lock:
            found = table.get(key)
        if found is None:
            raise NotFound(missing)
        return found

    def get_leg(self, sid: str) -> Leg:
        return self._get(self.legs, sid, f"no call {sid}")

    def list_legs(self, status: str | None = None) -> list[Leg]:
        with self.lock:
            return [leg for leg in self.legs.values() if status is None or leg.status == status]

    def _fetch_audio(self, url: str) -> bytes | None:
        try:
            response = self.transport.request("GET", url, {}, {})
        except TransportError:
            return None
        return response.content if response.ok else None

    def live_legs(self) -> list[Leg]:
        with self.lock:
            return [leg for leg in self.legs.values() if not leg.ended.is_set()]

    # Legs

    def new_leg(
        self,
        *,
        from_: str,
        to: str,
        direction: str,
        parent: Leg | None = None,
        callback: Callback | None = None,
        fallback: Goto | None = None,
    ) -> Leg:
        """Register a leg (not started); refuse when closed or too many are live."""
        with self.lock:
            if self._closed:
                raise Conflict("the exchange is shutting down")
            if len(self.live_legs()) >= self.max_live_legs:
                raise Busy(f"more than {self.max_live_legs} calls at once")
            setup = LegSetup(
                transport=self.transport,
                account_sid=self.account_sid,
                auth_token=self.auth_token,
                call_sid=new_sid("CA"),
                from_=from_,
                to=to,
                started_at=self.timebase.epoch,
                direction=direction,
                parent_call_sid=parent.sid if parent is not None else None,
                fallback=fallback,
                recording_base=self.recording_base,
                limits=self.limits,
                audio=self.audio,
            )
            leg = Leg(
                setup,
                lock=self.lock,
                timebase=self.timebase,
                deliveries=self.deliveries,
                callback=callback,
                origin=origin_of(self.line.voice_url),
            )
            self.legs[leg.sid] = leg
            self._trim(self.legs, lambda old: old.ended.is_set())
            return leg

    def start(self, leg: Leg, program: Callable[[], None]) -> None:
        """Run `program` for `leg` in its own thread; whatever happens, the leg ends."""
        thread = threading.Thread(
            target=self._run_leg, args=(leg, program), name=f"leg-{leg.sid[:12]}", daemon=True
        )
        leg.thread = thread
        thread.start()

    def _run_leg(self, leg: Leg, program: Callable[[], None]) -> None:
        try:
            program()
        except Exception:  # an emulator bug must not leave a call hanging: log, end the leg
            log.exception("call leg %s failed inside the emulator", leg.sid)
            leg.transcript.add(Failed(leg.now(), "the emulator failed; the call ends"))
            leg.finish("failed", EndReason.ERROR, "emulator error")
        finally:
            if not leg.ended.is_set():
                leg.finish("completed", EndReason.END_OF_DOCUMENT)
            self._clean_up(leg)

    def _clean_up(self, leg: Leg) -> None:
        """Whatever the leg was in, it is gone now: phones, queues, rooms, bridges."""
        with self.lock:
            self.release_phone(leg)
            for queue in self.queues.values():
                member = queue.find(leg.sid)
                if member is not None:
                    queue.remove(member, self.now())
                if leg in queue.dequeuers:
                    queue.dequeuers.remove(leg)
            events: list[tuple[Room, RoomEvent]] = []
            for room in self.rooms.values():
                room.pending.pop(leg.sid, None)
                participant = room.participants.get(leg.sid)
                if participant is not None:
                    left = room.leave(participant, HUNG_UP, leg.date())
                    events += [(room, event) for event in left]
            bridge = leg.bridge
            if bridge is not None:
                bridge.end(leg, "hung up", self.now())
        self._report(events)

    def run_for(self, leg: Leg) -> CallRun:
        """A CallRun for the leg's next TwiML, in the leg's current state."""
        with self.lock:
            status, answered_at = leg.status, leg.answered_at
            inputs = leg.inputs
        if inputs is None:
            inputs = leg.inputs = Caller(Script(), self.limits.patience, leg.transcript.add)
        return CallRun(
            leg.setup,
            timeline=leg.timeline,
            inputs=inputs,
            network=self.network,
            hooks=_LegHooks(self, leg),
            transcript=leg.transcript,
            status="ringing" if status == "queued" else status,
            answered_at=answered_at,
        )

    # Callers

    def place_call(
        self, from_: str, to: str | None = None, script: Script | ScriptSource | None = None
    ) -> Leg:
        """A simulated caller rings the helpline; with no script, a person types the keys."""
        parsed = None if script is None else Script.parse(script)
        line = self.line
        callback = None
        if line.status_callback:
            callback = Callback(line.status_callback, "POST", line.status_events)
        fallback = Goto(line.fallback_url, "POST", {}, "fallback") if line.fallback_url else None
        leg = self.new_leg(
            from_=from_,
            to=to or line.number,
            direction="inbound",
            callback=callback,
            fallback=fallback,
        )
        if parsed is None:
            leg.keypad = Keypad(leg.now, leg.transcript.add, leg.wake)
            leg.inputs = leg.keypad
        else:
            leg.inputs = Caller(parsed, self.limits.patience, leg.transcript.add)
        self.start(leg, lambda: programs.inbound(self, leg))
        return leg

    def press(self, sid: str, digits: str) -> None:
        """A person types keys on a call they are on (a caller or a human phone)."""
        leg = self.get_leg(sid)
        with self.lock:
            keypad = leg.keypad
        if leg.ended.is_set():
            raise Conflict(f"call {sid} has ended")
        if keypad is None:
            raise Conflict(f"call {sid} follows a script; nobody types on it")
        try:
            keypad.press(digits)
        except ValueError as error:
            raise ExchangeError(str(error)) from None

    def hang_up(self, sid: str) -> None:
        """The person on this leg hangs up."""
        leg = self.get_leg(sid)
        if leg.ended.is_set():
            raise Conflict(f"call {sid} has ended")
        leg.send_hangup(EndReason.CALLER_HANGUP, "hung up")

    # REST calls

    def create_call(
        self, call: OutboundCall, before_start: Callable[[Leg], None] | None = None
    ) -> Leg:
        """Make a call through the REST API; `before_start` sees the leg before it rings."""
        leg = self.new_leg(
            from_=call.from_,
            to=call.to,
            direction="outbound-api",
            callback=call.callback,
            fallback=call.fallback,
        )
        if before_start is not None:
            before_start(leg)
        self.start(
            leg,
            lambda: programs.outbound(
                self, leg, call.start, call.timeout, call.machine_detection, call.record
            ),
        )
        return leg

    def redirect(self, sid: str, target: Next) -> Leg:
        """Send a live call to other TwiML (REST Url/Twiml); before the answer, for later."""
        leg = self.get_leg(sid)
        with self.lock:
            if leg.ended.is_set() or leg.status in TERMINAL_STATUSES:
                raise Conflict("Call is not in-progress. Cannot redirect.")
            if leg.answered_at is None and leg.setup.direction == "outbound-api":
                leg.pending_target = target
                return leg
        leg.send(RedirectNow(target))
        return leg

    def end_call(self, sid: str, status: str) -> Leg:
        """REST Status=completed|canceled: canceled only stops a call not yet answered."""
        leg = self.get_leg(sid)
        with self.lock:
            answered = leg.answered_at is not None
            if leg.ended.is_set():
                return leg
        if status == "canceled" and answered:
            return leg
        final = "completed" if answered else "canceled"
        leg.send_hangup(EndReason.API, f"Status={status}", final)
        return leg

    # Dialling

    def start_dial(
        self,
        parent: Leg,
        targets: list[DialTarget],
        timeout: float,
        caller_id: str,
        override: Behaviour | None,
    ) -> DialAttempt:
        """Ring every target at once for `parent`'s `<Dial>`: (number, whisper, callback, amd)."""
        attempt = DialAttempt(parent, timeout)
        started: list[tuple[Leg, Goto | None, str | None]] = []
        for number, whisper, callback, amd in targets:
            child = self.new_leg(
                from_=caller_id,
                to=number,
                direction="outbound-dial",
                parent=parent,
                callback=callback,
            )
            with self.lock:
                attempt.children.append(child)
            started.append((child, whisper, amd))
        for child, whisper, amd in started:
            self.start(
                child,
                lambda child=child, whisper=whisper, amd=amd: programs.dialled(  # type: ignore[misc]
                    self, child, attempt, whisper, override, amd
                ),
            )
        return attempt

    # Phones

    def set_phone(self, number: str, behaviour: Behaviour) -> Phone:
        """Register a phone, or give a registered one a new behaviour."""
        with self.lock:
            phone = self.phones.get(number)
            if phone is None:
                if len(self.phones) >= MAX_PHONES:
                    raise Busy(f"more than {MAX_PHONES} phones")
                phone = self.phones[number] = Phone(number, behaviour)
            else:
                phone.behaviour = behaviour
            return phone

    def get_phone(self, number: str) -> Phone:
        return self._get(self.phones, number, "no phone registered with that number")

    def ring_phone(
        self, leg: Leg, override: Behaviour | None
    ) -> tuple[Phone | None, Behaviour | None]:
        """Start ringing the leg's number: (its phone, how it behaves); behaviour None = busy."""
        with self.lock:
            phone = self.phones.get(leg.setup.to)
            leg.doing = "ringing"
            if phone is None:
                return None, override or self.default_behaviour
            if phone.state != "idle":
                return phone, None
            phone.state = "ringing"
            phone.call_sid = leg.sid
            phone.decision = None
            leg.phone_number = phone.number
            phone.history = [*phone.history[-19:], leg.sid]
            return phone, override or phone.behaviour

    def take_decision(self, phone: Phone) -> str | None:
        with self.lock:
            decision, phone.decision = phone.decision, None
            return decision

    def phone_answered(self, leg: Leg) -> None:
        with self.lock:
            phone = self.phones.get(leg.phone_number or "")
            if phone is not None and phone.call_sid == leg.sid:
                phone.state = "in-call"

    def release_phone(self, leg: Leg) -> None:
        with self.lock:
            phone = self.phones.get(leg.phone_number or "")
            if phone is not None and phone.call_sid == leg.sid:
                phone.state, phone.call_sid, phone.decision = "idle", None, None

    def phone_act(self, number: str, action: str, digits: str = "") -> Phone:
        """A person at a registered phone: answer, decline, hangup, or type digits."""
        phone = self.get_phone(number)
        with self.lock:
            state, sid = phone.state, phone.call_sid
            leg = self.legs.get(sid or "")
            if leg is None or state == "idle":
                raise Conflict("the phone is not in a call")
            if action in ("answer", "decline"):
                if state != "ringing":
                    raise Conflict("the phone is not ringing")
                if phone.behaviour.kind != "human":
                    raise Conflict("this phone answers by itself; give it the human behaviour")
                phone.decision = "answer" if action == "answer" else "decline"
                leg.wake()
                return phone
        if action == "hangup":
            if state == "ringing":
                with self.lock:
                    phone.decision = "decline"
                leg.wake()
            else:
                leg.send_hangup(EndReason.CALLER_HANGUP, "hung up at the phone")
            return phone
        if action == "digits":
            if state != "in-call":
                raise Conflict("the phone is not in a call")
            self.press(leg.sid, digits)
            return phone
        raise ExchangeError(f"unknown phone action {action!r}")

    # Conferences

    def join_room(
        self, leg: Leg, name: str, participant_of: Callable[[Room], Participant]
    ) -> tuple[Room, Participant] | None:
        """Put `leg` in the room called `name` (a new one if none is open); None when full."""
        with self.lock:
            room = self._open_room(name)
            if len(room.participants) >= room.max_participants:
                return None
            participant = participant_of(room)
            events = room.join(participant, leg.date())
            leg.doing = f"in conference {name}"
        self._report([(room, event) for event in events])
        self._beep(room, participant, "onEnter")
        return room, participant

    def _open_room(self, name: str) -> Room:
        for room in reversed(self.rooms.values()):
            if room.name == name and room.status != "completed":
                return room
        room = Room(name, self.account_sid, self.timebase.date(self.now()))
        self.rooms[room.sid] = room
        self._trim(self.rooms, lambda old: old.status == "completed")
        return room

    def leave_room(self, room: Room, participant: Participant, reason: str) -> None:
        with self.lock:
            events = room.leave(participant, reason, participant.leg.date())
        if events:
            self._beep(room, participant, "onExit")
        self._report([(room, event) for event in events])

    def end_room(
        self, room: Room, why: str = "conference-ended-via-api", by: Leg | None = None
    ) -> None:
        with self.lock:
            events = room.end(why, by, self.timebase.date(self.now()))
        self._report([(room, event) for event in events])

    def get_room(self, sid: str) -> Room:
        return self._get(self.rooms, sid, f"no conference {sid}")

    def update_participant(
        self, room: Room, participant: Participant, changes: Mapping[str, object]
    ) -> None:
        """Apply REST changes (muted, hold, hold_url, coaching, call_sid_to_coach,
        end_on_exit); report mute, hold and modify events."""
        events: list[RoomEvent] = []
        with self.lock:
            if participant.left is not None:
                raise NotFound("the participant has left")
            when = self.timebase.date(self.now())
            if "muted" in changes and changes["muted"] != participant.muted:
                participant.muted = bool(changes["muted"])
                name = "participant-mute" if participant.muted else "participant-unmute"
                events.append(RoomEvent(name, participant.leg, participant))
            if "hold_url" in changes:
                participant.hold_url = changes["hold_url"]  # type: ignore[assignment]
            if "hold" in changes and changes["hold"] != participant.hold:
                participant.hold = bool(changes["hold"])
                name = "participant-hold" if participant.hold else "participant-unhold"
                events.append(RoomEvent(name, participant.leg, participant))
            modified = False
            for key in ("coaching", "call_sid_to_coach", "end_on_exit"):
                if key in changes and changes[key] != getattr(participant, key):
                    setattr(participant, key, changes[key])
                    modified = True
            if modified:
                events.append(RoomEvent("participant-modify", participant.leg, participant))
            participant.updated = when
            room.updated = when
            participant.leg.wake()
        self._report([(room, event) for event in events])

    def add_participant(
        self, room: Room, call: OutboundCall, label: str | None, options: dict[str, bool]
    ) -> Leg:
        """Dial a number into a room through the API (`call.start` joins it)."""
        with self.lock:
            if room.status == "completed":
                raise NotFound(f"conference {room.sid} has ended")
            if label is not None and label in room.labels():
                raise Conflict(f"a participant labelled {label!r} is in the conference")

        def register(leg: Leg) -> None:
            with self.lock:
                room.pending[leg.sid] = (leg, label, options)

        return self.create_call(call, register)

    def kick(self, room: Room, participant: Participant) -> None:
        """REST DELETE: the participant leaves; its call goes on after its `<Dial>`."""
        self.leave_room(room, participant, UPDATED_VIA_API)

    def _beep(self, room: Room, participant: Participant, when: str) -> None:
        if participant.beep not in ("true", when):
            return
        with self.lock:
            listeners = [p.leg for p in room.participants.values() if room.started and not p.hold]
        for leg in listeners:
            leg.transcript.add(Heard(leg.now(), "beep"))

    def _report(self, events: list[tuple[Room, RoomEvent]]) -> None:
        """Send conference status callbacks for the events their room subscribed to."""
        for room, event in events:
            with self.lock:
                callback = room.callback
                if callback is None or not room.subscribed(event.name):
                    continue
                stamp = format_datetime(self.timebase.date(self.now()))
                params = room.event_params(event, stamp)
            goto = Goto(callback.url, callback.method, {}, f"conference {event.name}", common=False)
            if event.about is not None:
                event.about.deliver(goto, params)
            else:  # ended through the API: no call's transcript to log it in
                self.deliveries.submit(Delivery(goto, params, None, self.now, new_token()))

    # Queues

    def queue_named(self, name: str) -> CallQueue | None:
        with self.lock:
            return next((queue for queue in self.queues.values() if queue.name == name), None)

    def queue_for(self, name: str) -> CallQueue:
        """The queue called `name`, made on demand (as `<Enqueue>` does)."""
        with self.lock:
            return self.queue_named(name) or self._new_queue(name, DEFAULT_MAX_SIZE)

    def create_queue(self, name: str, max_size: int) -> CallQueue:
        with self.lock:
            if self.queue_named(name) is not None:
                raise Conflict(f"a queue named {name!r} exists")
            return self._new_queue(name, max_size)

    def _new_queue(self, name: str, max_size: int) -> CallQueue:
        if len(self.queues) >= MAX_HISTORY:
            raise Busy("too many queues")
        queue = CallQueue(name, self.account_sid, self.timebase.date(self.now()), max_size)
        self.queues[queue.sid] = queue
        return queue

    def get_queue(self, sid: str) -> CallQueue:
        return self._get(self.queues, sid, f"no queue {sid}")

    def dequeue(self, queue: CallQueue, which: str, target: Next) -> Member:
        """REST: take the front member (`Front`) or a given call out, to `target`."""
        with self.lock:
            member = queue.front() if which == "Front" else queue.find(which)
            if member is None or member.taken is not None:
                raise NotFound("no such member waiting in the queue")
            member.taken = RestTaken(target)
            member.leg.wake()
            return member

    def take_front(
        self, queue: CallQueue, dequeuer: Leg, url: Goto | None
    ) -> tuple[Member, Bridge] | None:
        """`<Dial><Queue>`: take the front member for `dequeuer`, with a bridge set up."""
        with self.lock:
            member = queue.front()
            if member is None:
                return None
            bridge = Bridge(dequeuer, member.leg)
            member.taken = DialTaken(bridge, url)
            member.leg.wake()
            return member, bridge

    # Recordings and faults

    def keep_recording(self, recording: Recording) -> None:
        with self.lock:
            self.recordings[recording.sid] = recording
            self._trim(self.recordings, lambda old: True)

    def set_faults(self, faults: Faults) -> None:
        self.deliveries.set_faults(faults)

    # Lifecycle

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every leg has ended and every callback is sent; False on timeout."""
        deadline = time.monotonic() + timeout
        for leg in self.live_legs():
            if not leg.ended.wait(max(0.0, deadline - time.monotonic())):
                return False
        return self.deliveries.flush(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float = 10.0) -> None:
        """End every leg, join their threads, send what is pending, stop the worker."""
        with self.lock:
            self._closed = True
            live = [leg for leg in self.legs.values() if not leg.ended.is_set()]
        for leg in live:
            with self.lock:
                answered = leg.answered_at is not None
            leg.send_hangup(EndReason.SHUTDOWN, status=None if answered else "canceled")
        deadline = time.monotonic() + timeout
        for leg in list(self.legs.values()):
            thread = leg.thread
            if thread is not None:
                thread.join(max(0.1, deadline - time.monotonic()))
        self.deliveries.close(max(0.1, deadline - time.monotonic()))

    @staticmethod
    def _trim(registry: dict[str, T], done: Callable[[T], bool]) -> None:
        """Forget the oldest finished entries beyond MAX_HISTORY."""
        excess = len(registry) - MAX_HISTORY
        if excess <= 0:
            return
        for key in [key for key, value in registry.items() if done(value)][:excess]:
            del registry[key]
