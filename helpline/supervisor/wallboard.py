"""The live wallboard: per language, who waits and how staff stand, at one instant.

`build_board` is pure: it takes the waiting calls (the database is their truth,
`routing.waiting`) and the staff's live hashes (Redis, `routing.presence`) and counts.
`read_board` gathers both; when Redis cannot be reached the board still shows the
callers waiting, and says that staff states are unknown.

A member of staff counts under every language they speak, as a counsellor, an
interpreter or both. Someone ringing for a call (`reserved`) counts as busy until the
reservation lapses, as routing itself counts them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from helpline.models.base import DbSession
from helpline.models.enums import PresenceState, Role
from helpline.routing import presence, waiting
from helpline.routing.policy import Policy
from helpline.routing.router import WaitingCall

POLL_SECONDS = 5  # how often the page asks again


@dataclasses.dataclass(frozen=True)
class StaffCounts:
    available: int = 0
    busy: int = 0
    wrap_up: int = 0
    on_break: int = 0

    def plus(self, state: str) -> StaffCounts:
        name = {"break": "on_break"}.get(state, state)
        return dataclasses.replace(self, **{name: getattr(self, name) + 1})


@dataclasses.dataclass(frozen=True)
class LanguageRow:
    language: str
    name: str
    waiting: int
    longest_wait: int | None  # whole seconds; None when nobody waits
    counsellors: StaffCounts
    interpreters: StaffCounts


@dataclasses.dataclass(frozen=True)
class Board:
    at: dt.datetime
    rows: tuple[LanguageRow, ...]
    staff_known: bool  # False when Redis could not be read

    @property
    def waiting(self) -> int:
        return sum(row.waiting for row in self.rows)

    @property
    def longest_wait(self) -> int | None:
        waits = [row.longest_wait for row in self.rows if row.longest_wait is not None]
        return max(waits, default=None)


def _split(value: str) -> list[str]:
    return [part for part in value.split(",") if part]


def staff_state(live: Mapping[str, str], now: float) -> str | None:
    """The wallboard's column for one live hash: available, busy, wrap_up, break, or None
    (offline, or no state)."""
    state = live.get("state")
    if state == "reserved":
        lapsed = float(live.get("reserved_until") or 0) <= now
        return PresenceState.AVAILABLE.value if lapsed else PresenceState.BUSY.value
    if state in (
        PresenceState.AVAILABLE,
        PresenceState.BUSY,
        PresenceState.WRAP_UP,
        PresenceState.BREAK,
    ):
        return str(state)
    return None


def build_board(
    calls: Sequence[WaitingCall],
    staff: Mapping[int, Mapping[str, str]],
    languages: Mapping[str, str],
    now: dt.datetime,
    *,
    staff_known: bool = True,
) -> Board:
    """Count waiting callers and staff per language. `languages` maps code to name in
    display order; a language met only in the live data is added after them."""
    names = dict(languages)
    counts: dict[str, int] = {}
    longest: dict[str, int] = {}
    for call in calls:
        names.setdefault(call.language, call.language)
        counts[call.language] = counts.get(call.language, 0) + 1
        waited = max(0, int((now - call.queued_at).total_seconds()))
        longest[call.language] = max(longest.get(call.language, 0), waited)
    counsellors: dict[str, StaffCounts] = {}
    interpreters: dict[str, StaffCounts] = {}
    moment = now.timestamp()
    for live in staff.values():
        state = staff_state(live, moment)
        if state is None:
            continue
        roles = set(_split(live.get("roles", "")))
        for language in _split(live.get("languages", "")):
            names.setdefault(language, language)
            if Role.COUNSELLOR in roles:
                counsellors[language] = counsellors.get(language, StaffCounts()).plus(state)
            if Role.INTERPRETER in roles:
                interpreters[language] = interpreters.get(language, StaffCounts()).plus(state)
    rows = tuple(
        LanguageRow(
            language=code,
            name=name,
            waiting=counts.get(code, 0),
            longest_wait=longest.get(code),
            counsellors=counsellors.get(code, StaffCounts()),
            interpreters=interpreters.get(code, StaffCounts()),
        )
        for code, name in names.items()
    )
    return Board(at=now, rows=rows, staff_known=staff_known)


def read_board(
    session: DbSession,
    connection: redis.Redis,
    policy: Policy,
    languages: Mapping[str, str],
    now: dt.datetime,
) -> Board:
    """The board from the database's waiting calls and Redis's live staff states."""
    calls = waiting.list_waiting(session, policy)
    try:
        states: Mapping[int, Mapping[str, str]] = presence.on_duty(
            connection, now.timestamp()
        ).states
        known = True
    except redis.RedisError:
        states, known = {}, False
    return build_board(calls, states, languages, now, staff_known=known)


def board_json(board: Board) -> dict[str, Any]:
    """The board as the page's script reads it."""
    return {
        "at": board.at.isoformat(timespec="seconds"),
        "staff_known": board.staff_known,
        "waiting": board.waiting,
        "longest_wait": board.longest_wait,
        "rows": [dataclasses.asdict(row) for row in board.rows],
    }
