"""The alert ring end to end: a real RQ worker process sweeps, the sandbox rings the duty
supervisor's phone over the REST API, as Twilio would.

ALERT_RING_SECONDS is 2 here; workers queue the sweep every few seconds between jobs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from helpline.config import DEFAULT_FLOWS_PATH, Settings
from helpline.models import AlertState, CallEvent, utcnow
from helpline.routing.whisper import load_staff_prompts
from helpline.sandbox.emulator.phones import Behaviour
from tests.conftest import make_settings
from tests.factories import csrf_token, login
from tests.live import Line

SUPERVISOR_PHONE = "+905550000931"
COUNSELLOR_PHONE = "+905550000932"
ALERT_EN = load_staff_prompts(DEFAULT_FLOWS_PATH).for_language("en").texts["alert"]
LISTENS = Behaviour("answer", after=2, talk=30, keys="")


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, redis_url, tmp_path / "instance", ALERT_RING_SECONDS="2")


def _alert(line: Line, call_id: int, kind: str) -> CallEvent:
    event = CallEvent(call_id=call_id, kind=kind, source="ivr", data={}, occurred_at=utcnow())
    line.factory.session.add(event)
    line.factory.session.commit()
    return event


def _state(line: Line, event: CallEvent) -> AlertState | None:
    return line.factory.session.scalars(
        sa.select(AlertState).where(AlertState.call_event_id == event.id)
    ).one_or_none()


@pytest.mark.slow
def test_alerts_live_unacknowledged_alert_rings_the_duty_supervisor(line: Line) -> None:
    """An alert nobody acknowledged within ALERT_RING_SECONDS rings the logged-in
    supervisor's registered phone once, from the helpline's number, saying only that there
    is an urgent alert on the console; an alert acknowledged in time rings nobody, and no
    counsellor's phone is rung."""
    line.factory.staff("elif", roles=("supervisor",), phone=SUPERVISOR_PHONE)
    line.sandbox.exchange.set_phone(SUPERVISOR_PHONE, LISTENS)
    line.on_duty("ayse", COUNSELLOR_PHONE)
    supervisor = line.app.test_client()
    assert login(supervisor, "elif").status_code == 302
    call = line.factory.call(language="ar", topic="violence", queued_at=utcnow())
    seen = _alert(line, call.id, "escalated")
    token = csrf_token(supervisor.get("/supervisor/").get_data(as_text=True))
    acknowledged = supervisor.post(
        f"/console/alerts/{seen.id}/acknowledge", data={"csrf_token": token}
    )
    assert acknowledged.status_code == 302
    unseen = _alert(line, call.id, "emergency_queued")  # due after the acknowledged one

    rung = line.until(
        lambda: (state := _state(line, unseen)) is not None and state.rings == 1,
        "the duty supervisor's phone to be rung",
    )
    assert rung
    assert line.sandbox.exchange.settle(60)
    legs = line.sandbox.exchange.list_legs()
    [leg] = [leg for leg in legs if leg.setup.to == SUPERVISOR_PHONE]
    assert leg.setup.from_ == "+903120000183"
    said = [heard.text for heard in leg.transcript.heard()]
    # Said twice, and nothing else: no language, topic or call of the caller.
    assert said == [ALERT_EN, ALERT_EN]
    assert "There is an urgent alert on the console" in ALERT_EN
    assert leg.transcript.errors() == [], leg.transcript.render()
    assert [leg for leg in legs if leg.setup.to == COUNSELLOR_PHONE] == []
    line.factory.session.expire_all()
    state = _state(line, seen)
    assert state is not None
    assert state.rung_at is None  # acknowledged in time: never rung
    assert state.acknowledged_at is not None
