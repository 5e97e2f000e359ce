"""The pure IVR engine: given a flow, the call's state and what the caller did, decide.

No I/O and no clock of its own: the view passes the facts (time, whether the number is
known, remembered language, consents given) and persists what comes back. One call of
`start` or `advance` answers one webhook: it walks the flow until the caller must be
heard again (a menu, a recording, a transfer, the end) and returns that one action,
the timeline events, and the effects the view must store.

Say nodes never wait on their own: their prompts are played in front of the next node
that does, inside its `<Gather>`, so the emergency key works while notices play.

A queue node asks `Facts.queue_status` whether someone could take the call: `open` makes
the caller wait (an `Enqueue`), `busy` (nobody who could is logged in) and `down` (routing
unreachable) take the node's `busy` and `unavailable` paths. While the caller waits, keys
reach `hold_key` (1: a callback, keeping their place; the emergency key: the duty line),
and the routing layer may end the wait with `leave_queue` (the maximum wait, or routing
gone down). The wait ends in Twilio with the Enqueue action (`queue` input): a `leave`
goes where the reason saved in the state says. A caller connected to a counsellor is
moved out of the queue into a conference room by the routing layer; when the room ends
(`room` input) the flow goes on at the queue node's `next`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from helpline.ivr.model import Flow, Node, Schedule

MAX_AUTO_STEPS = 64
CALL_LANGUAGE = ""  # a PromptRef language meaning "whatever the call's language is by then"
CUT_OFF_THANKS = "cut_off_consent_thanks"  # said when a waiting caller agrees to a callback
ANNOUNCE_TIMEOUT = 1  # seconds a notice waits for a key before the call moves on


# --- inputs -----------------------------------------------------------------------------


QUEUE_OPEN, QUEUE_BUSY, QUEUE_DOWN = "open", "busy", "down"


def nobody_on_duty(_language: str, _topic: str | None) -> str:
    return QUEUE_BUSY


def nobody_logged_in(_language: str) -> str:
    return QUEUE_BUSY


@dataclasses.dataclass(frozen=True)
class Facts:
    """What the engine may know about the world for this step.

    `queue_status(language, topic)` answers open, busy or down; it is asked only when the
    walk reaches a queue node (the view passes a snapshot of who is logged in).
    `emergency_status(language)` answers the same for an emergency queue, whose callers
    any counsellor may take: open when any counsellor at all is logged in.
    """

    now: dt.datetime
    caller_known: bool = True
    remembered_language: str | None = None
    consents_given: frozenset[str] = frozenset()
    queue_status: Callable[[str, str | None], str] = nobody_on_duty
    emergency_status: Callable[[str], str] = nobody_logged_in


@dataclasses.dataclass(frozen=True)
class Input:
    """What happened since the last step: digits, timeout, record, record_empty, dial,
    queue (the Enqueue action, with Twilio's QueueResult) or room (the conversation ended).
    """

    kind: str
    digits: str = ""
    dial_status: str = ""
    queue_result: str = ""


INPUT_KINDS = frozenset({"digits", "timeout", "record", "record_empty", "dial", "queue", "room"})
# Why a caller left the queue (`State.vars["left"]`) -> the queue node's field to go to.
LEAVE_REASONS = {
    "callback": "callback",
    "max_wait": "on_max_wait",
    "unavailable": "unavailable",
}
# QueueResults after which the caller is somewhere else already (Twilio ignores our answer).
QUEUE_MOVED = frozenset({"redirected", "bridged", "bridging-in-process", "redirected-from-bridged"})


# --- state ------------------------------------------------------------------------------


@dataclasses.dataclass
class State:
    """Where a call is in its flow; stored as JSON on the call between webhooks."""

    flow: str
    version: str
    node: str
    language: str
    vars: dict[str, str | int] = dataclasses.field(default_factory=dict)
    retries: int = 0
    history: list[str] = dataclasses.field(default_factory=list)
    asked: list[str] = dataclasses.field(default_factory=list)
    turn: int = 0
    is_done: bool = False

    def to_json(self) -> dict[str, Any]:
        # Written out rather than dataclasses.asdict, whose deep copy is a measurable part
        # of every IVR step (docs/BENCHMARKS.md); tests/test_ivr_engine.py keeps the two equal.
        return {
            "flow": self.flow,
            "version": self.version,
            "node": self.node,
            "language": self.language,
            "vars": dict(self.vars),  # of str and int: a copy is a deep copy
            "retries": self.retries,
            "history": list(self.history),
            "asked": list(self.asked),
            "turn": self.turn,
            "is_done": self.is_done,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        return cls(**{k: v for k, v in data.items() if k in _STATE_FIELDS})


_STATE_FIELDS = frozenset(field.name for field in dataclasses.fields(State))


# --- outputs ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PromptRef:
    key: str
    language: str
    params: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Ask:
    """Play prompts and wait for one key (a menu, a consent, a language choice)."""

    prompts: tuple[PromptRef, ...]
    timeout: int


@dataclasses.dataclass(frozen=True)
class Record:
    prompts: tuple[PromptRef, ...]
    max_length: int


@dataclasses.dataclass(frozen=True)
class Dial:
    prompts: tuple[PromptRef, ...]
    number: str  # a named number, resolved by the view
    timeout: int


@dataclasses.dataclass(frozen=True)
class Hangup:
    prompts: tuple[PromptRef, ...]


@dataclasses.dataclass(frozen=True)
class Enqueue:
    """Wait in the named queue, hearing the hold announcements, until routed or leaving."""

    prompts: tuple[PromptRef, ...]
    queue: str


@dataclasses.dataclass(frozen=True)
class Leave:
    """Leave the queue now (answering inside the wait); the Enqueue action follows."""

    prompts: tuple[PromptRef, ...]


@dataclasses.dataclass(frozen=True)
class Ack:
    """Nothing for the caller: the request was noted (the call is elsewhere already)."""

    prompts: tuple[PromptRef, ...] = ()


Action = Ask | Record | Dial | Hangup | Enqueue | Leave | Ack


@dataclasses.dataclass(frozen=True)
class Event:
    """A timeline entry; `kind` is a CallEventKind value. Never holds personal data."""

    kind: str
    data: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Consent:
    kind: str
    granted: bool


@dataclasses.dataclass(frozen=True)
class CallbackWanted:
    reason: str


@dataclasses.dataclass(frozen=True)
class Voicemail:
    """The caller left a message."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A call outcome (CallOutcome value) that this step settles."""

    value: str


@dataclasses.dataclass(frozen=True)
class Queued:
    """The caller starts waiting for a counsellor now (again, if a replay); `emergency`:
    at the front, for any counsellor (an emergency queue)."""

    emergency: bool = False


@dataclasses.dataclass(frozen=True)
class Dequeued:
    """The caller stopped waiting: connected, left, hung up or the queue failed."""

    reason: str


Effect = Consent | CallbackWanted | Voicemail | Outcome | Queued | Dequeued


@dataclasses.dataclass(frozen=True)
class Step:
    state: State
    action: Action
    events: tuple[Event, ...]
    effects: tuple[Effect, ...]


class FlowError(RuntimeError):
    """The flow cannot go on (a loop, a missing node); the view answers with the fallback."""


# --- the engine -------------------------------------------------------------------------


class _Walk:
    """One webhook's worth of walking; collects events, effects and spoken prompts."""

    def __init__(self, flow: Flow, schedules: Mapping[str, Schedule], state: State, facts: Facts):
        self.flow = flow
        self.schedules = schedules
        self.state = state
        self.facts = facts
        self.events: list[Event] = []
        self.effects: list[Effect] = []
        self.prefix: list[PromptRef] = []
        self.skip_remembered = False

    def log(self, kind: str, /, **data: Any) -> None:
        self.events.append(Event(kind, data))

    def prompts(self, node: Node) -> list[PromptRef]:
        """The node's prompts in the call's language, as it stands when the step ends."""
        return [PromptRef(key, CALL_LANGUAGE) for key in node.prompts]

    def finish(self, action: Action, *, new_turn: bool = True) -> Step:
        """The step's result. `new_turn=False` keeps the URLs Twilio already holds valid."""
        if new_turn:
            self.state.turn += 1
        if action.prompts:
            resolved = tuple(
                dataclasses.replace(p, language=self.state.language)
                if p.language == CALL_LANGUAGE
                else p
                for p in action.prompts
            )
            action = dataclasses.replace(action, prompts=resolved)
        if action.prompts:
            spoken = [p.key for p in action.prompts]
            self.log(
                "prompt_played", node=self.state.node, prompts=spoken, language=self.state.language
            )
        return Step(self.state, action, tuple(self.events), tuple(self.effects))

    def enter(self, node_id: str, via: str) -> Step:
        """Walk from node_id through nodes that need no caller, up to the next that does."""
        for _ in range(MAX_AUTO_STEPS):
            if node_id not in self.flow.nodes:
                raise FlowError(f"node {node_id!r} does not exist")
            previous, self.state.node = self.state.node, node_id
            self.state.retries = 0
            self.log("branch", **{"from": previous, "to": node_id, "via": via})
            node = self.flow.nodes[node_id]
            following = self._auto(node)
            if following is None:
                return self._wait(node)
            node_id, via = following
        raise FlowError("the flow went round without waiting for the caller")

    def _auto(self, node: Node) -> tuple[str, str] | None:
        """The next node if this one needs no caller; None if it waits."""
        facts, state = self.facts, self.state
        if node.type == "say":
            self.prefix += self.prompts(node)
            return node.next or "", "next"
        if node.type == "set":
            state.vars.update(node.assign)
            return node.next or "", "next"
        if node.type == "schedule":
            schedule = self.schedules.get(node.schedule or "")
            is_open = schedule.is_open(facts.now) if schedule is not None else False
            self.log("hours_checked", schedule=node.schedule, open=is_open)
            if not is_open:
                self.effects.append(Outcome("out_of_hours"))
            return (node.open, "open") if is_open else (node.closed, "closed")  # type: ignore[return-value]
        if node.type == "queue":
            topic = state.vars.get("topic")
            status = QUEUE_BUSY
            if node.emergency:
                status = facts.emergency_status(state.language)
            elif node.next is not None:  # a queue callers can wait in
                status = facts.queue_status(
                    state.language, topic if isinstance(topic, str) else None
                )
            if status == QUEUE_OPEN:
                if node.emergency:  # a CallEvent that alerts the duty supervisor
                    self.log("emergency_queued", node=node.id, language=state.language)
                return None
            if status == QUEUE_DOWN:
                self.log("ivr_step", node=node.id, action="hand_off", result="routing_unavailable")
                return node.unavailable or "", "unavailable"
            self.log("ivr_step", node=node.id, action="hand_off", result="no_agents")
            return node.busy or "", "busy"
        if node.type == "language_menu":
            remembered = facts.remembered_language
            if remembered in self.flow.languages and node.remembered and not self.skip_remembered:
                state.language = remembered or state.language
                self.log("language_selected", language=state.language, source="remembered")
                return node.remembered, "remembered"
            return None
        if node.type == "consent":
            if not facts.caller_known:
                return node.unavailable or "", "unavailable"
            if node.consent in facts.consents_given or (node.consent or "") in state.asked:
                return node.next or "", "already"
            return None
        if node.type == "callback_request" and not facts.caller_known:
            return node.unavailable or "", "unavailable"
        return None

    def _wait(self, node: Node, reprompt: str | None = None) -> Step:
        """The action of a node that waits for the caller (or ends the call)."""
        # Back (the global key) returns to menus; a consent question is asked only once.
        if node.is_input and node.type != "consent" and node.id not in self.state.history[-1:]:
            self.state.history.append(node.id)
        lead = ([PromptRef(reprompt, CALL_LANGUAGE)] if reprompt else []) + self.prefix
        if node.type == "language_menu":
            options = [
                PromptRef("language_option", language, (("key", key),))
                for key, language in sorted(node.languages.items())
            ]
            return self.finish(Ask(tuple(lead + options), node.input.timeout if node.input else 6))
        if node.is_input:
            timeout = node.input.timeout if node.input else 6
            return self.finish(Ask(tuple(lead + self.prompts(node)), timeout))
        if node.type == "voicemail":
            return self.finish(Record(tuple(lead + self.prompts(node)), node.max_length))
        if node.type == "dial":
            return self.finish(
                Dial(tuple(lead + self.prompts(node)), node.number or "", node.dial_timeout)
            )
        if node.type == "queue":
            self.effects.append(Queued(emergency=node.emergency))
            self.log("queued", node=node.id, language=self.state.language)
            return self.finish(Enqueue(tuple(lead + self.prompts(node)), self.state.language))
        self.state.is_done = True
        return self.finish(Hangup(tuple(lead + self.prompts(node))))

    # -- caller input on a waiting node -------------------------------------------------

    def answer(self, event: Input) -> Step:
        node = self.flow.nodes.get(self.state.node)
        if node is None:
            raise FlowError(f"the call is at {self.state.node!r}, which the flow lacks")
        if node.type == "voicemail" and event.kind in ("record", "record_empty"):
            if event.kind == "record":
                self.log("voicemail_recorded", node=node.id)
                self.effects.append(Voicemail())
                return self.enter(node.next or "", "recorded")
            return self.enter(node.on_empty or "", "empty")
        if node.type == "queue" and event.kind in ("queue", "room"):
            return self._queue_ended(node, event)
        if node.type == "dial" and event.kind == "dial":
            self.log("dial_result", node=node.id, status=event.dial_status)
            if event.dial_status in ("completed", "answered"):
                self.state.is_done = True
                return self.finish(Hangup(()))
            self.effects.append(Outcome("in_progress"))  # the transfer did not happen
            return self.enter(node.on_failure or "", "failed")
        if not node.is_input or event.kind not in ("digits", "timeout"):
            self.log("out_of_sequence", node=node.id, input=event.kind)
            return self._wait(node)
        if event.kind == "timeout" or not event.digits:
            self.log("input_timeout", node=node.id, attempt=self.state.retries + 1)
            return self._retry(node, "no_input", node.input.on_timeout if node.input else "")
        return self._key(node, event.digits)

    def _queue_ended(self, node: Node, event: Input) -> Step:
        """The Enqueue action (the wait is over), or the end of the conversation."""
        state = self.state
        if event.kind == "room":
            self.log("room_ended", node=node.id)
            if node.next:
                return self.enter(node.next, "conversation ended")
            state.is_done = True
            return self.finish(Hangup(()))
        result = event.queue_result or "unknown"
        self.log("queue_result", node=node.id, result=result)
        if result in QUEUE_MOVED:
            return self.finish(Ack(), new_turn=False)
        self.effects.append(Dequeued(result))
        if result == "hangup":
            state.is_done = True
            return self.finish(Hangup(()))
        reason = str(state.vars.pop("left", ""))
        if result == "leave" and reason == "emergency":
            return self.enter(self.flow.emergency_node, "emergency key")
        target = (
            getattr(node, LEAVE_REASONS.get(reason, "unavailable")) if result == "leave" else None
        )
        return self.enter(target or node.unavailable or "", reason or result)

    def _retry(self, node: Node, prompt: str, give_up: str) -> Step:
        limit = node.input.retries if node.input else 0
        if self.state.retries < limit:
            self.state.retries += 1
            retries = self.state.retries
            step = self._wait(node, reprompt=prompt)
            self.state.retries = retries
            return step
        if node.type == "language_menu":
            self.log("language_selected", language=self.state.language, source="default")
        return self.enter(give_up, "timeout" if prompt == "no_input" else "invalid")

    def _key(self, node: Node, digits: str) -> Step:
        keys = self.flow.global_keys
        key = digits if len(digits) == 1 else ""
        self.log("key_pressed", node=node.id, key=key or "invalid")
        state = self.state
        if key == keys.emergency:
            self.effects.append(Outcome("emergency_transfer"))
            self.log("emergency_transfer", node=node.id)
            return self.enter(self.flow.emergency_node, "emergency key")
        if key == keys.repeat:
            return self._wait(node)
        if key == keys.back:
            if len(state.history) > 1:
                state.history.pop()
                return self.enter(state.history.pop(), "back")
            return self._wait(node)
        if key == keys.change_language:
            self.skip_remembered = True
            return self.enter(self.flow.language_node, "change language")
        if node.type == "language_menu" and key in node.languages:
            state.language = node.languages[key]
            self.log("language_selected", language=state.language, source="menu")
            return self.enter(node.next or "", f"key {key}")
        if node.type in ("consent", "callback_request") and key in (node.yes_key, node.no_key):
            granted = key == node.yes_key
            if node.type == "consent":
                state.asked.append(node.consent or "")
                self.effects.append(Consent(node.consent or "", granted))
                self.log("consent_recorded", kind=node.consent, granted=granted)
            elif granted:
                reason = self._reason(node.reason or "")
                self.effects += [Consent("callback", True), CallbackWanted(reason)]
                self.effects.append(Outcome("callback_requested"))
                self.log("callback_requested", reason=reason)
            return self.enter((node.next if granted else node.declined) or "", f"key {key}")
        if node.type == "menu" and key in node.choices:
            choice = node.choices[key]
            state.vars.update(choice.assign)
            for kind, granted in choice.consent.items():
                self.effects.append(Consent(kind, granted))
            if "topic" in choice.assign:
                self.log("topic_selected", topic=choice.assign["topic"])
            if "age_group" in choice.assign:
                self.log("age_group_selected", age_group=choice.assign["age_group"])
            return self.enter(choice.goto, f"key {key}")
        self.log("input_invalid", node=node.id, attempt=state.retries + 1)
        return self._retry(node, "invalid_input", node.input.on_invalid if node.input else "")

    def _reason(self, reason: str) -> str:
        if reason.startswith("$"):
            value = self.state.vars.get(reason[1:])
            return str(value) if value is not None else "queue_key"
        return reason


def start(flow: Flow, schedules: Mapping[str, Schedule], facts: Facts) -> Step:
    """The first step of a new call."""
    state = State(flow=flow.id, version=flow.version, node="", language=flow.default_language)
    walk = _Walk(flow, schedules, state, facts)
    walk.log("ivr_step", node=flow.start, action="start", flow=flow.id, version=flow.version)
    return walk.enter(flow.start, "start")


def advance(
    flow: Flow, schedules: Mapping[str, Schedule], state: State, event: Input, facts: Facts
) -> Step:
    """The next step, after the caller pressed keys, stayed silent, recorded or was dialled."""
    if event.kind not in INPUT_KINDS:
        raise ValueError(f"unknown input kind {event.kind!r}")
    walk = _Walk(flow, schedules, State.from_json(state.to_json()), facts)
    if state.is_done:
        walk.log("out_of_sequence", node=state.node, input=event.kind)
        return walk.finish(Hangup(()))
    return walk.answer(event)


def _waiting_walk(flow: Flow, state: State, facts: Facts) -> tuple[_Walk, Node] | None:
    walk = _Walk(flow, {}, State.from_json(state.to_json()), facts)
    node = flow.nodes.get(state.node)
    if node is None or node.type != "queue" or state.is_done or "left" in state.vars:
        return None
    return walk, node


def hold_key(flow: Flow, state: State, digits: str, facts: Facts) -> Step:
    """A key pressed while waiting: 1 for a callback, the emergency key, the queue's
    `cut_off_consent` key (a callback should the call drop; the caller keeps waiting and
    hears thanks), or nothing to do.

    The caller leaves the queue with `Leave`; the reason stays in the state for the
    Enqueue action. The turn does not change, so the Enqueue action's URL stays valid.
    """
    found = _waiting_walk(flow, state, facts)
    if found is None:
        walk = _Walk(flow, {}, State.from_json(state.to_json()), facts)
        walk.log("out_of_sequence", node=state.node, input="hold key")
        return walk.finish(Ack(), new_turn=False)
    walk, node = found
    key = digits if len(digits) == 1 else ""
    walk.log("key_pressed", node=node.id, key=key or "invalid", waiting=True)
    if key == flow.global_keys.emergency:
        walk.effects.append(Outcome("emergency_transfer"))
        walk.log("emergency_transfer", node=node.id)
        walk.state.vars["left"] = "emergency"
        return walk.finish(Leave(()), new_turn=False)
    if key == "1" and node.callback:
        walk.log("callback_asked", node=node.id)
        walk.state.vars["left"] = "callback"
        return walk.finish(Leave(()), new_turn=False)
    if key and key == node.cut_off_consent:
        # Should the call drop, the caller agrees to be called back; they keep waiting.
        walk.effects.append(Consent("callback", True))
        walk.log("consent_recorded", kind="callback", granted=True, node=node.id)
        thanks = PromptRef(CUT_OFF_THANKS, CALL_LANGUAGE)
        return walk.finish(Ack((thanks,)), new_turn=False)
    walk.log("input_invalid", node=node.id, attempt=1)
    return walk.finish(Ack(), new_turn=False)


def leave_queue(flow: Flow, state: State, reason: str, facts: Facts) -> Step | None:
    """End a wait for the routing layer (`max_wait`, `unavailable`); None if not waiting."""
    if reason not in LEAVE_REASONS or reason == "callback":
        raise ValueError(f"unknown reason to leave the queue {reason!r}")
    found = _waiting_walk(flow, state, facts)
    if found is None:
        return None
    walk, node = found
    walk.log("queue_leave", node=node.id, reason=reason)
    walk.state.vars["left"] = reason
    return walk.finish(Leave(()), new_turn=False)


def replay(flow: Flow, schedules: Mapping[str, Schedule], state: State, facts: Facts) -> Step:
    """Say the current node again, unchanged (a redelivered or out-of-turn request)."""
    walk = _Walk(flow, schedules, State.from_json(state.to_json()), facts)
    walk.log("out_of_sequence", node=state.node, input="replay")
    node = flow.nodes.get(state.node)
    if node is None or state.is_done:
        walk.state.is_done = True
        return walk.finish(Hangup(()))
    return walk._wait(node)
