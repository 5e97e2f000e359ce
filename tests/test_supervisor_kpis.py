"""The KPI page: figures from the database with their definitions, breakdowns, charts."""

from __future__ import annotations

import datetime as dt
import html
import re
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from helpline.models import utcnow
from helpline.models.enums import CallbackStatus, CallOutcome
from helpline.supervisor import charts
from tests.factories import Factory, login

ISTANBUL = ZoneInfo("Europe/Istanbul")
WEEK = {"from": "2026-11-02", "to": "2026-11-08"}


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ISTANBUL).astimezone(dt.UTC)


def s(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def figure(page: str, label: str) -> str:
    """The value shown in the row of a figure."""
    match = re.search(rf'<tr><th scope="row">{re.escape(label)}</th><td>([^<]*)</td>', page)
    assert match is not None, label
    return html.unescape(match.group(1))


@pytest.fixture
def week(factory: Factory) -> None:
    """A week of calls: answered in and out of time, abandons long and short, a callback."""
    factory.staff("sup", roles=("supervisor",))
    site = factory.site("ANK")
    caller = factory.caller("+905321112233")
    t = local(3, 10)
    factory.calls(
        [
            {  # answered after 10 s, handled 100 s plus 20 s of wrap-up
                "language": "ar", "topic": "violence", "site_id": site.id,
                "started_at": t, "queued_at": t + s(5), "answered_at": t + s(15),
                "ended_at": t + s(115), "wrap_up_ended_at": t + s(135),
                "outcome": CallOutcome.ANSWERED,
            },
            {  # answered after 40 s, handled 200 s
                "language": "ar", "started_at": t + s(60), "queued_at": t + s(65),
                "answered_at": t + s(105), "ended_at": t + s(305),
                "outcome": CallOutcome.ANSWERED,
            },
            {  # a short abandon: 3 s in the queue
                "language": "tr", "started_at": t + s(120), "queued_at": t + s(125),
                "ended_at": t + s(128), "outcome": CallOutcome.ABANDONED_QUEUE,
            },
            {  # abandoned after 90 s
                "language": "tr", "started_at": local(8, 23, 30), "queued_at": local(8, 23, 31),
                "ended_at": local(8, 23, 31) + s(90), "outcome": CallOutcome.ABANDONED_QUEUE,
            },
            {  # hung up in the IVR
                "language": None, "started_at": t, "ended_at": t + s(8),
                "outcome": CallOutcome.ABANDONED_IVR,
            },
            # outside the week, on the line's clock: 00:10 on the 9th
            {"language": "ar", "started_at": local(9, 0, 10), "queued_at": local(9, 0, 11)},
            {"language": "ar", "started_at": local(1, 23, 50), "queued_at": local(1, 23, 51)},
        ]
    )  # fmt: skip
    callback_call = factory.call(caller, language="tr", started_at=t)
    factory.callback(
        callback_call, CallbackStatus.COMPLETED, created_at=t, completed_at=t + s(3600)
    )
    factory.callback(callback_call, CallbackStatus.EXPIRED, created_at=t)


def test_kpi_page_shows_each_figure_with_its_definition(client: FlaskClient, week: None) -> None:
    """The week's figures as kpis defines them, each beside its definition."""
    login(client, "sup")
    response = client.get("/supervisor/kpis", query_string=WEEK)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert figure(page, "Calls") == "6"
    assert figure(page, "Offered") == "4"
    assert figure(page, "Answered") == "2"
    assert figure(page, "Abandoned") == "2"
    assert figure(page, "Short abandons") == "1"
    # counted: 4 offered - 1 short abandon = 3; one answered within 20 s
    assert figure(page, "Service level") == "33.3 %"
    assert figure(page, "Abandon rate") == "33.3 %"
    assert figure(page, "Average speed of answer") == "25 s"
    assert figure(page, "Average handle time") == "2 min 40 s"
    assert figure(page, "Due in the period") == "2"
    assert figure(page, "Completion rate") == "50.0 %"
    assert figure(page, "Average time to callback") == "60 min 0 s"
    for definition in (
        "Calls that reached the queue hand-off",
        "Abandons within 5 s of queueing",
        "Calls answered within 20 s of queueing",
        "Average speed of answer: the mean time",
    ):
        assert definition in page


def test_kpi_page_thresholds_change_the_figures(client: FlaskClient, week: None) -> None:
    """With answers within 60 s and no short abandons, the service level is 2 of 4."""
    login(client, "sup")
    page = client.get(
        "/supervisor/kpis", query_string={**WEEK, "answer_within": "60", "short_abandon": "0"}
    ).get_data(as_text=True)
    assert figure(page, "Service level") == "50.0 %"
    assert "Calls answered within 60 s of queueing" in page


def test_kpi_page_breakdowns_have_charts_and_tables(client: FlaskClient, week: None) -> None:
    """Each breakdown is a table with an SVG chart beside it; the charts need no script
    (the page's only one is the duty alerts' live poll, as on every supervisor page) and
    no inline style."""
    login(client, "sup")
    page = client.get("/supervisor/kpis", query_string=WEEK).get_data(as_text=True)
    for heading in ("By language", "By topic", "By hour of day", "By site"):
        assert heading in page
    assert page.count('<svg class="chart" role="img"') == 4
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/live.js" defer>']
    assert "style=" not in page
    assert '<th scope="row">ANK</th>' in page
    assert '<th scope="row">10:00</th>' in page  # the line's hour, not UTC's 07:00
    assert "Staffing suggestion (Erlang C)" in page
    row = re.search(r'<th scope="row">ar</th><td class="num">(\d+)</td>', page)
    assert row is not None
    assert row.group(1) == "2"


def test_kpi_page_defaults_to_the_last_seven_days(client: FlaskClient, factory: Factory) -> None:
    factory.staff("sup", roles=("supervisor",))
    now = utcnow()
    factory.calls([{"started_at": now - s(60)}, {"started_at": now - dt.timedelta(days=8)}])
    login(client, "sup")
    page = client.get("/supervisor/kpis").get_data(as_text=True)
    assert figure(page, "Calls") == "1"
    today = now.astimezone(ISTANBUL).date()
    assert f'value="{(today - dt.timedelta(days=6)).isoformat()}"' in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-11-09", "to": "2026-11-02"}, "must not be after the last day"),
        ({"from": "2026-11-02"}, "Give both a first and a last day."),
        ({"from": "2025-01-01", "to": "2026-11-02"}, "at most 93 days"),
        ({**WEEK, "short_abandon": "five"}, "Short abandon: give a whole number"),
        ({**WEEK, "answer_within": "99999"}, "Answered within: give a whole number from 0 to 3600"),
        ({**WEEK, "target": "100"}, "Staffing target: give a whole number from 0 to 99"),
        ({**WEEK, "target": "0"}, "Staffing target: give a percentage from 1 to 99."),
    ],
)
def test_kpi_page_bad_input_gets_a_message(
    client: FlaskClient, factory: Factory, params: dict[str, str], message: str
) -> None:
    factory.staff("sup", roles=("supervisor",))
    login(client, "sup")
    response = client.get("/supervisor/kpis", query_string=params)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_bar_chart_escapes_labels_and_scales_bars() -> None:
    """Labels are escaped; the longest bar fills the width; colours come from classes."""
    svg = str(charts.bar_chart("Calls <by> topic", [("<b>", (10, 5)), ("ok", (0, 0))], ("a", "b")))
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg
    assert "Calls &lt;by&gt; topic" in svg
    widths = [
        float(w)
        for w in re.findall(r'<rect class="bar[^"]*" x="150" y="(?!4")[^"]+" width="([^"]+)"', svg)
    ]
    assert widths == [310.0, 155.0, 0.0, 0.0]
    assert "style" not in svg


def test_bar_chart_with_nothing_to_draw() -> None:
    svg = str(charts.bar_chart("Empty", [], ("calls",)))
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    with pytest.raises(ValueError, match="series"):
        charts.bar_chart("Too many", [], ("a", "b", "c"))
