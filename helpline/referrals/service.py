"""Take a referral's steps, open it, reveal the person's number: checked and audited.

Pure of Flask. Each function takes a session, the acting member of staff and the time,
checks the deployment's rules (data/permissions.yaml: `referral.*`) and the loop's
(`states`), and appends audit entries in the caller's transaction; the caller commits
once. Audit details name referrals, statuses and sites, never a note or a number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.models import Referral, ReferralStep, Site, Staff
from helpline.models.base import DbSession
from helpline.models.enums import ContactPreference, ContactStatus, ReferralKind
from helpline.models.enums import ReferralStatus as S
from helpline.records import service as records
from helpline.records.catalog import DEFAULT_ACT_WITHIN_DAYS, Catalog
from helpline.referrals import states

NOTE_MAX = 2000
SERVICE_WHAT_MAX = 200


class ReferralError(Exception):
    """An action on a referral was refused; the message is safe to show and to log."""


class ReferralNotFound(ReferralError):
    """No such referral (or not one this member of staff may know of)."""


class ReferralForbidden(ReferralError):
    """The referral exists, but this member of staff may not do that to it."""


@dataclasses.dataclass(frozen=True)
class Consent:
    """What the person agreed to: when the centre may call them, and in which language."""

    contact_preference: str
    language: str


@dataclasses.dataclass(frozen=True)
class Service:
    """The service the destination provided: on which day, what, and a note if any."""

    on: dt.date
    what: str
    note: str = ""


# --- who may do what --------------------------------------------------------------------


def subject(referral: Referral) -> permissions.What:
    """A referral as the rules see it: its case worker owns it; its centre's site is in
    scope only once it is sent, so a focal point never sees a referral still proposed."""
    record = referral.contact_record
    seen = states.status_of(referral.status) in states.SEEN_BY_DESTINATION
    return permissions.What(
        owner_id=record.counsellor_id,
        site_id=referral.site_id if seen else None,
        province=referral.province,
        is_draft=record.status == ContactStatus.DRAFT.value,
    )


def allows(action: str, referral: Referral, staff: Staff, now: dt.datetime) -> bool:
    return permissions.allows(
        permissions.rules(), action, permissions.who(staff), subject(referral), now
    )


def step_action(referral: Referral, step: S) -> str:
    """The permission a step needs: the case worker's, or the destination's. A destination
    that is not one of the helpline's sites answers through the case worker."""
    if states.party(step) is states.Party.DESTINATION and referral.site_id is not None:
        return "referral.act"
    return "referral.manage"


def may_take(referral: Referral, step: S, staff: Staff, now: dt.datetime) -> bool:
    """The step can follow the referral's status and this member of staff may take it."""
    if step not in states.NEXT[states.status_of(referral.status)]:
        return False
    if referral.contact_record.status == ContactStatus.DRAFT.value:
        return False  # a draft's referrals are still being written
    return allows(step_action(referral, step), referral, staff, now)


def next_steps(referral: Referral, staff: Staff, now: dt.datetime) -> list[S]:
    """The steps this member of staff may take now, in the loop's order."""
    return [step for step in S if may_take(referral, step, staff, now)]


def _actor(staff: Staff) -> audit.Actor:
    return audit.Actor(label=staff.username, staff_id=staff.id)


# --- finding and opening ----------------------------------------------------------------


def get_referral(session: DbSession, referral_id: int, *, for_update: bool = False) -> Referral:
    query = sa.select(Referral).where(Referral.id == referral_id)
    if for_update:
        query = query.with_for_update()
    referral = session.scalars(query).one_or_none()
    if referral is None:
        raise ReferralNotFound("There is no such referral.")
    return referral


def open_referral(
    session: DbSession,
    referral: Referral,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> None:
    """Check that `by` may read the referral; every view is audited."""
    if not allows("referral.read", referral, by, now):
        raise ReferralForbidden("This referral is not yours to see.")
    audit.record(
        session,
        "referral_viewed",
        _actor(by),
        target_type="referral",
        target_id=referral.id,
        details={"status": referral.status},
        request=request,
    )


def reveal_number(
    session: DbSession,
    referral: Referral,
    *,
    by: Staff,
    now: dt.datetime,
    request: audit.RequestInfo | None = None,
) -> str:
    """The person's whole number, for the focal point of the centre it was sent to; audited."""
    if not allows("referral.reveal_number", referral, by, now):
        raise ReferralForbidden("Only the centre this referral was sent to can see the number.")
    try:
        return records.reveal_caller_number(
            session,
            referral.contact_record.caller_id,
            by=by,
            details={"referral_id": referral.id},
            request=request,
        )
    except records.RecordNotFound:
        raise ReferralNotFound("This referral has no number.") from None


# --- the steps --------------------------------------------------------------------------


def _site_for(session: DbSession, referral: Referral, catalog: Catalog) -> int | None:
    """The helpline's site of an SSC the directory links to one (kept when set before)."""
    if referral.site_id is not None:
        return referral.site_id
    if referral.kind != ReferralKind.SOCIAL_SERVICE_CENTRE.value or not referral.province:
        return None
    centre = catalog.centre(referral.province, referral.destination or "")
    if centre is None or centre.site_code is None:
        return None
    return session.scalar(
        sa.select(Site.id).where(Site.code == centre.site_code, Site.is_active.is_(True))
    )


def _take(
    session: DbSession,
    referral: Referral,
    step: S,
    *,
    by: Staff,
    now: dt.datetime,
    catalog: Catalog,
    note: str = "",
    request: audit.RequestInfo | None = None,
    details: dict[str, Any] | None = None,
) -> ReferralStep:
    try:
        states.check_step(referral.status, step)
    except states.StepRefused as error:
        raise ReferralError(str(error)) from None
    if not may_take(referral, step, by, now):
        raise ReferralForbidden("You may not take this step on this referral.")
    note = note.strip()
    if step in states.NEEDS_NOTE and not note:
        raise ReferralError("Give a reason.")
    if len(note) > NOTE_MAX:
        raise ReferralError(f"Keep the note under {NOTE_MAX} characters.")
    days = catalog.act_within_days(referral.kind) or DEFAULT_ACT_WITHIN_DAYS
    referral.status = step.value
    referral.status_at = now
    referral.due_at = states.due_after(step, now, days)
    row = ReferralStep(status=step.value, at=now, by_id=by.id, note_encrypted=note or None)
    referral.steps.append(row)
    session.flush()
    audit.record(
        session,
        "referral_step",
        _actor(by),
        target_type="referral",
        target_id=referral.id,
        details={
            "status": step.value,
            "site_id": referral.site_id,
            "with_note": bool(note),
            **(details or {}),
        },
        request=request,
    )
    return row


def record_consent(
    session: DbSession,
    referral: Referral,
    consent: Consent,
    *,
    by: Staff,
    now: dt.datetime,
    catalog: Catalog,
    request: audit.RequestInfo | None = None,
) -> ReferralStep:
    """The person agreed that their data be shared with the destination: when it may call
    them and in which language. Recorded by the case worker."""
    if consent.contact_preference not in {p.value for p in ContactPreference}:
        raise ReferralError("Choose when the person may be called.")
    if not consent.language or len(consent.language) > 8:
        raise ReferralError("Choose the person's language.")
    referral.contact_preference = consent.contact_preference
    referral.language = consent.language
    return _take(session, referral, S.CONSENTED, by=by, now=now, catalog=catalog, request=request)


def send(
    session: DbSession,
    referral: Referral,
    *,
    by: Staff,
    now: dt.datetime,
    catalog: Catalog,
    request: audit.RequestInfo | None = None,
) -> ReferralStep:
    """Send a consented referral; an SSC linked to a site reaches its focal point."""
    if states.status_of(referral.status) is S.CONSENTED:
        referral.site_id = _site_for(session, referral, catalog)
    return _take(session, referral, S.SENT, by=by, now=now, catalog=catalog, request=request)


def accept(
    session: DbSession,
    referral: Referral,
    *,
    by: Staff,
    now: dt.datetime,
    catalog: Catalog,
    request: audit.RequestInfo | None = None,
) -> ReferralStep:
    return _take(session, referral, S.ACCEPTED, by=by, now=now, catalog=catalog, request=request)


def decline(
    session: DbSession,
    referral: Referral,
    reason: str,
    *,
    by: Staff,
    now: dt.datetime,
    catalog: Catalog,
    request: audit.RequestInfo | None = None,
) -> ReferralStep:
    """Decline with a reason (kept encrypted; the case worker reads it)."""
    return _take(
        session,
        referral,
        S.DECLINED,
        by=by,
        now=now,
        catalog=catalog,
        note=reason,
        request=request,
    )


def record_service(
    session: DbSession,
    referral: Referral,
    service: Service,
    *,
    by: Staff,
    now: dt.datetime,
    catalog: Catalog,
    request: audit.RequestInfo | None = None,
) -> ReferralStep:
    """The service provided: the day (not in the future, not before sending), what, a note."""
    what = service.what.strip()
    if not what or len(what) > SERVICE_WHAT_MAX:
        raise ReferralError(f"Say what was provided, in up to {SERVICE_WHAT_MAX} characters.")
    sent = next((s.at for s in referral.steps if s.status == S.SENT.value), None)
    if service.on > now.date() or (sent is not None and service.on < sent.date()):
        raise ReferralError("The day of the service is between sending and today.")
    if len(service.note) > NOTE_MAX:
        raise ReferralError(f"Keep the note under {NOTE_MAX} characters.")
    step = _take(
        session,
        referral,
        S.SERVICE_PROVIDED,
        by=by,
        now=now,
        catalog=catalog,
        request=request,
    )
    referral.service_on = service.on
    referral.service_what = what
    referral.service_note_encrypted = service.note.strip() or None
    return step


def close(
    session: DbSession,
    referral: Referral,
    note: str = "",
    *,
    by: Staff,
    now: dt.datetime,
    catalog: Catalog,
    request: audit.RequestInfo | None = None,
) -> ReferralStep:
    """Close the loop (the case worker): after the service or a decline, or before sending
    when the person said no."""
    return _take(
        session, referral, S.CLOSED, by=by, now=now, catalog=catalog, note=note, request=request
    )
