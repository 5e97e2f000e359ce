"""What a counsellor's or interpreter's console shows live: their state and their call.

`build_panel` reads Redis (the live state: which call they are offered, in, or wrapping
up) and the database (the call's facts), and answers a `Panel` the templates render and
the polling script compares by `fingerprint`. Rules:

- A counsellor sees, for the call offered to them or theirs: language, topic, IVR path,
  wait, flags and the masked number. Previous contacts of the same caller (count, dates,
  categories) only where `records.service.may_view_caller` allows, and reading them is
  audited like the caller history page.
- An interpreter sees the call they are assigned to, or offered: its language, topic and
  wait, and who the counsellor is. Never a number, a path, flags from records, or notes.
- Redis is the truth of which call is theirs now; without Redis, the database says which
  open call is theirs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import redis
import sqlalchemy as sa

from helpline.alerts import rules
from helpline.audit import chain as audit
from helpline.calls.timeline import ivr_path
from helpline.models import Call, CallEvent, ContactRecord, Staff
from helpline.models.base import DbSession
from helpline.models.calls import TIMELINE_ORDER
from helpline.models.enums import CallEventKind, Role
from helpline.privacy.crypto import mask_number
from helpline.records import service
from helpline.routing import presence

HISTORY_SHOWN = 5  # the latest contacts listed on the panel; the history page has them all
URGENT_PRIORITY = 3
SERIOUS_RISK = frozenset({"high", "imminent"})
PATH_KINDS = (CallEventKind.IVR_STEP.value, CallEventKind.BRANCH.value)
HOLD_KINDS = (CallEventKind.HOLD.value, CallEventKind.UNHOLD.value)


@dataclasses.dataclass(frozen=True)
class PastContact:
    created_at: dt.datetime
    categories: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class History:
    """Previous contacts of the caller, for those allowed to see them."""

    caller_id: int
    count: int
    latest: tuple[PastContact, ...]


@dataclasses.dataclass(frozen=True)
class CallFacts:
    call: Call
    stage: str  # "offered" (ringing for them), "connected", "ended" (their wrap-up)
    path: tuple[str, ...]
    wait_seconds: int | None
    masked: str | None  # None for interpreters, or a withheld number
    flags: tuple[str, ...]
    history: History | None  # None: not theirs to see
    is_on_hold: bool
    counsellor_name: str | None
    may_act: bool  # the counsellor who owns this connected call
    record_id: int | None = None  # the contact record of this call, once started


@dataclasses.dataclass(frozen=True)
class Panel:
    state: str  # presence state, or "unknown" when Redis is unreachable
    since: float | None
    wrap_up_until: float | None
    reason: str
    facts: CallFacts | None
    is_interpreter: bool

    @property
    def fingerprint(self) -> str:
        """Changes whenever what the panel shows changes (other than clocks ticking)."""
        facts = self.facts
        key = [self.state, self.since, self.reason]
        if facts is not None:
            key += [
                facts.call.id,
                facts.stage,
                facts.is_on_hold,
                facts.call.interpreter_id,
                facts.call.counsellor_id,
                facts.call.ended_at is not None,
            ]
        return hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()[:16]

    def summary(self) -> dict[str, object]:
        """The small JSON the console polls."""
        return {
            "fingerprint": self.fingerprint,
            "state": self.state,
            "wrap_up_until": self.wrap_up_until,
            "call_id": self.facts.call.id if self.facts else None,
        }


def _live(connection: redis.Redis, staff_id: int) -> dict[str, str] | None:
    try:
        return presence.live_state(connection, staff_id)
    except redis.RedisError:
        return None


def _open_call(session: DbSession, staff: Staff, interpreter: bool) -> Call | None:
    column = Call.interpreter_id if interpreter else Call.counsellor_id
    return session.scalars(
        sa.select(Call)
        .where(column == staff.id, Call.ended_at.is_(None))
        .order_by(Call.started_at.desc())
        .limit(1)
    ).first()


def _stage(call: Call, staff: Staff, state: str) -> str:
    if call.ended_at is not None or state == "wrap_up":
        return "ended"
    if staff.id in (call.counsellor_id, call.interpreter_id):
        return "connected"
    return "offered"


def _events(session: DbSession, call_id: int, kinds: tuple[str, ...]) -> list[CallEvent]:
    return list(
        session.scalars(
            sa.select(CallEvent)
            .where(CallEvent.call_id == call_id, CallEvent.kind.in_(kinds))
            .order_by(*TIMELINE_ORDER)
        )
    )


def _wait(call: Call, now: dt.datetime) -> int | None:
    return rules.wait_seconds(call.wait_seconds, call.queued_at, now)


def _history(
    session: DbSession,
    call: Call,
    staff: Staff,
    request: audit.RequestInfo | None,
) -> tuple[History | None, list[ContactRecord]]:
    """The caller's previous contacts, if this counsellor may see them (audited)."""
    if call.caller_id is None or call.caller is None:
        return None, []
    if not service.may_view_caller(session, call.caller_id, staff):
        return None, []
    records = [
        r
        for r in service.caller_history(session, call.caller, by=staff, request=request)
        if r.call_id != call.id
    ]  # the record of this very call is on its own page
    history = History(
        caller_id=call.caller_id,
        count=len(records),
        latest=tuple(
            PastContact(r.created_at, tuple(r.categories)) for r in records[:HISTORY_SHOWN]
        ),
    )
    return history, records


def _flags(call: Call, history_records: list[ContactRecord]) -> tuple[str, ...]:
    found: list[str] = []
    if call.priority >= URGENT_PRIORITY:
        found.append("urgent")
    if call.is_number_withheld or call.caller_id is None:
        found.append("withheld")
    if call.callback_request_id is not None:
        found.append("callback")
    if call.interpreter_id is not None:
        found.append("interpreter")
    if call.is_recording_consented:
        found.append("recording")
    if any(r.risk_level in SERIOUS_RISK for r in history_records):
        found.append("serious_risk_before")
    return tuple(found)


def _facts(
    session: DbSession,
    call: Call,
    staff: Staff,
    state: str,
    now: dt.datetime,
    request: audit.RequestInfo | None,
    interpreter: bool,
    with_history: bool,
) -> CallFacts:
    stage = _stage(call, staff, state)
    holds = _events(session, call.id, HOLD_KINDS)
    counsellor = session.get(Staff, call.counsellor_id) if call.counsellor_id else None
    if interpreter:
        return CallFacts(
            call=call,
            stage=stage,
            path=(),
            wait_seconds=_wait(call, now),
            masked=None,
            flags=("urgent",) if call.priority >= URGENT_PRIORITY else (),
            history=None,
            is_on_hold=bool(holds) and holds[-1].kind == CallEventKind.HOLD,
            counsellor_name=counsellor.display_name if counsellor else None,
            may_act=False,
        )
    history, past = (
        _history(session, call, staff, request)
        if with_history and stage != "offered"
        else (None, [])
    )
    record = service.find_record_for_call(session, call.id)
    path = ivr_path((e.kind, e.data) for e in _events(session, call.id, PATH_KINDS))
    return CallFacts(
        call=call,
        stage=stage,
        path=tuple(path),
        wait_seconds=_wait(call, now),
        masked=mask_number(call.caller.number_encrypted) if call.caller else None,
        flags=_flags(call, past),
        history=history,
        is_on_hold=bool(holds) and holds[-1].kind == CallEventKind.HOLD,
        counsellor_name=counsellor.display_name if counsellor else None,
        may_act=stage == "connected" and call.counsellor_id == staff.id and state != "unknown",
        record_id=record.id if record is not None else None,
    )


def build_panel(
    session: DbSession,
    connection: redis.Redis,
    staff: Staff,
    *,
    now: dt.datetime,
    wrap_up_seconds: int,
    request: audit.RequestInfo | None = None,
    with_history: bool = True,
) -> Panel:
    """The panel for this member of staff now; previous contacts (reading them is audited)
    only `with_history`."""
    interpreter = Role.INTERPRETER in staff.roles and Role.COUNSELLOR not in staff.roles
    live = _live(connection, staff.id)
    state = "unknown" if live is None else live.get("state", "offline")
    since = float(live["since"]) if live and live.get("since") else None
    call: Call | None = None
    if live and live.get("call") and state in ("reserved", "busy", "wrap_up"):
        call = session.get(Call, int(live["call"]))
    if live is None:  # Redis is unreachable: the database says which open call is theirs
        call = _open_call(session, staff, interpreter)
    facts = (
        _facts(session, call, staff, state, now, request, interpreter, with_history)
        if call is not None
        else None
    )
    until = since + wrap_up_seconds if state == "wrap_up" and since is not None else None
    return Panel(
        state=state,
        since=since,
        wrap_up_until=until,
        reason=(live or {}).get("reason", ""),
        facts=facts,
        is_interpreter=interpreter,
    )
