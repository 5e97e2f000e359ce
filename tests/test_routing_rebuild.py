"""After Redis restarts empty, routing's live state comes back from the database, and
calls the database still thinks are live are checked with the telephony provider."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import redis
import sqlalchemy as sa
from flask import Flask

from helpline.extensions import db, get_redis
from helpline.models import Call, utcnow
from helpline.routing import presence, rebuild
from helpline.telephony.client import rest_client
from helpline.telephony.emulator.phones import Behaviour
from helpline.telephony.emulator.server import SandboxServer
from tests.factories import Factory


def _live(connection: redis.Redis, staff_id: int) -> dict[str, str]:
    return presence.live_state(connection, staff_id)


def test_rebuild_restores_presence_and_who_is_in_a_call(
    app: Flask, factory: Factory, redis_url: str
) -> None:
    """Available and on-break staff come back with their skills; offline staff do not;
    a counsellor in a call the database says goes on is busy with it, the call connected."""
    available = factory.staff("ayse", languages=("ar", "tr"), topics=("violence",))
    resting = factory.staff("mehmet")
    gone = factory.staff("zeynep")
    talking = factory.staff("ali")
    call = factory.call(
        language="ar",
        queued_at=utcnow() - dt.timedelta(minutes=3),
        answered_at=utcnow() - dt.timedelta(minutes=2),
        counsellor_id=talking.id,
    )
    with app.app_context():
        connection = get_redis()
        for staff, state in (
            (available, "available"),
            (resting, "break"),
            (gone, "offline"),
            (talking, "available"),
        ):
            presence.set_state(connection, db.session, staff.id, state, reason="console")
        db.session.commit()
        connection.flushdb()  # Redis restarted and lost everything

        built = rebuild.ensure(db.session, connection)
        assert built == rebuild.Rebuilt(staff=3, busy=1, connected_calls=1)
        assert rebuild.ensure(db.session, connection) is None  # once
        ayse = _live(connection, available.id)
        assert (ayse["state"], ayse["languages"], ayse["topics"]) == (
            "available",
            "ar,tr",
            "violence",
        )
        assert ayse["roles"] == "counsellor"
        assert _live(connection, resting.id)["state"] == "break"
        assert _live(connection, gone.id) == {}
        assert (_live(connection, talking.id)["state"], _live(connection, talking.id)["call"]) == (
            "busy",
            str(call.id),
        )
        online = {int(raw) for raw in connection.smembers(presence.ONLINE_KEY)}
        assert online == {available.id, resting.id, talking.id}
        duty = presence.on_duty(connection)
        assert {m.staff_id for m in duty.members if m.is_available} == {available.id}
        assert connection.hget(f"helpline:call:{call.id}", "state") == b"connected"


def test_rebuild_leaves_what_was_set_since_the_restart(app: Flask, factory: Factory) -> None:
    """A member of staff who changed state after the restart keeps the newer state."""
    staff = factory.staff("ayse")
    with app.app_context():
        connection = get_redis()
        presence.set_state(connection, db.session, staff.id, "available", reason="console")
        db.session.commit()
        connection.flushdb()
        connection.hset(f"helpline:staff:{staff.id}", mapping={"state": "break", "since": 1})
        rebuild.ensure(db.session, connection)
        assert _live(connection, staff.id)["state"] == "break"


def test_reconcile_ends_calls_the_provider_says_are_over(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A call whose final status callback never came (Redis or the app was down) is asked
    about through the REST API and ended with the provider's word."""
    from helpline import create_app
    from helpline.tasks.maintenance import reconcile_calls
    from tests.conftest import _empty_tables, make_settings

    settings = make_settings(database_url, redis_url, tmp_path / "instance")
    with SandboxServer(settings, port=0, speed=50.0) as sandbox:
        sandbox.exchange.set_phone("+905550000901", Behaviour("answer", after=1, talk=2))
        app = create_app(
            make_settings(
                database_url, redis_url, tmp_path / "instance", TWILIO_API_BASE_URL=sandbox.url
            ),
            {"TESTING": True},
        )
        try:
            with app.app_context():
                client = rest_client(app.extensions["helpline.settings"])
                sid = client.calls.create(
                    to="+905550000901", from_="+903120000183", twiml="<Response><Pause/></Response>"
                ).sid
                client.http_client.session.close()
                assert sandbox.exchange.settle(30)
                leg = sandbox.exchange.get_leg(str(sid))
                assert leg.status == "completed"
                over = Call(call_sid=leg.sid, answered_at=utcnow(), language="tr")
                going = Call(call_sid="CA" + "0" * 32, language="tr")  # unknown to it
                db.session.add_all([over, going])
                db.session.commit()
                assert reconcile_calls() == 1
                db.session.expire_all()
                ended = db.session.scalars(sa.select(Call).where(Call.call_sid == leg.sid)).one()
                assert ended.ended_at is not None
                assert ended.outcome == "answered"
                still = db.session.scalars(sa.select(Call).where(Call.id == going.id)).one()
                assert still.ended_at is None
        finally:
            _empty_tables(app)
            redis.Redis.from_url(redis_url).flushdb()
