"""WHO-5: scoring, the data file of its wording in the line's languages, recording with a
case and the change over time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpline.cases import wellbeing, who5
from helpline.cases.access import CaseForbidden, CaseInvalid
from helpline.config import DEFAULT_DATA_PATH
from tests.cases import DAY, T0, actions, audit_text, line, person_with_case
from tests.factories import Factory


@pytest.mark.parametrize(
    ("answers", "raw", "percentage", "poor"),
    [
        ([0, 0, 0, 0, 0], 0, 0, True),
        ([5, 5, 5, 5, 5], 25, 100, False),
        ([3, 2, 3, 2, 2], 12, 48, True),
        ([3, 3, 3, 2, 2], 13, 52, False),
    ],
)
def test_score_raw_and_percentage(
    answers: list[int], raw: int, percentage: int, poor: bool
) -> None:
    """Raw is the sum of five answers 0-5; the percentage is raw x 4; below 13 is poor."""
    result = wellbeing.score(answers)
    assert (result.raw, result.percentage, result.is_poor) == (raw, percentage, poor)


@pytest.mark.parametrize("answers", [[1, 2, 3, 4], [1, 2, 3, 4, 5, 0], [6, 0, 0, 0, 0], [-1] * 5])
def test_score_refuses_incomplete_or_out_of_range_answers(answers: list[int]) -> None:
    with pytest.raises(CaseInvalid):
        wellbeing.score(answers)


def test_the_shipped_wording_covers_the_lines_languages() -> None:
    """data/who5.yaml has the five statements and six answers in tr, ar, fa, ps, ku and
    en; English is WHO's wording, every other language a draft awaiting review."""
    loaded = who5.load(DEFAULT_DATA_PATH / who5.FILE)
    assert set(loaded.wordings) == set(who5.REQUIRED)
    assert sorted(loaded.drafts) == sorted(set(who5.REQUIRED) - {"en"})
    english = loaded.wording("en")
    assert english.items[0] == "I have felt cheerful and in good spirits."
    assert english.answers[5] == "All of the time"
    assert english.answers[0] == "At no time"
    for wording in loaded.wordings.values():
        assert len(wording.items) == 5
        assert sorted(wording.answers) == [0, 1, 2, 3, 4, 5]
    assert loaded.wording("de") is english


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("  ps:\n", "  pz:\n"), r"no wording in ps"),
        (("    draft: false\n", "    draft: true\n"), r"English is WHO's wording"),
        (("      - I have felt calm and relaxed.\n", ""), r"`items:` lists the 5"),
        (("      0: At no time\n", ""), r"`answers:` labels each score"),
        (("    draft: false\n", "    draft: maybe\n"), r"`draft:` is true or false"),
        (("schema: 1", "schema: 2"), r":1: expected `schema: 1`"),
    ],
)
def test_load_names_the_problem(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    """A broken who5.yaml is refused with its file and what is wrong."""
    text = (DEFAULT_DATA_PATH / who5.FILE).read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / who5.FILE
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(who5.Who5Error, match=message):
        who5.load(path)


def test_broken_who5_stops_the_app_and_fails_check(
    tmp_path: Path, database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app refuses to start on a broken who5.yaml; `helpline check` names it. A sound
    one is loaded once into the app."""
    from click.testing import CliRunner

    from helpline import create_app
    from helpline.cli import main
    from helpline.config import ConfigError
    from tests.cli_env import use_settings
    from tests.conftest import make_settings

    root = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_PATH, root)
    settings = make_settings(database_url, redis_url, tmp_path / "i", HELPLINE_DATA_PATH=str(root))
    assert create_app(settings).extensions["helpline.who5"].wording("ku").is_draft
    text = (root / who5.FILE).read_text(encoding="utf-8")
    (root / who5.FILE).write_text(text.replace("  ku:\n", "  kmr:\n"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"who5\.yaml:\d+: no wording in ku"):
        create_app(settings)
    use_settings(monkeypatch, settings, HELPLINE_DATA_PATH=str(root))
    result = CliRunner().invoke(main, ["check", "--no-connect"])
    assert result.exit_code == 1
    assert "no wording in ku" in result.output


def test_measures_with_a_case_and_their_change_over_time(factory: Factory) -> None:
    """The case worker records measures at intake and follow-ups; the curve shows each
    one's change from the one before and from the first (10 points or more is
    meaningful); the answers are in no audit entry; others may not record."""
    staff = line(factory)
    session = factory.session
    _, case, _ = person_with_case(factory, staff.worker)
    taken = [
        ([1, 2, 1, 2, 2], "intake", T0),
        ([2, 2, 2, 2, 2], "follow_up", T0 + 14 * DAY),
        ([4, 3, 3, 4, 3], "follow_up", T0 + 28 * DAY),
    ]
    for answers, occasion, at in taken:
        wellbeing.record_measure(
            session, case, answers, occasion=occasion, language="ar", by=staff.worker, now=at
        )
    with pytest.raises(CaseInvalid):
        wellbeing.record_measure(
            session, case, [1] * 5, occasion="weekly", language="de", by=staff.worker, now=T0
        )
    with pytest.raises(CaseForbidden):
        wellbeing.record_measure(
            session, case, [1] * 5, occasion="intake", language="ar", by=staff.supervisor, now=T0
        )
    session.commit()
    curve = wellbeing.case_curve(session, case, by=staff.supervisor, now=T0 + 30 * DAY)
    assert [(p.raw, p.percentage, p.change, p.since_first) for p in curve] == [
        (8, 32, None, None), (10, 40, 8, 8), (17, 68, 28, 36),
    ]  # fmt: skip
    assert [p.is_meaningful for p in curve] == [False, False, True]
    assert [p.is_poor for p in curve] == [True, True, False]
    assert actions(factory).count("case_wellbeing_viewed") == 1
    assert "[1, 2, 1, 2, 2]" not in audit_text(factory)
