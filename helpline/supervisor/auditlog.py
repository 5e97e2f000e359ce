"""Search the access audit log: by who, what, which target and when, newest first.

Queries follow the log's indexes: (actor_id, occurred_at), (action, occurred_at),
(target_type, target_id) and occurred_at; pages are keyed by the unique `seq`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from helpline.models import AuditEntry, Staff
from helpline.models.base import DbSession
from helpline.supervisor import keyset
from helpline.supervisor.calllog import in_period
from helpline.supervisor.filters import Period, Problems, parse_period

AUDIT_FIELDS = ("actor", "action", "target_type", "target_id", "from", "to")

# What the code records today, offered as suggestions (the field takes any action).
KNOWN_ACTIONS = (
    "alert_acknowledged",
    "audit_purged",
    "audit_verified",
    "blind_index_rebuilt",
    "call_viewed",
    "callback_call_now",
    "callback_outcome_recorded",
    "callback_rescheduled",
    "caller_history_viewed",
    "calls_exported",
    "case_assigned",
    "case_contact_added",
    "case_needs_changed",
    "case_note_added",
    "case_opened",
    "case_person_linked",
    "case_person_unlinked",
    "case_plan_changed",
    "case_risk_assessed",
    "case_status_changed",
    "case_timeline_viewed",
    "case_viewed",
    "case_wellbeing_viewed",
    "caseload_viewed",
    "cases_searched",
    "contact_record_created",
    "contact_record_edited",
    "contact_record_finalised",
    "contact_record_viewed",
    "data_destroyed",
    "failed_callbacks_viewed",
    "follow_up_scheduled",
    "keys_rotated",
    "login",
    "login_failed",
    "login_throttled",
    "logout",
    "my_callbacks_viewed",
    "my_cases_viewed",
    "number_blocked",
    "number_revealed",
    "number_unblocked",
    "person_consent_recorded",
    "person_created",
    "person_number_linked",
    "person_number_unlinked",
    "person_profile_updated",
    "person_timeline_viewed",
    "person_viewed",
    "programme_report_downloaded",
    "programme_report_produced",
    "recording_played",
    "recordings_deleted_at_provider",
    "referral_step",
    "referral_viewed",
    "referrals_listed",
    "referrals_overdue_viewed",
    "retention_purge_requested",
    "site_created",
    "staff_activated",
    "staff_created",
    "staff_deactivated",
    "staff_password_set",
    "voicemail_handled",
    "voicemail_played",
    "wellbeing_recorded",
)

_ACTOR = re.compile(r"^[a-z0-9][a-z0-9:._@-]{0,119}$", re.IGNORECASE)
_ACTION = re.compile(r"^[a-z][a-z_]{0,47}$")
_TARGET_TYPE = re.compile(r"^[a-z][a-z_]{0,31}$")
_TARGET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


@dataclasses.dataclass(frozen=True)
class AuditFilter:
    period: Period = dataclasses.field(default_factory=Period)
    actor_id: int | None = None  # a member of staff, by username
    actor_label: str | None = None  # anyone else: "system", "cli:root", "anonymous"
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None


def _matching(
    args: Mapping[str, str], name: str, label: str, pattern: re.Pattern[str], problems: Problems
) -> str | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not pattern.match(raw):
        problems.add(f"{label}: use only letters, digits and the signs the log uses (. _ - :).")
        return None
    return raw


def parse_audit_filter(
    args: Mapping[str, str], session: DbSession, zone: ZoneInfo
) -> tuple[AuditFilter, list[str]]:
    """The audit search's filters, or messages saying what to correct."""
    problems = Problems()
    period = parse_period(args, zone, problems)
    actor = _matching(args, "actor", "Who", _ACTOR, problems)
    action = _matching(args, "action", "Action", _ACTION, problems)
    target_type = _matching(args, "target_type", "Target type", _TARGET_TYPE, problems)
    target_id = _matching(args, "target_id", "Target id", _TARGET_ID, problems)
    if target_id is not None and target_type is None:
        problems.add("Target id: give the target type too, such as call or staff.")
    actor_id = None
    if actor is not None:
        actor = actor.lower()  # usernames and system labels are lower case
        actor_id = session.scalar(sa.select(Staff.id).where(Staff.username == actor))
    found = AuditFilter(
        period=period,
        actor_id=actor_id,
        actor_label=actor if actor_id is None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
    )
    return found, problems.messages


def _search(found: AuditFilter) -> sa.Select[Any]:
    conditions = in_period(AuditEntry.occurred_at, found.period)
    equal = (
        (AuditEntry.actor_id, found.actor_id),
        (AuditEntry.actor_label, found.actor_label),
        (AuditEntry.action, found.action),
        (AuditEntry.target_type, found.target_type),
        (AuditEntry.target_id, found.target_id),
    )
    conditions += [column == value for column, value in equal if value is not None]
    return sa.select(AuditEntry).where(*conditions)


def page(
    session: DbSession,
    found: AuditFilter,
    size: int,
    after: keyset.Bound | None = None,
    before: keyset.Bound | None = None,
) -> keyset.Page:
    """A page of entries, newest first."""
    return keyset.fetch(
        session,
        _search(found),
        key=AuditEntry.seq,
        tiebreak=AuditEntry.id,
        descending=True,
        size=size,
        bound_of=lambda row: (row.AuditEntry.seq, row.AuditEntry.id),
        after=after,
        before=before,
    )
