"""Staff set their presence by phone, calling the line from their registered number."""

from __future__ import annotations

import redis
import sqlalchemy as sa
from flask.testing import FlaskClient

from helpline.config import Settings
from helpline.models import Call, PresenceChange
from tests.factories import Factory
from tests.voice import Phone

STAFF_PHONE = "+905550001183"


def _state(redis_url: str, staff_id: int) -> str | None:
    value = redis.Redis.from_url(redis_url).hget(f"helpline:staff:{staff_id}", "state")
    return value.decode() if isinstance(value, bytes) else None


def test_staffline_counsellor_goes_available_by_phone(
    client: FlaskClient, settings: Settings, factory: Factory, redis_url: str
) -> None:
    """A counsellor calling from their registered phone hears the presence menu in their
    console language; 1 makes them available, live and in presence_change, and the call
    is not in the call log."""
    staff = factory.staff("ayse", phone=STAFF_PHONE, password=None, ui_language="tr")
    phone = Phone(client, settings, caller=STAFF_PHONE)
    phone.dial_in()
    assert phone.heard()[0].startswith("ALO 183 görevli hattı.")
    phone.press("1")
    assert phone.heard() == ["Durumunuz: müsait."]
    assert _state(redis_url, staff.id) == "available"
    changes = factory.session.scalars(sa.select(PresenceChange)).all()
    assert [(c.staff_id, c.state, c.reason) for c in changes] == [(staff.id, "available", "phone")]
    assert phone.status("completed", 0).status_code == 200
    assert factory.session.scalar(sa.select(sa.func.count()).select_from(Call)) == 0


def test_staffline_break_and_offline_and_the_callers_menu(
    client: FlaskClient, settings: Settings, factory: Factory, redis_url: str
) -> None:
    """2 is a break, 3 offline; 0 goes on into the line's own menu, as any caller."""
    staff = factory.staff(
        "ali", roles=("interpreter",), phone=STAFF_PHONE, password=None, ui_language="tr"
    )
    for key, state in (("2", "break"), ("3", "offline")):
        phone = Phone(client, settings, caller=STAFF_PHONE)
        phone.dial_in()
        phone.press(key)
        assert _state(redis_url, staff.id) == state
    phone = Phone(client, settings, caller=STAFF_PHONE)
    phone.dial_in()
    root = phone.press("0")
    redirect = root.find("Redirect")
    assert redirect is not None
    assert (redirect.text or "").endswith("/voice/incoming?as=caller")
    phone._twiml(phone.post(redirect.text or "", phone.params()))
    assert phone.node() == "choose_language"


def test_staffline_ignores_people_who_are_not_routed(
    client: FlaskClient, settings: Settings, factory: Factory
) -> None:
    """A supervisor's phone, or anyone else's, reaches the callers' flow."""
    factory.staff("elif", roles=("supervisor",), phone=STAFF_PHONE, password=None)
    phone = Phone(client, settings, caller=STAFF_PHONE)
    phone.dial_in()
    assert phone.node() == "choose_language"


def test_staffline_refuses_available_during_a_call(
    client: FlaskClient, settings: Settings, factory: Factory, redis_url: str
) -> None:
    """Someone in a call cannot make themselves available by phone either."""
    staff = factory.staff("ayse", phone=STAFF_PHONE, password=None, ui_language="tr")
    redis.Redis.from_url(redis_url).hset(f"helpline:staff:{staff.id}", "state", "busy")
    phone = Phone(client, settings, caller=STAFF_PHONE)
    phone.dial_in()
    phone.press("1")
    assert phone.heard() == ["Bir görüşmedesiniz ya da size bir çağrı sunuluyor; önce onu bitirin."]
    assert _state(redis_url, staff.id) == "busy"
