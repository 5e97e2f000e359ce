"""The alerts in the database: open ones with their calls, acknowledging, claiming a ring.

Acknowledging and claiming a ring are each one conditional INSERT ... ON CONFLICT DO
UPDATE ... WHERE on `alert_state`: of two supervisors (or two workers) at once, exactly
one gets the row back. The caller commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from helpline.alerts import rules
from helpline.models import AlertState, Call, CallEvent, LoginSession, Staff, StaffRole
from helpline.models.base import DbSession
from helpline.models.enums import CallEventKind, Role


@dataclasses.dataclass(frozen=True)
class Acknowledgement:
    is_new: bool  # False: someone had acknowledged it already
    by_id: int | None
    at: dt.datetime | None


def find_event(session: DbSession, event_id: int) -> CallEvent | None:
    """The alerting event with this id, or None (no such event, or not an alert)."""
    event = session.get(CallEvent, event_id)
    return event if event is not None and event.kind in rules.ALERT_KINDS else None


def list_open(session: DbSession, now: dt.datetime) -> list[rules.Alert]:
    """Open alerts shown now, newest first (at most SHOWN_AT_MOST)."""
    asker = sa.orm.aliased(Staff)
    rows = session.execute(
        sa.select(CallEvent, Call, asker.display_name)
        .join(Call, Call.id == CallEvent.call_id)
        .outerjoin(AlertState, AlertState.call_event_id == CallEvent.id)
        .outerjoin(asker, asker.id == CallEvent.staff_id)
        .where(
            CallEvent.kind.in_(rules.ALERT_KINDS),
            CallEvent.occurred_at > rules.shown_since(now),
            AlertState.acknowledged_at.is_(None),
        )
        .order_by(CallEvent.occurred_at.desc(), CallEvent.id.desc())
        .limit(rules.SHOWN_AT_MOST)
    ).all()
    return [
        rules.Alert(
            event_id=event.id,
            kind=event.kind,
            call_id=call.id,
            occurred_at=event.occurred_at,
            language=call.language,
            topic=call.topic,
            wait_seconds=rules.wait_seconds(call.wait_seconds, call.queued_at, now),
            is_call_over=call.ended_at is not None,
            asked_by=name if event.kind == CallEventKind.ESCALATED else None,
        )
        for event, call, name in rows
    ]


def _upsert(session: DbSession, values: dict[str, Any], where: sa.ColumnElement[bool]) -> bool:
    """INSERT the alert's row, or UPDATE it with `values` only WHERE `where` holds;
    True if this statement wrote it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(AlertState)
        .values(**values)
        .on_conflict_do_update(
            index_elements=[AlertState.call_event_id],
            set_={k: v for k, v in values.items() if k != "call_event_id"},
            where=where,
        )
        .returning(AlertState.id)
    )
    return session.execute(statement).first() is not None


def acknowledge(
    session: DbSession, event_id: int, staff_id: int, now: dt.datetime
) -> Acknowledgement:
    """Acknowledge the alert for this supervisor, unless someone already has."""
    if _upsert(
        session,
        {"call_event_id": event_id, "acknowledged_at": now, "acknowledged_by_id": staff_id},
        AlertState.acknowledged_at.is_(None),
    ):
        return Acknowledgement(is_new=True, by_id=staff_id, at=now)
    done = session.scalars(sa.select(AlertState).where(AlertState.call_event_id == event_id)).one()
    return Acknowledgement(is_new=False, by_id=done.acknowledged_by_id, at=done.acknowledged_at)


def due_to_ring(session: DbSession, now: dt.datetime, ring_seconds: int) -> list[int]:
    """The events of alerts due to ring now: one query on call_event's (kind, occurred_at)
    index, with the unique index of alert_state."""
    after, until = rules.ring_window(now, ring_seconds)
    return list(
        session.scalars(
            sa.select(CallEvent.id)
            .outerjoin(AlertState, AlertState.call_event_id == CallEvent.id)
            .where(
                CallEvent.kind.in_(rules.ALERT_KINDS),
                CallEvent.occurred_at > after,
                CallEvent.occurred_at <= until,
                AlertState.acknowledged_at.is_(None),
                AlertState.rung_at.is_(None),
            )
            .order_by(CallEvent.occurred_at)
        )
    )


def claim_ring(session: DbSession, event_id: int, now: dt.datetime) -> bool:
    """Claim the ring of this alert; False if it was rung or acknowledged meanwhile."""
    return _upsert(
        session,
        {"call_event_id": event_id, "rung_at": now},
        sa.and_(AlertState.rung_at.is_(None), AlertState.acknowledged_at.is_(None)),
    )


def note_rings(session: DbSession, event_id: int, rings: int) -> None:
    session.execute(
        sa.update(AlertState).where(AlertState.call_event_id == event_id).values(rings=rings)
    )


def supervisors(
    session: DbSession, now: dt.datetime, idle: dt.timedelta
) -> list[tuple[Staff, rules.Supervisor]]:
    """Every active supervisor, and whether they have a live console session now."""
    live = (
        sa.select(LoginSession.id)
        .where(
            LoginSession.staff_id == Staff.id,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
            LoginSession.last_seen_at > now - idle,
        )
        .exists()
    )
    rows = session.execute(
        sa.select(Staff, live)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(StaffRole.role == Role.SUPERVISOR.value, Staff.is_active.is_(True))
        .order_by(Staff.id)
    ).all()
    return [
        (staff, rules.Supervisor(staff.id, staff.phone_encrypted is not None, bool(logged_in)))
        for staff, logged_in in rows
    ]
