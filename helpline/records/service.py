"""Keep contact records: drafts, finalising, edits with versions, follow-ups, the number.

Pure of Flask. Each function takes a session, the acting member of staff and the time,
checks who may do what, and appends audit entries in the caller's transaction; the
caller commits once. Audit details name records, versions and changed fields, never
note text or a number.

Rules:
- A counsellor writes the record of a call they took, or of an out-of-call contact.
- A draft saves in place, as often as needed, with no version.
- Finalising checks the required fields and writes version 1; every later edit that
  changes something writes the next version. Versions are immutable snapshots.
- Who may read, write, edit and reveal is decided by the deployment's rules
  (`helpline.auth.permissions`, data/permissions.yaml). By default the owner may edit a
  finalised record for 24 hours, after which it is read-only to them, and supervisors
  read every record and never edit one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session

from helpline.audit import chain as audit
from helpline.auth import permissions
from helpline.callbacks import service as callbacks
from helpline.models import (
    Call,
    CallbackRequest,
    Caller,
    ContactRecord,
    ContactRecordVersion,
    Referral,
    ReferralStep,
    Staff,
    utcnow,
)
from helpline.models.base import DbSession
from helpline.models.enums import (
    CallbackReason,
    CallbackStatus,
    ContactStatus,
    ContactType,
    ReferralKind,
    ReferralStatus,
    RiskLevel,
    Role,
)
from helpline.records.catalog import (
    DEFAULT_ACT_WITHIN_DAYS,
    MAX_CENTRE,
    MAX_PROVINCE,
    Catalog,
)
from helpline.referrals import states as referral_states

FOLLOW_UP_HORIZON = dt.timedelta(days=30)  # how far ahead one can be scheduled
SUMMARY_MAX = 20_000
DESTINATION_MAX = 200
MAX_REFERRALS = 10
HIGH_RISK = frozenset({RiskLevel.HIGH.value, RiskLevel.IMMINENT.value})
# A draft's call type or risk level that has not been chosen yet. Finalised records and
# their versions always hold a value of ContactType and RiskLevel.
UNSET = ""
OPEN_CALLBACK = (
    CallbackStatus.PENDING.value,
    CallbackStatus.CLAIMED.value,
    CallbackStatus.DIALLING.value,
)


class RecordError(Exception):
    """An action on a record was refused; the message is safe to show and to log."""


class RecordNotFound(RecordError):
    """No such record, call or caller (or not one this member of staff may know of)."""


class RecordForbidden(RecordError):
    """The record exists, but this member of staff may not do that to it."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """A field that stops a save, named as the console's form names it."""

    field: str
    message: str


class RecordInvalid(RecordError):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} field(s) need attention")


@dataclasses.dataclass(frozen=True)
class ReferralInput:
    """One referral row: an SSC names a province and a centre; others a destination."""

    kind: str
    province: str = ""
    centre: str = ""
    destination: str = ""


@dataclasses.dataclass(frozen=True)
class FollowUpInput:
    """A follow-up call at a wall-clock time in the line's time zone."""

    local_at: dt.datetime  # naive: a local date and time
    consent: bool = False


@dataclasses.dataclass(frozen=True)
class RecordInput:
    """What the counsellor entered; empty strings and None mean "not answered"."""

    call_type: str = UNSET
    categories: tuple[str, ...] = ()
    summary: str = ""
    risk_level: str = UNSET
    safety_plan: bool | None = None
    referrals: tuple[ReferralInput, ...] = ()
    follow_up: FollowUpInput | None = None
    # The version the form was opened at; a save from an older one is refused.
    expected_version: int | None = None


# --- who may do what --------------------------------------------------------------------


def is_owner(record: ContactRecord, staff: Staff) -> bool:
    """The counsellor who wrote the record (a fact; what they may do is in the rules)."""
    return record.counsellor_id == staff.id and staff.has_role(Role.COUNSELLOR)


def record_subject(record: ContactRecord) -> permissions.What:
    """A record as the permission rules see it: its counsellor, their centre and province,
    whether it is a draft, and the edit window's start (finalising)."""
    session = object_session(record)
    writer = session.get(Staff, record.counsellor_id) if session is not None else None
    site = writer.site if writer is not None else None
    return permissions.What(
        owner_id=record.counsellor_id,
        site_id=site.id if site is not None else None,
        province=site.province if site is not None else None,
        since=record.finalised_at,
        is_draft=record.status == ContactStatus.DRAFT.value,
    )


def _allows(action: str, staff: Staff, what: permissions.What, now: dt.datetime) -> bool:
    return permissions.allows(permissions.rules(), action, permissions.who(staff), what, now)


def can_read(record: ContactRecord, staff: Staff, now: dt.datetime | None = None) -> bool:
    """By default the owner and supervisors read a record, its summary and its versions."""
    return _allows("record.read", staff, record_subject(record), now or utcnow())


def editable_until(record: ContactRecord) -> dt.datetime | None:
    """When the owner's edit window closes; None while the record is a draft."""
    hours = permissions.window_hours(permissions.rules(), "record.edit")
    if record.finalised_at is None or hours is None:
        return None
    return record.finalised_at + dt.timedelta(hours=hours)


def can_edit(record: ContactRecord, staff: Staff, now: dt.datetime) -> bool:
    """By default the owner, while a draft or for 24 hours after finalising."""
    return _allows("record.edit", staff, record_subject(record), now)


def can_reveal(record: ContactRecord, staff: Staff, now: dt.datetime | None = None) -> bool:
    """By default the owner of the record and supervisors see the caller's whole number."""
    return record.caller_id is not None and _allows(
        "record.reveal_number", staff, record_subject(record), now or utcnow()
    )


def may_view_caller(
    session: DbSession, caller_id: int, staff: Staff, now: dt.datetime | None = None
) -> bool:
    """By default supervisors, and counsellors who took a call from or wrote a record about
    the caller (the rules' `owner`)."""
    moment = now or utcnow()
    if _allows("caller.history", staff, permissions.What(), moment):
        return True
    wrote = sa.select(ContactRecord.id).where(
        ContactRecord.caller_id == caller_id, ContactRecord.counsellor_id == staff.id
    )
    took = sa.select(Call.id).where(Call.caller_id == caller_id, Call.counsellor_id == staff.id)
    had_contact = (
        session.scalars(wrote.limit(1)).first() is not None
        or session.scalars(took.limit(1)).first() is not None
    )
    return had_contact and _allows(
        "caller.history", staff, permissions.What(owner_id=staff.id), moment
    )


def _actor(staff: Staff) -> audit.Actor:
    return audit.Actor(label=staff.username, staff_id=staff.id)


def _require_owner(record: ContactRecord, staff: Staff) -> None:
    if not _allows("record.write", staff, record_subject(record), utcnow()):
        raise RecordForbidden("Only the counsellor who wrote this record can change it.")


# --- finding ----------------------------------------------------------------------------


def get_record(session: DbSession, record_id: int, *, for_update: bool = False) -> ContactRecord:
    query = sa.select(ContactRecord).where(ContactRecord.id == record_id)
    if for_update:
        query = query.with_for_update()
    record = session.scalars(query).one_or_none()
    if record is None:
        raise RecordNotFound("There is no such record.")
    return record


def find_record_for_call(session: DbSession, call_id: int) -> ContactRecord | None:
    return session.scalars(
        sa.select(ContactRecord).where(ContactRecord.call_id == call_id)
    ).one_or_none()


def list_my_records(session: DbSession, staff: Staff, limit: int = 50) -> list[ContactRecord]:
    return list(
        session.scalars(
            sa.select(ContactRecord)
            .where(ContactRecord.counsellor_id == staff.id)
            .order_by(ContactRecord.created_at.desc(), ContactRecord.id.desc())
            .limit(limit)
        )
    )


def list_calls_awaiting_record(session: DbSession, staff: Staff, limit: int = 20) -> list[Call]:
    """Calls this counsellor answered that have no record yet, newest first."""
    return list(
        session.scalars(
            sa.select(Call)
            .outerjoin(ContactRecord, ContactRecord.call_id == Call.id)
            .where(
                Call.counsellor_id == staff.id,
                Call.answered_at.is_not(None),
                ContactRecord.id.is_(None),
            )
            .order_by(Call.started_at.desc())
            .limit(limit)
        )
    )


def list_versions(
    session: DbSession, record: ContactRecord
) -> list[tuple[ContactRecordVersion, str]]:
    """The record's versions, oldest first, with the name of who saved each."""
    rows = session.execute(
        sa.select(ContactRecordVersion, Staff.display_name)
        .join(Staff, Staff.id == ContactRecordVersion.edited_by_id)
        .where(ContactRecordVersion.contact_record_id == record.id)
        .order_by(ContactRecordVersion.version)
    ).all()
    return [(version, name) for version, name in rows]


def open_follow_up(session: DbSession, record: ContactRecord) -> CallbackRequest | None:
    return session.scalars(
        sa.select(CallbackRequest)
        .where(
            CallbackRequest.contact_record_id == record.id,
            CallbackRequest.reason == CallbackReason.FOLLOW_UP.value,
            CallbackRequest.status.in_(OPEN_CALLBACK),
        )
        .order_by(CallbackRequest.id.desc())
        .limit(1)
    ).first()


# --- checks (pure) ----------------------------------------------------------------------


def check_draft(
    data: RecordInput, catalog: Catalog, record: ContactRecord | None = None
) -> list[Problem]:
    """What a draft cannot hold: values outside the vocabularies, or too long."""
    problems: list[Problem] = []
    if data.call_type not in (UNSET, *(t.value for t in ContactType)):
        problems.append(Problem("call_type", "Choose one of the listed call types."))
    if data.risk_level not in (UNSET, *(r.value for r in RiskLevel)):
        problems.append(Problem("risk_level", "Choose one of the listed risk levels."))
    kept = set(record.categories) if record is not None else set()
    unknown = sorted(set(data.categories) - set(catalog.by_code) - kept)
    if unknown:
        problems.append(Problem("categories", f"Unknown categories: {', '.join(unknown)}."))
    if len(data.summary) > SUMMARY_MAX:
        problems.append(Problem("summary", f"Keep the summary under {SUMMARY_MAX} characters."))
    if len(data.referrals) > MAX_REFERRALS:
        problems.append(Problem("referrals", f"Record at most {MAX_REFERRALS} referrals."))
    kinds = {k.value for k in ReferralKind}
    for n, referral in enumerate(data.referrals):
        field = f"referrals-{n}"
        if referral.kind and referral.kind not in kinds:
            problems.append(Problem(f"{field}-kind", "Choose one of the listed kinds."))
        if len(referral.province) > MAX_PROVINCE:
            problems.append(Problem(f"{field}-province", "Choose a province from the list."))
        if len(referral.centre) > MAX_CENTRE:
            problems.append(Problem(f"{field}-centre", "Choose a centre from the list."))
        if len(referral.destination) > DESTINATION_MAX:
            problems.append(
                Problem(f"{field}-destination", f"Keep it under {DESTINATION_MAX} characters.")
            )
    return problems


def check_final(
    data: RecordInput, catalog: Catalog, record: ContactRecord | None = None
) -> list[Problem]:
    """Everything a finalised record needs; a draft's problems included."""
    problems = check_draft(data, catalog, record)
    if data.call_type == UNSET:
        problems.append(Problem("call_type", "Choose the call type."))
    if data.call_type != ContactType.DATA.value:
        return problems  # the other fields are not kept for other types of call
    if not data.categories:
        problems.append(Problem("categories", "Tick at least one category."))
    if not data.summary.strip():
        problems.append(Problem("summary", "Write a summary of the contact."))
    if data.risk_level == UNSET:
        problems.append(Problem("risk_level", "Choose a risk level."))
    elif data.risk_level in HIGH_RISK and data.safety_plan is None:
        problems.append(
            Problem("safety_plan", "Say whether a safety plan was made: the risk is high.")
        )
    kept = {(r.province, r.destination) for r in record.referrals} if record is not None else set()
    for n, referral in enumerate(data.referrals):
        problems += _referral_problems(f"referrals-{n}", referral, catalog, kept)
    return problems


def _referral_problems(
    field: str,
    referral: ReferralInput,
    catalog: Catalog,
    kept: set[tuple[str | None, str | None]],
) -> list[Problem]:
    if not referral.kind:
        if referral.province or referral.centre or referral.destination.strip():
            return [Problem(f"{field}-kind", "Choose the kind of referral, or clear the row.")]
        return []
    if referral.kind != ReferralKind.SOCIAL_SERVICE_CENTRE.value:
        return []
    if not referral.province:
        return [Problem(f"{field}-province", "Choose the province of the centre.")]
    if not referral.centre:
        return [Problem(f"{field}-centre", "Choose the centre.")]
    if (referral.province, referral.centre) in kept:
        return []  # saved before; the directory may have changed since
    if referral.province not in catalog.provinces:
        return [Problem(f"{field}-province", "Choose a province from the directory.")]
    if catalog.centre(referral.province, referral.centre) is None:
        return [Problem(f"{field}-centre", f"Choose a centre in {referral.province}.")]
    return []


def follow_up_due(local_at: dt.datetime, timezone: str) -> dt.datetime:
    """A local wall-clock time in the line's time zone, as an aware UTC time."""
    return local_at.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def _follow_up_problems(
    session: DbSession,
    record: ContactRecord,
    follow_up: FollowUpInput,
    now: dt.datetime,
    timezone: str,
) -> list[Problem]:
    if record.caller_id is None:
        return [Problem("follow_up_at", "A follow-up needs the caller's number; there is none.")]
    problems = []
    due = follow_up_due(follow_up.local_at, timezone)
    if due <= now:
        problems.append(Problem("follow_up_at", "Choose a time in the future."))
    elif due > now + FOLLOW_UP_HORIZON:
        problems.append(Problem("follow_up_at", "Choose a time within the next 30 days."))
    if _follow_up_language(session, record) is None:
        problems.append(
            Problem("follow_up_at", "The caller's language is not known, so no one can call back.")
        )
    if open_follow_up(session, record) is not None:
        problems.append(Problem("follow_up_at", "A follow-up is already scheduled."))
    if not follow_up.consent:
        problems.append(Problem("follow_up_consent", "Confirm the caller agreed to a call back."))
    return problems


def _follow_up_language(session: DbSession, record: ContactRecord) -> str | None:
    call = session.get(Call, record.call_id) if record.call_id is not None else None
    caller = session.get(Caller, record.caller_id) if record.caller_id is not None else None
    return (call.language if call else None) or (caller.preferred_language if caller else None)


# --- changes ----------------------------------------------------------------------------


def create_draft(
    session: DbSession,
    *,
    by: Staff,
    now: dt.datetime,
    call: Call | None = None,
    request: audit.RequestInfo | None = None,
) -> ContactRecord:
    """Start the record of a call the counsellor took, or of an out-of-call contact.

    A call has one record: when it exists already, it is returned unchanged.
    """
    if not by.has_role(Role.COUNSELLOR):
        raise RecordForbidden("Only counsellors write contact records.")
    if call is not None:
        if call.counsellor_id != by.id:
            raise RecordForbidden("Only the counsellor who took this call can write its record.")
        existing = find_record_for_call(session, call.id)
        if existing is not None:
            return existing
    record = ContactRecord(
        call_id=call.id if call else None,
        caller_id=call.caller_id if call else None,
        counsellor_id=by.id,
        status=ContactStatus.DRAFT.value,
        call_type=UNSET,
        categories=[],
        risk_level=UNSET,
        is_safety_plan_made=False,
        version=0,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:  # the same call's record, created a moment ago by another request
        existing = find_record_for_call(session, call.id) if call is not None else None
        if existing is None:
            raise
        return existing
    details: dict[str, Any] = {"call_id": call.id} if call else {"out_of_call": True}
    audit.record(
        session,
        "contact_record_created",
        _actor(by),
        target_type="contact_record",
        target_id=record.id,
        details=details,
        request=request,
    )
    return record


def save_draft(
    session: DbSession,
    record: ContactRecord,
    data: RecordInput,
    *,
    by: Staff,
    catalog: Catalog,
    now: dt.datetime,
    timezone: str,
) -> None:
    """Replace a draft's fields in place (autosave and "Save draft"); no version."""
    _require_owner(record, by)
    if record.status != ContactStatus.DRAFT.value:
        raise RecordForbidden("This record is final: save changes with the Save button.")
    problems = check_draft(data, catalog, record)
    if problems:
        raise RecordInvalid(problems)
    _apply(record, data, final=False)
    # A draft keeps the planned follow-up time; the call is scheduled when it is finalised.
    record.follow_up_at = (
        follow_up_due(data.follow_up.local_at, timezone) if data.follow_up else None
    )
    record.updated_at = now


def finalise(
    session: DbSession,
    record: ContactRecord,
    data: RecordInput,
    *,
    by: Staff,
    catalog: Catalog,
    now: dt.datetime,
    timezone: str,
    request: audit.RequestInfo | None = None,
) -> ContactRecordVersion:
    """Check the required fields, make the draft final and write version 1."""
    _require_owner(record, by)
    if record.status != ContactStatus.DRAFT.value:
        raise RecordError("This record is final already.")
    _check(session, record, data, catalog, now, timezone)
    _apply(record, data, final=True)
    _start_referrals(record, by, catalog, now)
    record.status = ContactStatus.FINAL.value
    record.finalised_at = now
    record.follow_up_at = None  # a draft's planned time; scheduled below if still wanted
    _settle_follow_up(session, record, data, by, now, timezone, request)
    return _new_version(session, record, by, now, 1, "contact_record_finalised", {}, request)


def edit(
    session: DbSession,
    record: ContactRecord,
    data: RecordInput,
    *,
    by: Staff,
    catalog: Catalog,
    now: dt.datetime,
    timezone: str,
    request: audit.RequestInfo | None = None,
) -> ContactRecordVersion | None:
    """Change a finalised record within its edit window; a new version if anything changed."""
    _require_owner(record, by)
    if record.status != ContactStatus.FINAL.value:
        raise RecordError("Finalise the draft first.")
    if not can_edit(record, by, now):
        raise RecordForbidden("The 24-hour edit window has ended: this record is read-only.")
    if data.expected_version is not None and data.expected_version != record.version:
        stale = (
            f"This record was saved again (version {record.version}) after you opened "
            "it. Reload it and make your change again."
        )
        raise RecordInvalid([Problem("version", stale)])
    _check(session, record, data, catalog, now, timezone)
    before = _state(record)
    _apply(record, data, final=True)
    _start_referrals(record, by, catalog, now)
    _settle_follow_up(session, record, data, by, now, timezone, request)
    changed = [name for name, value in _state(record).items() if before[name] != value]
    if not changed:
        return None
    number, extra = record.version + 1, {"changed": changed}
    return _new_version(session, record, by, now, number, "contact_record_edited", extra, request)


def _new_version(
    session: DbSession,
    record: ContactRecord,
    by: Staff,
    now: dt.datetime,
    number: int,
    action: str,
    extra: dict[str, Any],
    request: audit.RequestInfo | None,
) -> ContactRecordVersion:
    """Make `number` the record's version (1 when finalised), snapshot it, audit the action
    with the version number and the `extra` details."""
    record.version = number
    record.updated_at = now
    version = _snapshot(session, record, by, now)
    audit.record(
        session,
        action,
        _actor(by),
        target_type="contact_record",
        target_id=record.id,
        details={"version": number, **extra},
        request=request,
    )
    return version


def schedule_follow_up(
    session: DbSession,
    record: ContactRecord,
    follow_up: FollowUpInput,
    *,
    by: Staff,
    now: dt.datetime,
    timezone: str,
    request: audit.RequestInfo | None = None,
) -> CallbackRequest:
    """Ask for a follow-up call by this counsellor at a local time, in the call's language.

    Records the caller's consent to it. Due at the chosen time; expires three days later.
    """
    _require_owner(record, by)
    problems = _follow_up_problems(session, record, follow_up, now, timezone)
    language = _follow_up_language(session, record)
    if problems or record.caller_id is None or language is None:
        raise RecordInvalid(problems)
    call = session.get(Call, record.call_id) if record.call_id is not None else None
    due = follow_up_due(follow_up.local_at, timezone)
    wanted = callbacks.FollowUp(
        caller_id=record.caller_id,
        language=language,
        due=due,
        staff_id=by.id,
        call_id=record.call_id,
        contact_record_id=record.id,
        topic=call.topic if call else None,
    )
    callback = callbacks.request_follow_up(session, wanted, now)
    record.follow_up_at = due
    session.flush()
    audit.record(
        session,
        "follow_up_scheduled",
        _actor(by),
        target_type="callback_request",
        target_id=callback.id,
        details={"contact_record_id": record.id, "due_from": due.isoformat()},
        request=request,
    )
    return callback


def open_record(
    session: DbSession,
    record: ContactRecord,
    *,
    by: Staff,
    request: audit.RequestInfo | None = None,
) -> None:
    """Check that `by` may read the record; every reading is audited, its author's too
    (marked `own`), so the log answers "who saw this record" completely."""
    if not can_read(record, by):
        raise RecordForbidden("This record belongs to another counsellor.")
    audit.record(
        session,
        "contact_record_viewed",
        _actor(by),
        target_type="contact_record",
        target_id=record.id,
        details={"own": True} if is_owner(record, by) else None,
        request=request,
    )


def reveal_number(
    session: DbSession,
    record: ContactRecord,
    *,
    by: Staff,
    request: audit.RequestInfo | None = None,
) -> str:
    """The caller's whole number, for the record's owner or a supervisor; audited."""
    if not can_reveal(record, by):
        raise RecordForbidden("Only the counsellor who wrote this record can see the number.")
    return reveal_caller_number(
        session, record.caller_id, by=by, details={"contact_record_id": record.id}, request=request
    )


def reveal_caller_number(
    session: DbSession,
    caller_id: int | None,
    *,
    by: Staff,
    details: dict[str, Any],
    request: audit.RequestInfo | None = None,
) -> str:
    """A caller's whole number, audited as `number_revealed` with `details` (what it was
    revealed on). The caller checks that `by` may see it."""
    caller = session.get(Caller, caller_id) if caller_id is not None else None
    if caller is None or not caller.number_encrypted:
        raise RecordNotFound("There is no number.")
    audit.record(
        session,
        "number_revealed",
        _actor(by),
        target_type="caller",
        target_id=caller.id,
        details=details,
        request=request,
    )
    return caller.number_encrypted


def caller_history(
    session: DbSession,
    caller: Caller,
    *,
    by: Staff,
    request: audit.RequestInfo | None = None,
) -> list[ContactRecord]:
    """Every record about this caller (found through the blind index), newest first; audited."""
    if not may_view_caller(session, caller.id, by):
        raise RecordForbidden("You have had no contact with this caller.")
    records = list(
        session.scalars(
            sa.select(ContactRecord)
            .where(ContactRecord.caller_id == caller.id)
            .order_by(ContactRecord.created_at.desc(), ContactRecord.id.desc())
        )
    )
    audit.record(
        session,
        "caller_history_viewed",
        _actor(by),
        target_type="caller",
        target_id=caller.id,
        details={"contacts": len(records)},
        request=request,
    )
    return records


# --- helpers ----------------------------------------------------------------------------


def _check(
    session: DbSession,
    record: ContactRecord,
    data: RecordInput,
    catalog: Catalog,
    now: dt.datetime,
    timezone: str,
) -> None:
    problems = check_final(data, catalog, record)
    if data.follow_up is not None:
        problems += _follow_up_problems(session, record, data.follow_up, now, timezone)
    if problems:
        raise RecordInvalid(problems)


def _apply(record: ContactRecord, data: RecordInput, *, final: bool) -> None:
    record.call_type = data.call_type
    if final and data.call_type != ContactType.DATA.value:
        # Silent, hang-up, abusive, wrong-number and information-only calls keep nothing else.
        record.categories = []
        record.summary_encrypted = None
        record.risk_level = RiskLevel.NONE.value
        record.is_safety_plan_made = False
        _set_referrals(record, [])
        return
    record.categories = sorted(set(data.categories))
    record.summary_encrypted = data.summary.strip() or None
    record.risk_level = data.risk_level
    record.is_safety_plan_made = bool(data.safety_plan)
    _set_referrals(record, [r for r in data.referrals if r.kind])


def _referral_key(referral: ReferralInput) -> tuple[str, str | None, str | None]:
    if referral.kind == ReferralKind.SOCIAL_SERVICE_CENTRE.value:
        destination = referral.centre
    else:
        destination = referral.destination.strip()
    return referral.kind, referral.province or None, destination or None


def _set_referrals(record: ContactRecord, wanted: Sequence[ReferralInput]) -> None:
    """Keep the rows that did not change (their status and time), replace the rest.

    A referral past `proposed` (consent recorded, sent, ...) is never dropped by an edit:
    its loop goes on from the referral's own page (helpline/referrals)."""
    spare = list(record.referrals)
    rows = []
    for referral in wanted:
        kind, province, destination = _referral_key(referral)
        same = next(
            (
                r
                for r in spare
                if (r.kind, r.province, r.destination) == (kind, province, destination)
            ),
            None,
        )
        if same is not None:
            spare.remove(same)
            rows.append(same)
        else:
            rows.append(
                Referral(
                    kind=kind,
                    province=province,
                    destination=destination,
                    status=ReferralStatus.PROPOSED.value,
                )
            )
    rows += [r for r in spare if (r.status or ReferralStatus.PROPOSED) != ReferralStatus.PROPOSED]
    record.referrals = rows


def _start_referrals(record: ContactRecord, by: Staff, catalog: Catalog, now: dt.datetime) -> None:
    """A referral of a final record is proposed by its counsellor now: its first step, and
    the time by which the person's consent is due (data/referrals.yaml)."""
    for referral in record.referrals:
        if referral.steps or referral.status != ReferralStatus.PROPOSED.value:
            continue
        days = catalog.act_within_days(referral.kind) or DEFAULT_ACT_WITHIN_DAYS
        referral.status_at = now
        referral.due_at = referral_states.due_after(ReferralStatus.PROPOSED, now, days)
        referral.steps.append(
            ReferralStep(status=ReferralStatus.PROPOSED.value, at=now, by_id=by.id)
        )


def _settle_follow_up(
    session: DbSession,
    record: ContactRecord,
    data: RecordInput,
    by: Staff,
    now: dt.datetime,
    timezone: str,
    request: audit.RequestInfo | None,
) -> None:
    """Schedule the follow-up the form asks for. Without one, follow_up_at keeps the due
    time of the last follow-up scheduled, if any."""
    if data.follow_up is not None:
        schedule_follow_up(
            session, record, data.follow_up, by=by, now=now, timezone=timezone, request=request
        )


def _state(record: ContactRecord) -> dict[str, Any]:
    """The fields an edit can change, for naming what changed (never their values)."""
    return {
        "call_type": record.call_type,
        "categories": sorted(record.categories),
        "summary": record.summary_encrypted,
        "risk_level": record.risk_level,
        "safety_plan": record.is_safety_plan_made,
        "referrals": sorted(
            (r.kind, r.province or "", r.destination or "") for r in record.referrals
        ),
        "follow_up": record.follow_up_at,
    }


def _snapshot(
    session: DbSession, record: ContactRecord, by: Staff, now: dt.datetime
) -> ContactRecordVersion:
    session.flush()  # new referral rows get their default status
    version = ContactRecordVersion(
        contact_record_id=record.id,
        version=record.version,
        edited_by_id=by.id,
        edited_at=now,
        status=record.status,
        call_type=record.call_type,
        categories=list(record.categories),
        summary_encrypted=record.summary_encrypted,
        risk_level=record.risk_level,
        is_safety_plan_made=record.is_safety_plan_made,
        follow_up_at=record.follow_up_at,
        referrals=[
            {
                "kind": r.kind,
                "province": r.province,
                "destination": r.destination,
                "status": r.status,
            }
            for r in record.referrals
        ],
    )
    session.add(version)
    session.flush()
    return version
