"""Lists of referrals: a centre's for its focal point, overdue ones, a record's timeline.

Pure of Flask. The lists that show referrals to someone are audited (`referrals_listed`,
`referrals_overdue_viewed`), with how many and which, never what they hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.models import ContactRecord, Referral, ReferralStep, Staff
from helpline.models.base import DbSession
from helpline.models.enums import ReferralStatus as S
from helpline.models.enums import Role
from helpline.referrals import states
from helpline.referrals.service import ReferralForbidden

LIMIT = 200


@dataclasses.dataclass(frozen=True)
class Row:
    """A referral in a list: what it is about and where it stands; no note, no number."""

    id: int
    kind: str
    categories: tuple[str, ...]
    status: str
    status_at: dt.datetime | None
    due_at: dt.datetime | None
    is_overdue: bool
    contact_preference: str | None
    language: str | None
    province: str | None
    destination: str | None
    site_id: int | None
    contact_record_id: int
    counsellor_id: int


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    """One step of a referral, for a case's timeline and the programme report."""

    referral_id: int
    contact_record_id: int
    kind: str
    status: str
    at: dt.datetime
    by_id: int


def _rows(
    session: DbSession, query: sa.Select[Referral, ContactRecord], now: dt.datetime
) -> list[Row]:
    return [
        Row(
            id=referral.id,
            kind=referral.kind,
            categories=tuple(record.categories),
            status=referral.status,
            status_at=referral.status_at,
            due_at=referral.due_at,
            is_overdue=states.is_overdue(referral.status, referral.due_at, now),
            contact_preference=referral.contact_preference,
            language=referral.language,
            province=referral.province,
            destination=referral.destination,
            site_id=referral.site_id,
            contact_record_id=record.id,
            counsellor_id=record.counsellor_id,
        )
        for referral, record in session.execute(query).all()
    ]


def _joined() -> sa.Select[Referral, ContactRecord]:
    return sa.select(Referral, ContactRecord).join(
        ContactRecord, ContactRecord.id == Referral.contact_record_id
    )


def _sorted(rows: list[Row], now: dt.datetime) -> list[Row]:
    """Overdue first, then open, then closed; within each, the oldest due first."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(
        rows,
        key=lambda r: (
            states.open_first_key(r.status, r.due_at, now),
            r.due_at or far,
            r.id,
        ),
    )


def list_for_site(session: DbSession, site_id: int, now: dt.datetime) -> list[Row]:
    """The referrals sent to a site's centre (never one still proposed or consented)."""
    seen = [status.value for status in states.SEEN_BY_DESTINATION]
    query = (
        _joined()
        .where(Referral.site_id == site_id, Referral.status.in_(seen))
        .order_by(Referral.id.desc())
        .limit(LIMIT)
    )
    return _sorted(_rows(session, query, now), now)


def list_for_focal_point(
    session: DbSession,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> list[Row]:
    """The focal point's centre's referrals; audited with their ids."""
    if not by.has_role(Role.SSC_FOCAL_POINT) or by.site_id is None:
        raise ReferralForbidden("Only a centre's focal point has a list of its referrals.")
    rows = list_for_site(session, by.site_id, now)
    audit.record(
        session,
        "referrals_listed",
        audit.Actor(label=by.username, staff_id=by.id),
        target_type="site",
        target_id=by.site_id,
        details={"referral_ids": [row.id for row in rows]},
        request=request,
    )
    return rows


def _overdue_query(now: dt.datetime) -> sa.Select[Referral, ContactRecord]:
    return (
        _joined()
        .where(
            Referral.due_at.is_not(None),
            Referral.due_at <= now,
            Referral.status != S.CLOSED.value,
        )
        .order_by(Referral.due_at, Referral.id)
        .limit(LIMIT)
    )


def list_overdue(
    session: DbSession,
    *,
    by: Staff,
    now: dt.datetime,
    site_id: int | None = None,
    request: audit.RequestInfo | None = None,
) -> list[Row]:
    """Overdue referrals: all of them (a site's, if given) for whoever the rules let see
    every one (`referral.overdue`: supervisors), otherwise the case worker's own; audited.

    A site's are those sent to its centre or made by its counsellors."""
    query = _overdue_query(now)
    who = permissions.who(by)
    if permissions.allows(permissions.rules(), "referral.overdue", who, permissions.What(), now):
        if site_id is not None:
            writers = sa.select(Staff.id).where(Staff.site_id == site_id)
            query = query.where(
                sa.or_(Referral.site_id == site_id, ContactRecord.counsellor_id.in_(writers))
            )
    elif by.has_role(Role.COUNSELLOR):
        query = query.where(ContactRecord.counsellor_id == by.id)
    else:
        raise ReferralForbidden("Overdue referrals are their counsellors' and supervisors'.")
    rows = _rows(session, query, now)
    audit.record(
        session,
        "referrals_overdue_viewed",
        audit.Actor(label=by.username, staff_id=by.id),
        target_type="site" if site_id is not None else None,
        target_id=site_id,
        details={"referral_ids": [row.id for row in rows]},
        request=request,
    )
    return rows


def timeline(session: DbSession, contact_record_ids: Iterable[int]) -> list[TimelineEntry]:
    """Every step of the referrals of these records, oldest first (for a case's timeline)."""
    ids = list(contact_record_ids)
    if not ids:
        return []
    query = (
        sa.select(ReferralStep, Referral)
        .join(Referral, Referral.id == ReferralStep.referral_id)
        .where(Referral.contact_record_id.in_(ids))
        .order_by(ReferralStep.at, ReferralStep.id)
    )
    return [
        TimelineEntry(
            referral_id=referral.id,
            contact_record_id=referral.contact_record_id,
            kind=referral.kind,
            status=step.status,
            at=step.at,
            by_id=step.by_id,
        )
        for step, referral in session.execute(query).all()
    ]
