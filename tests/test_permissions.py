"""Permissions: rules as ORs of ANDs from a data file, a pure evaluator, and the matrix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from helpline.auth import permissions
from helpline.auth.permissions import Rule, Rules, What, Who
from helpline.config import DEFAULT_DATA_PATH

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)

# Staff 1 is a counsellor at site 10 (Ankara); 2 a counsellor at site 11 (Ankara);
# 3 a supervisor at site 10; 4 a supervisor at site 20 (Hatay); 5 an interpreter.
COUNSELLOR = Who(1, frozenset({"counsellor"}), 10, "Ankara")
OTHER_COUNSELLOR = Who(2, frozenset({"counsellor"}), 11, "Ankara")
SUPERVISOR = Who(3, frozenset({"supervisor"}), 10, "Ankara")
FAR_SUPERVISOR = Who(4, frozenset({"supervisor"}), 20, "Hatay")
INTERPRETER = Who(5, frozenset({"interpreter"}), 10, "Ankara")
ADMIN = Who(6, frozenset({"admin"}), None, None)
# 7 a counsellor at site 10 who speaks Turkish and Kurmanji.
KURMANJI_COUNSELLOR = Who(7, frozenset({"counsellor"}), 10, "Ankara", frozenset({"tr", "ku"}))


@pytest.mark.parametrize(
    ("rule", "who", "what", "expected"),
    [
        (Rule(roles=frozenset({"counsellor"})), COUNSELLOR, What(), True),
        (Rule(roles=frozenset({"counsellor"})), SUPERVISOR, What(), False),
        (Rule(owner=True), COUNSELLOR, What(owner_id=1), True),
        (Rule(owner=True), COUNSELLOR, What(owner_id=2), False),
        (Rule(owner=True), COUNSELLOR, What(), False),
        (Rule(owner=False), COUNSELLOR, What(owner_id=2), True),
        (Rule(scope="self"), COUNSELLOR, What(owner_id=1), True),
        (Rule(scope="site"), SUPERVISOR, What(site_id=10), True),
        (Rule(scope="site"), SUPERVISOR, What(site_id=11), False),
        (Rule(scope="site"), ADMIN, What(site_id=None), False),
        (Rule(scope="province"), SUPERVISOR, What(site_id=11, province="Ankara"), True),
        (Rule(scope="province"), FAR_SUPERVISOR, What(site_id=11, province="Ankara"), False),
        (Rule(scope="all"), FAR_SUPERVISOR, What(), True),
        (Rule(within_hours=24), COUNSELLOR, What(since=NOW - 23 * HOUR), True),
        (Rule(within_hours=24), COUNSELLOR, What(since=NOW - 24 * HOUR), False),
        (Rule(within_hours=24), COUNSELLOR, What(since=None), False),
        (Rule(draft=True), COUNSELLOR, What(is_draft=True), True),
        (Rule(draft=True), COUNSELLOR, What(is_draft=None), False),
        (Rule(consent=True), SUPERVISOR, What(consent=False), False),
        (Rule(language=True), KURMANJI_COUNSELLOR, What(language="ku"), True),
        (Rule(language=True), COUNSELLOR, What(language="ku"), False),
        (Rule(language=True), KURMANJI_COUNSELLOR, What(language=None), False),
        (Rule(language=False), COUNSELLOR, What(language="ku"), True),
        # AND: every condition must hold
        (
            Rule(roles=frozenset({"counsellor"}), owner=True, within_hours=24),
            COUNSELLOR,
            What(owner_id=1, since=NOW - 30 * HOUR),
            False,
        ),
    ],
)
def test_holds_requires_every_condition(rule: Rule, who: Who, what: What, expected: bool) -> None:
    """A rule holds only when each condition it names holds; unanswerable means no."""
    assert permissions.holds(rule, who, what, NOW) is expected


def test_allows_is_an_or_of_rules_and_denies_unknown_actions() -> None:
    """Any one rule allows; an action with no rules (or not listed) denies everyone."""
    rules = Rules(
        {
            "record.read": (
                Rule(roles=frozenset({"counsellor"}), owner=True),
                Rule(roles=frozenset({"supervisor"}), scope="site"),
            ),
            "call.view": (),
        }
    )
    mine = What(owner_id=1, site_id=11)
    assert permissions.allows(rules, "record.read", COUNSELLOR, mine, NOW)
    assert not permissions.allows(rules, "record.read", SUPERVISOR, mine, NOW)
    assert permissions.allows(rules, "record.read", SUPERVISOR, What(owner_id=1, site_id=10), NOW)
    assert not permissions.allows(rules, "call.view", SUPERVISOR, mine, NOW)
    assert not permissions.allows(rules, "recording.play", SUPERVISOR, mine, NOW)


SHIPPED = permissions.load_rules(DEFAULT_DATA_PATH / permissions.FILE)
OWN_FINAL = What(owner_id=1, site_id=10, province="Ankara", since=NOW - 2 * HOUR, is_draft=False)
OWN_OLD = What(owner_id=1, site_id=10, province="Ankara", since=NOW - 25 * HOUR, is_draft=False)
OWN_OLD_DRAFT = What(owner_id=1, site_id=10, province="Ankara", since=None, is_draft=True)
CALL_CONSENT = What(owner_id=1, site_id=10, province="Ankara", consent=True)
CALL_NO_CONSENT = What(owner_id=1, site_id=10, province="Ankara", consent=False)
KU_MESSAGE = What(language="ku", consent=True)
KU_MESSAGE_NO_CONSENT = What(language="ku", consent=False)
MY_CASE = What(owner_id=1, site_id=10, province="Ankara")

# The shipped data/permissions.yaml, action by action: who may, who may not.
MATRIX = [
    ("record.read", OWN_FINAL, [COUNSELLOR, SUPERVISOR, FAR_SUPERVISOR],
     [OTHER_COUNSELLOR, INTERPRETER, ADMIN]),
    ("record.write", OWN_FINAL, [COUNSELLOR], [OTHER_COUNSELLOR, SUPERVISOR, ADMIN]),
    ("record.edit", OWN_FINAL, [COUNSELLOR], [OTHER_COUNSELLOR, SUPERVISOR, INTERPRETER]),
    ("record.edit", OWN_OLD, [], [COUNSELLOR, SUPERVISOR]),
    ("record.edit", OWN_OLD_DRAFT, [COUNSELLOR], [OTHER_COUNSELLOR, SUPERVISOR]),
    ("record.reveal_number", OWN_FINAL, [COUNSELLOR, SUPERVISOR],
     [OTHER_COUNSELLOR, INTERPRETER, ADMIN]),
    ("caller.history", What(owner_id=1), [COUNSELLOR, SUPERVISOR],
     [OTHER_COUNSELLOR, INTERPRETER, ADMIN]),
    ("call.view", CALL_CONSENT, [SUPERVISOR, FAR_SUPERVISOR], [COUNSELLOR, INTERPRETER, ADMIN]),
    ("call.number", CALL_CONSENT, [SUPERVISOR], [COUNSELLOR, INTERPRETER, ADMIN]),
    ("recording.play", CALL_CONSENT, [SUPERVISOR, FAR_SUPERVISOR], [COUNSELLOR, ADMIN]),
    ("recording.play", CALL_NO_CONSENT, [], [SUPERVISOR, FAR_SUPERVISOR]),
    ("calls.export_personal", What(), [SUPERVISOR], [COUNSELLOR, INTERPRETER, ADMIN]),
    ("voicemail.play", KU_MESSAGE, [KURMANJI_COUNSELLOR, SUPERVISOR, FAR_SUPERVISOR],
     [COUNSELLOR, INTERPRETER, ADMIN]),
    ("voicemail.play", KU_MESSAGE_NO_CONSENT, [], [KURMANJI_COUNSELLOR, SUPERVISOR]),
    ("voicemail.handle", KU_MESSAGE_NO_CONSENT, [KURMANJI_COUNSELLOR, SUPERVISOR],
     [COUNSELLOR, INTERPRETER, ADMIN]),
    # Cases: staff 1's case at site 10. Its worker reads and changes it; the supervisor
    # of site 10 reads it, hands it over and searches it; nobody else, interpreters least.
    ("case.open", What(), [COUNSELLOR, OTHER_COUNSELLOR, KURMANJI_COUNSELLOR],
     [SUPERVISOR, INTERPRETER, ADMIN]),
    ("case.read", MY_CASE, [COUNSELLOR, SUPERVISOR],
     [OTHER_COUNSELLOR, KURMANJI_COUNSELLOR, FAR_SUPERVISOR, INTERPRETER, ADMIN]),
    ("case.write", MY_CASE, [COUNSELLOR],
     [OTHER_COUNSELLOR, KURMANJI_COUNSELLOR, SUPERVISOR, INTERPRETER, ADMIN]),
    ("case.assign", MY_CASE, [COUNSELLOR, SUPERVISOR],
     [OTHER_COUNSELLOR, FAR_SUPERVISOR, INTERPRETER, ADMIN]),
    ("case.supervise", What(site_id=10), [SUPERVISOR],
     [COUNSELLOR, FAR_SUPERVISOR, INTERPRETER, ADMIN]),
    ("person.read", MY_CASE, [COUNSELLOR, SUPERVISOR],
     [OTHER_COUNSELLOR, FAR_SUPERVISOR, INTERPRETER, ADMIN]),
    ("person.write", MY_CASE, [COUNSELLOR], [OTHER_COUNSELLOR, SUPERVISOR, INTERPRETER, ADMIN]),
    ("person.link", MY_CASE, [COUNSELLOR], [OTHER_COUNSELLOR, SUPERVISOR, INTERPRETER, ADMIN]),
    ("wellbeing.record", MY_CASE, [COUNSELLOR],
     [OTHER_COUNSELLOR, SUPERVISOR, INTERPRETER, ADMIN]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "what", "who", "expected"),
    [
        pytest.param(action, what, who, expected, id=f"{action}-{n}-{who.staff_id}-{expected}")
        for n, (action, what, allowed, denied) in enumerate(MATRIX)
        for who, expected in [*((w, True) for w in allowed), *((w, False) for w in denied)]
    ],
)
def test_shipped_rules_matrix(action: str, what: What, who: Who, expected: bool) -> None:
    """The shipped rules: owners read and (24 hours after finalising, or as a draft) edit
    their records; supervisors read and see numbers; a recording plays only with consent;
    a voicemail is for counsellors of its language and supervisors, played only with the
    caller's consent."""
    assert permissions.allows(SHIPPED, action, who, what, NOW) is expected


def test_shipped_rules_cover_every_action() -> None:
    """data/permissions.yaml names every action the code asks about."""
    assert set(SHIPPED.actions) == set(permissions.ACTIONS)
    assert permissions.window_hours(SHIPPED, "record.edit") == 24


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("actions:\n  record.read:\n    - {role: boss}\n", r":4: `role:` is one or a list"),
        ("actions:\n  record.read:\n    - {scope: town}\n", r":4: `scope:` is one of"),
        ("actions:\n  record.read:\n    - {owner: yes please}\n", r":4: `owner:` is true"),
        ("actions:\n  record.read:\n    - {within_hours: -1}\n", r":4: `within_hours:`"),
        ("actions:\n  record.read:\n    - {colour: red}\n", r":4: unknown condition"),
        ("actions:\n  voicemail.play:\n    - {language: ku}\n", r":4: `language:` is true"),
        ("actions:\n  record.burn:\n    - {role: admin}\n", r":3: unknown action 'record.burn'"),
        ("actions:\n  record.read: {role: admin}\n", r":3: 'record.read' is a list of rules"),
        ("actions: []\n", r":2: `actions:` maps"),
    ],
)
def test_load_rules_names_the_problem_and_line(tmp_path: Path, text: str, message: str) -> None:
    """A broken permissions.yaml is refused with file, line and what is wrong."""
    path = tmp_path / permissions.FILE
    path.write_text("schema: 1\n" + text, encoding="utf-8")
    with pytest.raises(permissions.PermissionsError, match=message):
        permissions.load_rules(path)
