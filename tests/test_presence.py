"""Presence from the console: Redis holds the live state, the database every change."""

from __future__ import annotations

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from helpline.models import PresenceChange
from tests.factories import Factory, login, post_form


def _live(redis_url: str, staff_id: int) -> str | None:
    value = redis.Redis.from_url(redis_url).hget(f"helpline:staff:{staff_id}", "state")
    return value.decode() if isinstance(value, bytes) else None


@pytest.mark.parametrize(
    ("roles", "page"), [(("counsellor",), "/console/"), (("interpreter",), "/console/interpreter")]
)
def test_staff_set_their_state_from_the_console(
    client: FlaskClient, factory: Factory, redis_url: str, roles: tuple[str, ...], page: str
) -> None:
    """Available, break, offline: live in Redis, kept in presence_change, shown on the page."""
    staff = factory.staff("ayse", roles=roles, languages=("tr", "ar"))
    login(client, "ayse")
    assert "Offline" in client.get(page).get_data(as_text=True)
    response = post_form(client, page, "/console/presence", {"state": "available"})
    assert response.status_code == 302
    assert _live(redis_url, staff.id) == "available"
    assert 'Now: <strong class="presence presence-available">Available' in client.get(
        page
    ).get_data(as_text=True)
    post_form(client, page, "/console/presence", {"state": "break"})
    assert _live(redis_url, staff.id) == "break"
    states = factory.session.scalars(
        sa.select(PresenceChange.state)
        .where(PresenceChange.staff_id == staff.id)
        .order_by(PresenceChange.id)
    ).all()
    assert states == ["available", "break"]


def test_busy_cannot_be_chosen_by_hand(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    staff = factory.staff("ayse")
    login(client, "ayse")
    response = post_form(client, "/console/", "/console/presence", {"state": "busy"})
    assert response.status_code == 302
    assert "Choose available" in client.get("/console/").get_data(as_text=True)
    assert _live(redis_url, staff.id) is None


def test_logout_takes_a_counsellor_offline(
    client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    staff = factory.staff("ayse")
    login(client, "ayse")
    post_form(client, "/console/", "/console/presence", {"state": "available"})
    post_form(client, "/console/", "/logout")
    assert _live(redis_url, staff.id) == "offline"


def test_supervisors_have_no_presence_control(client: FlaskClient, factory: Factory) -> None:
    factory.staff("elif", roles=("supervisor",))
    login(client, "elif")
    assert (
        post_form(client, "/supervisor/", "/console/presence", {"state": "available"}).status_code
        == 403
    )


def test_missed_offers_make_a_counsellor_not_ready_with_a_notice(
    app: Flask, client: FlaskClient, factory: Factory, redis_url: str
) -> None:
    """Offers that ring out `no_answer_limit` times in a row put the counsellor on a break
    (reason missed_offers), and their console says why; answering one resets the count."""
    from helpline.extensions import db, get_redis
    from helpline.routing import live, offers, presence
    from helpline.routing.legs import COUNSELLOR, Leg

    staff = factory.staff("ayse")
    call = factory.call(language="tr")
    with app.app_context():
        connection, reservations, policy = get_redis(), live.reservations(), live.policy()
        presence.set_state(connection, db.session, staff.id, "available", reason="console")
        for attempt in range(1, policy.no_answer_limit + 1):
            offer = f"a{attempt}"
            assert reservations.reserve(call.id, [staff.id], 60, offer=offer)
            leg = Leg(call.id, staff.id, COUNSELLOR, offer)
            assert offers.leg_ended(db.session, connection, reservations, policy, leg, "no-answer")
            expected = "break" if attempt == policy.no_answer_limit else "available"
            assert presence.live_state(connection, staff.id)["state"] == expected
        db.session.commit()
    login(client, "ayse")
    page = client.get("/console/").get_data(as_text=True)
    assert "went unanswered several times in a row" in page
    reasons = factory.session.scalars(
        sa.select(PresenceChange.reason).where(PresenceChange.staff_id == staff.id)
    ).all()
    assert reasons[-1] == "missed_offers"
