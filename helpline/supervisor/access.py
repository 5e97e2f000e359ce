"""The permission rules (`helpline.auth.permissions`) applied to calls in the supervisor console.

`call_subject` describes one call to the evaluator; `visible_calls` turns the same rules
into SQL, so the call log and the export list exactly the calls whose detail the rules
would open (tests/test_supervisor_access.py checks the two agree).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from helpline.auth import permissions
from helpline.models import Call, Site, Staff, utcnow
from helpline.models.base import DbSession


def call_subject(session: DbSession, call: Call) -> permissions.What:
    """A call as the rules see it: its counsellor, its centre and province, when it ended
    (its clock), whether the caller consented to recording, and its language."""
    site = session.get(Site, call.site_id) if call.site_id is not None else None
    return permissions.What(
        owner_id=call.counsellor_id,
        site_id=call.site_id,
        province=site.province if site is not None else None,
        since=call.ended_at,
        consent=call.is_recording_consented,
        language=call.language,
    )


def may(action: str, staff: Staff, what: permissions.What) -> bool:
    """The deployment's rules allow `staff` this action on `what`, now."""
    return permissions.allows(permissions.rules(), action, permissions.who(staff), what, utcnow())


def _rule_sql(
    rule: permissions.Rule, who: permissions.Who, now: dt.datetime
) -> list[sa.ColumnElement[bool]]:
    """The conditions of one rule on a call, as SQL (an empty list admits every call)."""
    owned = Call.counsellor_id == who.staff_id
    found: list[sa.ColumnElement[bool]] = []
    if rule.owner is not None:
        found.append(owned if rule.owner else sa.or_(Call.counsellor_id.is_(None), ~owned))
    if rule.scope == "self":
        found.append(owned)
    elif rule.scope == "site":
        found.append(Call.site_id == who.site_id if who.site_id is not None else sa.false())
    elif rule.scope == "province":
        in_province = sa.select(Site.id).where(Site.province == who.province)
        found.append(Call.site_id.in_(in_province) if who.province else sa.false())
    if rule.within_hours is not None:
        found.append(Call.ended_at > now - dt.timedelta(hours=rule.within_hours))
    if rule.draft is not None:
        found.append(sa.false())  # a call is never a draft
    if rule.consent is not None:
        found.append(Call.is_recording_consented.is_(rule.consent))
    if rule.language is not None:
        speaks = Call.language.in_(sorted(who.languages))
        found.append(speaks if rule.language else sa.or_(Call.language.is_(None), ~speaks))
    return found


def visible_calls(
    rules: permissions.Rules, action: str, who: permissions.Who, now: dt.datetime
) -> sa.ColumnElement[bool] | None:
    """The calls the rules let `who` do `action` to, as a SQL condition; None for all."""
    alternatives: list[sa.ColumnElement[bool]] = []
    for rule in rules.actions.get(action, ()):
        if rule.roles and not (rule.roles & who.roles):
            continue
        conditions = _rule_sql(rule, who, now)
        if not conditions:
            return None
        alternatives.append(sa.and_(*conditions))
    return sa.or_(*alternatives) if alternatives else sa.false()


def call_scope(staff: Staff) -> sa.ColumnElement[bool] | None:
    """The calls `staff` may open (`call.view`), for the call log and the export."""
    return visible_calls(permissions.rules(), "call.view", permissions.who(staff), utcnow())
