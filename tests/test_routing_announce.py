"""Hold announcements and the staff whisper, as pure functions and data files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import redis
from flask import Flask

from helpline.config import DEFAULT_FLOWS_PATH
from helpline.extensions import db
from helpline.ivr.engine import PromptRef
from helpline.models import utcnow
from helpline.routing import announce, handling
from helpline.routing.policy import load_policy
from helpline.routing.router import StaffMember, WaitingCall
from helpline.routing.whisper import WhisperError, load_staff_prompts
from tests.factories import Factory

NOW = dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)
POLICY = load_policy(DEFAULT_FLOWS_PATH / "routing.yaml")


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (1, PromptRef("queue_position", "", (("key", "1"),))),
        (9, PromptRef("queue_position", "", (("key", "9"),))),
        (10, PromptRef("queue_position_many", "")),
    ],
)
def test_position_prompt_numbers_one_to_nine(position: int, expected: PromptRef) -> None:
    assert announce.position_prompt(position) == expected


@pytest.mark.parametrize(
    ("seconds", "key", "minutes"),
    [
        (30, "queue_wait_short", None),
        (60, "queue_wait", "2"),
        (121, "queue_wait", "5"),
        (600, "queue_wait", "10"),
        (900, "queue_wait", "15"),
        (901, "queue_wait_long", None),
    ],
)
def test_wait_prompt_rounds_up_to_a_recorded_number(
    seconds: int, key: str, minutes: str | None
) -> None:
    """Waits are rounded up (never promised shorter) to the numbers recorded for audio."""
    prompt = announce.wait_prompt(seconds)
    assert prompt.key == key
    assert dict(prompt.params).get("key") == minutes


def test_announcement_only_when_something_changed() -> None:
    """News, with the keys, the first time and when it changes; silence otherwise, unless
    the caller's stage offers a callback (then the keys are said every round)."""
    now = announce.estimate(position=3, serving=1)
    first = announce.announcement(now, None, offer_callback=False, language="ar")
    assert [p.key for p in first] == ["queue_position", "queue_wait", "queue_keys"]
    assert {p.language for p in first} == {"ar"}
    assert announce.announcement(now, now.token(), False, "ar") == ()
    keys_only = announce.announcement(now, now.token(), True, "ar")
    assert [p.key for p in keys_only] == ["queue_keys"]
    closer = announce.estimate(position=2, serving=1)
    assert announce.announcement(closer, now.token(), False, "ar")[0].params == (("key", "2"),)


def test_estimate_shares_the_callers_ahead_among_who_can_serve() -> None:
    assert announce.estimate(4, 2, handle_seconds=600).wait_seconds == 600
    assert announce.estimate(1, 0, handle_seconds=600).wait_seconds == 300  # nobody: as one


def _member(staff_id: int, languages: str, *, interpreter: bool = False) -> StaffMember:
    return StaffMember(
        staff_id,
        not interpreter,
        interpreter,
        frozenset(languages.split(",")),
        frozenset(),
        True,
        NOW,
    )


def test_standings_count_the_callers_ahead_of_the_same_language() -> None:
    """Position: callers of one's language ahead in routing order (priority, arrival)."""
    waiting = [
        WaitingCall(1, "ar", None, 0, NOW - dt.timedelta(seconds=50)),
        WaitingCall(2, "ar", "violence", 3, NOW - dt.timedelta(seconds=10)),
        WaitingCall(3, "tr", None, 0, NOW - dt.timedelta(seconds=40)),
        WaitingCall(4, "ps", None, 0, NOW - dt.timedelta(seconds=5)),
    ]
    staff = [_member(10, "ar"), _member(11, "tr"), _member(20, "ps,tr", interpreter=True)]
    found = announce.standings(waiting, staff, NOW, POLICY)
    assert (found[2].position, found[1].position, found[3].position) == (1, 2, 1)
    assert (found[1].serving, found[4].serving) == (1, 1)
    assert not found[1].offer_callback
    assert found[1].handle_seconds == announce.DEFAULT_HANDLE_SECONDS
    learned = announce.standings(waiting, staff, NOW, POLICY, {"ar": 400, "*": 700})
    assert (learned[1].handle_seconds, learned[3].handle_seconds) == (400, 700)


@pytest.mark.parametrize(
    ("talks", "expected"),
    [
        # Too few calls: no figure, the default stands.
        ([("ar", 300.0)] * 19, {}),
        # The mean talk time plus the policy's wrap-up (60 s).
        ([("ar", 300.0)] * 10 + [("ar", 500.0)] * 10, {"ar": 460}),
        # Each language on its own; negative durations (clock skew) are left out.
        (
            [("tr", 100.0)] * 20 + [("fa", 900.0)] * 20 + [("fa", -5.0)] * 5,
            {"tr": 160, "fa": 960},
        ),
    ],
)
def test_handling_learns_handle_time_per_language(
    talks: list[tuple[str, float]], expected: dict[str, int]
) -> None:
    """Handle time is mean talk time plus wrap-up, for languages with 20 calls or more."""
    assert handling.handle_seconds(talks, wrap_up=60) == expected


def test_staff_prompts_load_and_speak_the_offer() -> None:
    prompts = load_staff_prompts(DEFAULT_FLOWS_PATH)
    english = prompts.for_language("en")
    text = english.offer(role="counsellor", language="ps", topic="violence", waited_seconds=61)
    assert text.startswith("ALO 183 call. A caller speaking Pashto, topic: violence, has waited 2")
    assert prompts.for_language("xx") is prompts.voices[prompts.default]
    turkish = prompts.for_language("tr").offer(
        role="interpreter", language="ku", topic=None, waited_seconds=0
    )
    assert "Kurmanci" in turkish
    assert "belirtilmedi" in turkish
    young = english.offer(
        role="counsellor", language="ar", topic=None, waited_seconds=5, age_group="child"
    )
    assert young.startswith("The caller is under 18. ALO 183 call. A caller speaking Arabic")
    adult = english.offer(
        role="counsellor", language="ar", topic=None, waited_seconds=5, age_group="adult"
    )
    assert adult.startswith("ALO 183 call.")
    transfer = english.offer(role="transfer", language="ar", topic="violence", waited_seconds=900)
    assert transfer == (
        "ALO 183 transfer. A counsellor is handing over a caller speaking Arabic, topic: "
        "violence. To accept, press 1. To decline, press 2."
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema: 2\n", "schema: 1"),
        ("schema: 1\ndefault: tr\nlanguages: {}\n", "`languages:`"),
        ("schema: 1\ndefault: xx\nlanguages:\n  en: {tts: {voice: v, language: en-US}}\n",
         "lacks offer"),
    ],
)  # fmt: skip
def test_staff_prompts_refuse_a_broken_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "staff_prompts.yaml").write_text(text)
    with pytest.raises(WhisperError, match=message):
        load_staff_prompts(tmp_path)


def test_staff_prompts_refuse_an_unknown_placeholder(tmp_path: Path) -> None:
    source = (DEFAULT_FLOWS_PATH / "staff_prompts.yaml").read_text()
    (tmp_path / "staff_prompts.yaml").write_text(
        source.replace("{minutes} dakikadır", "{number} dakikadır")
    )
    with pytest.raises(WhisperError, match="may use only"):
        load_staff_prompts(tmp_path)


def test_handling_learned_reads_the_last_week_once_and_caches_it(
    app: Flask, factory: Factory, redis_url: str
) -> None:
    """The dispatcher's handle times come from answered calls of the last week, then from
    Redis until the cache expires; older and unanswered calls do not count."""
    now = utcnow()

    def answered(language: str, talk: int, days_ago: float = 1) -> dict[str, object]:
        started = now - dt.timedelta(days=days_ago)
        answered_at = started + dt.timedelta(seconds=30)
        return {
            "language": language,
            "started_at": started,
            "answered_at": answered_at,
            "ended_at": answered_at + dt.timedelta(seconds=talk),
        }

    factory.calls(
        [answered("ar", 240)] * 20
        + [answered("ar", 5000, days_ago=8)] * 20  # older than a week
        + [{"language": "ar", "started_at": now, "ended_at": now}] * 20  # never answered
        + [answered("tr", 100)] * 5  # too few
    )
    connection = redis.Redis.from_url(redis_url)
    with app.app_context():
        found = handling.learned(db.session, connection, POLICY)
    assert found == {"*": announce.DEFAULT_HANDLE_SECONDS, "ar": 240 + POLICY.wrap_up_seconds}
    assert 0 < connection.ttl(handling.CACHE_KEY) <= handling.CACHE_SECONDS
    factory.calls([answered("tr", 100)] * 20)
    with app.app_context():
        assert handling.learned(db.session, connection, POLICY) == found  # cached
    connection.delete(handling.CACHE_KEY)
    with app.app_context():
        assert handling.learned(db.session, connection, POLICY)["tr"] == 160
