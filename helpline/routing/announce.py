"""What a waiting caller hears: position and expected wait, said only when they change.

Pure. Prompts with a number use the `{key}` placeholder of the prompt files, so languages
without a Twilio voice have one recording per number: positions 1 to 9 (then "more than
nine"), and waits rounded up to 2, 5, 10 or 15 minutes (then "longer than fifteen";
under a minute, "very soon").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence

from helpline.ivr.engine import PromptRef
from helpline.routing.policy import Policy
from helpline.routing.router import StaffMember, WaitingCall, stages_for

POSITIONS = tuple(str(n) for n in range(1, 10))
WAIT_MINUTES = ("2", "5", "10", "15")
NUMBERED = {"queue_position": POSITIONS, "queue_wait": WAIT_MINUTES}
# Every prompt the waiting and connecting caller may hear, for the linter and the audio.
PROMPTS = (
    "please_hold",
    "queue_position",
    "queue_position_many",
    "queue_wait",
    "queue_wait_short",
    "queue_wait_long",
    "queue_keys",
    "connected",
    "connected_interpreter",
    "waited_too_long",
    "cut_off_consent_thanks",
)
DEFAULT_HANDLE_SECONDS = 600  # a counsellor's call with its wrap-up, before there is history
OTHER_LANGUAGES = "*"  # in a map of handle times by language: the figure for the rest


@dataclasses.dataclass(frozen=True)
class Estimate:
    """Where a caller stands: 1-based position in our order, and the expected wait."""

    position: int
    wait_seconds: int

    def token(self) -> str:
        """What the caller was last told, to repeat only when it changed."""
        told = (position_prompt(self.position), wait_prompt(self.wait_seconds))
        return "|".join(f"{p.key}{dict(p.params).get('key', '')}" for p in told)


def estimate(position: int, serving: int, handle_seconds: int = DEFAULT_HANDLE_SECONDS) -> Estimate:
    """Expected wait: the callers ahead shared among those who can serve this caller.

    With nobody free to serve, each position ahead costs one handle time per server; a
    line with no server on duty for the caller counts as one (they reach the interpreter
    stage or a callback, never an infinite wait).
    """
    servers = max(serving, 1)
    rounds = math.ceil(max(position, 1) / servers)
    return Estimate(max(position, 1), int(rounds * handle_seconds / 2))


def position_prompt(position: int) -> PromptRef:
    if 1 <= position <= len(POSITIONS):
        return PromptRef("queue_position", "", (("key", str(position)),))
    return PromptRef("queue_position_many", "")


def wait_prompt(wait_seconds: int) -> PromptRef:
    if wait_seconds < 60:
        return PromptRef("queue_wait_short", "")
    minutes = math.ceil(wait_seconds / 60)
    for bucket in WAIT_MINUTES:
        if minutes <= int(bucket):
            return PromptRef("queue_wait", "", (("key", bucket),))
    return PromptRef("queue_wait_long", "")


def announcement(
    now: Estimate, last_token: str | None, offer_callback: bool, language: str
) -> tuple[PromptRef, ...]:
    """The prompts of this round: nothing new when nothing changed, else position and wait.

    The keys (1 for a callback, the duty line) are said with every news, and every round
    of a stage that offers a callback.
    """
    prompts: list[PromptRef] = []
    changed = now.token() != last_token
    if changed:
        prompts += [position_prompt(now.position), wait_prompt(now.wait_seconds)]
    if changed or offer_callback:
        prompts.append(PromptRef("queue_keys", ""))
    return tuple(dataclasses.replace(p, language=language) for p in prompts)


@dataclasses.dataclass(frozen=True)
class Standing:
    """One waiting caller's place, as the dispatcher last saw it."""

    position: int
    serving: int  # staff on duty who could take this caller at their current stage
    offer_callback: bool
    handle_seconds: int = DEFAULT_HANDLE_SECONDS  # a call of their language (handling.py)


def standings(
    waiting: Sequence[WaitingCall],
    staff: Sequence[StaffMember],
    now: dt.datetime,
    policy: Policy,
    handle_seconds: Mapping[str, int] | None = None,
) -> dict[int, Standing]:
    """Each waiting caller's position among those their staff would serve, in routing order.

    The position counts the callers ahead (higher priority, or same priority and earlier)
    who wait for the same language; `serving` counts who could take them now or later;
    `handle_seconds` is a call's handle time by language (handling.py), OTHER_LANGUAGES
    for the rest.
    """
    ordered = sorted(waiting, key=lambda c: (-c.priority, c.queued_at, c.call_id))
    ahead: dict[str, int] = {}
    result: dict[int, Standing] = {}
    bridge = policy.bridge_language
    servers: dict[str, int] = {}
    verdicts = stages_for(ordered, staff, now, policy)
    for call in ordered:
        ahead[call.language] = ahead.get(call.language, 0) + 1
        if call.language not in servers:
            speaking = sum(1 for m in staff if m.is_counsellor and call.language in m.languages)
            interpreters = sum(
                1 for m in staff if m.is_interpreter and {call.language, bridge} <= m.languages
            )
            servers[call.language] = speaking + interpreters
        handle = handle_seconds or {}
        result[call.call_id] = Standing(
            ahead[call.language],
            servers[call.language],
            verdicts[call.call_id].offer_callback,
            handle.get(call.language, handle.get(OTHER_LANGUAGES, DEFAULT_HANDLE_SECONDS)),
        )
    return result
