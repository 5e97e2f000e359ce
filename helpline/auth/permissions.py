"""Who may do what to which data: rules from a data file, a pure evaluator.

`permissions.yaml` in the data folder (`HELPLINE_DATA_PATH`) lists, for each action, rules
as ORs of ANDs: the action is allowed when any one rule holds, and a rule holds when
every condition it names holds. Conditions:

- `role`: the actor has this role (or one of a list);
- `owner`: true when the actor must own the subject (the record's counsellor, the call's
  counsellor, someone who had contact with the caller), false when they must not;
- `scope`: `self` (the actor owns it), `site` (same Social Service Centre), `province`
  (a centre in the same province) or `all`;
- `within_hours`: the subject's clock (a record's finalising) started less than this many
  hours ago;
- `draft`: the subject is (true) or is not (false) a draft;
- `consent`: the caller consented (to recording, or to a voicemail message being heard)
  or not;
- `language`: true when the actor speaks the subject's language (a voicemail's), false
  when they must not.

An action missing from the file, or a condition the subject cannot answer, denies.
`allows` is pure; `create_app` installs the deployment's rules with `configure`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpline.installed import Installed
from helpline.ivr.yamlsource import LineMap, load_schema_1
from helpline.models.enums import Role

FILE = "permissions.yaml"
SCOPES = ("self", "site", "province", "all")
ACTIONS = {
    "record.read": "read a contact record, its text and versions",
    "record.write": "save a draft, finalise, schedule a follow-up",
    "record.edit": "change a record (a draft, or a finalised one)",
    "record.reveal_number": "see the caller's whole number on a record (a field)",
    "caller.history": "see every record about a caller",
    "call.view": "open a call's detail page in the supervisor console",
    "call.number": "see the caller's masked number on a call's detail (a field)",
    "recording.play": "play a call's recording",
    "calls.export_personal": "export callers' numbers in a CSV (a reason is required too)",
    "voicemail.play": "play a voicemail message a caller left",
    "voicemail.handle": "see a voicemail message in a list, mark it handled, call back",
    "case.open": "open a case from a contact record, or add a contact to a case",
    "case.read": "see a case: its plan, notes, timeline and wellbeing measures",
    "case.write": "change a case: status, needs, risk, linked persons, plan, notes",
    "case.assign": "give a case to another case worker (a transfer)",
    "case.supervise": "search the cases of a site, see each worker's caseload",
    "person.read": "see a person's profile (name, details, numbers' links)",
    "person.write": "change a person's profile, record their consent to it",
    "person.link": "link a number to a person, or unlink it",
    "wellbeing.record": "record a WHO-5 wellbeing measure with a person",
    "referral.read": "open a referral: its need, status and steps (every view is audited)",
    "referral.manage": "record consent, send and close a referral (its case worker); answer "
    "for a destination that is not one of the helpline's sites",
    "referral.act": "accept, decline or record the service provided for a referral sent "
    "to one's centre",
    "referral.reveal_number": "see the person's whole number on a referral (audited)",
    "referral.overdue": "see every overdue referral, not only one's own",
    "report.programme": "open and download the programme report (aggregates, suppressed)",
}
CONDITIONS = ("role", "owner", "scope", "within_hours", "draft", "consent", "language")


class PermissionsError(ValueError):
    """permissions.yaml cannot be used; the message names the file and line."""


@dataclasses.dataclass(frozen=True)
class Rule:
    roles: frozenset[str] = frozenset()
    owner: bool | None = None
    scope: str | None = None
    within_hours: float | None = None
    draft: bool | None = None
    consent: bool | None = None
    language: bool | None = None


@dataclasses.dataclass(frozen=True)
class Rules:
    actions: Mapping[str, tuple[Rule, ...]]


@dataclasses.dataclass(frozen=True)
class Who:
    """The actor: their id, roles, their centre and its province, and their languages."""

    staff_id: int
    roles: frozenset[str]
    site_id: int | None = None
    province: str | None = None
    languages: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class What:
    """The subject, as far as rules ask about it."""

    owner_id: int | None = None
    site_id: int | None = None
    province: str | None = None
    since: dt.datetime | None = None  # when a time window starts
    is_draft: bool | None = None
    consent: bool | None = None
    language: str | None = None


def _in_scope(scope: str, who: Who, what: What) -> bool:
    if scope == "all":
        return True
    if scope == "self":
        return what.owner_id is not None and what.owner_id == who.staff_id
    if scope == "site":
        return what.site_id is not None and what.site_id == who.site_id
    return what.province is not None and what.province == who.province


def holds(rule: Rule, who: Who, what: What, now: dt.datetime) -> bool:
    """Every condition the rule names holds (AND)."""
    if rule.roles and not (rule.roles & who.roles):
        return False
    if rule.owner is not None:
        owns = what.owner_id is not None and what.owner_id == who.staff_id
        if owns != rule.owner:
            return False
    if rule.scope is not None and not _in_scope(rule.scope, who, what):
        return False
    if rule.within_hours is not None and (
        what.since is None or now >= what.since + dt.timedelta(hours=rule.within_hours)
    ):
        return False
    if rule.draft is not None and what.is_draft != rule.draft:
        return False
    if rule.language is not None:
        speaks = what.language is not None and what.language in who.languages
        if speaks != rule.language:
            return False
    return rule.consent is None or what.consent == rule.consent


def allows(rules: Rules, action: str, who: Who, what: What, now: dt.datetime) -> bool:
    """Any of the action's rules holds (OR); an unknown action denies."""
    return any(holds(rule, who, what, now) for rule in rules.actions.get(action, ()))


def window_hours(rules: Rules, action: str) -> float | None:
    """The longest time window the action's rules give, to tell users when it closes."""
    hours = [r.within_hours for r in rules.actions.get(action, ()) if r.within_hours is not None]
    return max(hours, default=None)


# --- the data file ------------------------------------------------------------------------

_ROLES = frozenset(role.value for role in Role)


def _rule(raw: Any, path: Path, line: int) -> Rule:
    where = f"{path}:{line}"
    if not isinstance(raw, LineMap) or not raw:
        raise PermissionsError(f"{where}: a rule maps conditions ({', '.join(CONDITIONS)})")
    unknown = set(raw) - set(CONDITIONS)
    if unknown:
        raise PermissionsError(
            f"{where}: unknown condition(s) {', '.join(sorted(map(str, unknown)))} "
            f"(known: {', '.join(CONDITIONS)})"
        )
    roles_raw = raw.get("role", [])
    roles = frozenset([roles_raw] if isinstance(roles_raw, str) else roles_raw)
    if not all(isinstance(r, str) for r in roles) or roles - _ROLES:
        raise PermissionsError(f"{where}: `role:` is one or a list of {', '.join(sorted(_ROLES))}")
    for flag in ("owner", "draft", "consent", "language"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise PermissionsError(f"{where}: `{flag}:` is true or false")
    scope = raw.get("scope")
    if scope is not None and scope not in SCOPES:
        raise PermissionsError(f"{where}: `scope:` is one of {', '.join(SCOPES)}")
    hours = raw.get("within_hours")
    if hours is not None and (
        isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0
    ):
        raise PermissionsError(f"{where}: `within_hours:` is a number of hours above 0")
    return Rule(
        roles=roles,
        owner=raw.get("owner"),
        scope=scope,
        within_hours=None if hours is None else float(hours),
        draft=raw.get("draft"),
        consent=raw.get("consent"),
        language=raw.get("language"),
    )


def load_rules(path: Path) -> Rules:
    """Read permissions.yaml; PermissionsError naming the file and line if unusable."""
    data = load_schema_1(path, PermissionsError, "`actions:`")
    actions_raw = data.get("actions")
    if not isinstance(actions_raw, LineMap):
        raise PermissionsError(
            f"{path}:{data.line_of('actions')}: `actions:` maps actions to rules"
        )
    actions: dict[str, tuple[Rule, ...]] = {}
    for name, rules_raw in actions_raw.items():
        line = actions_raw.line_of(name)
        if name not in ACTIONS:
            raise PermissionsError(
                f"{path}:{line}: unknown action {name!r} (known: {', '.join(ACTIONS)})"
            )
        if not isinstance(rules_raw, list):
            raise PermissionsError(f"{path}:{line}: {name!r} is a list of rules (any one allows)")
        actions[name] = tuple(
            _rule(raw, path, raw.line if isinstance(raw, LineMap) else line) for raw in rules_raw
        )
    return Rules(actions)


_rules: Installed[Rules] = Installed("permissions.configure()")


def configure(rules: Rules) -> None:
    """Install the deployment's rules; `create_app` calls this once."""
    _rules.install(rules)


def rules() -> Rules:
    return _rules.get()


def who(staff: Any) -> Who:
    """The actor from a `Staff` row."""
    site = staff.site
    return Who(
        staff_id=staff.id,
        roles=frozenset(str(role) for role in staff.roles),
        site_id=staff.site_id,
        province=site.province if site is not None else None,
        languages=frozenset(staff.languages),
    )
