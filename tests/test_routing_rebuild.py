"""After Redis restarts empty, routing's live state comes back from the database, and
calls the database still thinks are live are checked with the telephony provider."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask

from helpline.extensions import db, get_redis
from helpline.models import Call, CallEvent, utcnow
from helpline.models.enums import CallEventKind
from helpline.routing import live, offers, presence, rebuild
from helpline.routing.legs import COUNSELLOR, Leg
from helpline.routing.reservation import LINGER_SECONDS
from helpline.sandbox.emulator.phones import Behaviour
from helpline.sandbox.emulator.server import SandboxServer
from helpline.telephony.client import rest_client
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

        built = rebuild.ensure(db.session, connection, live.policy())
        assert built == rebuild.Rebuilt(staff=3, busy=1, connected_calls=1)
        assert rebuild.ensure(db.session, connection, live.policy()) is None  # once
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


def test_rebuild_keeps_a_phone_whose_offer_never_ended_from_other_calls(
    app: Flask, factory: Factory
) -> None:
    """An offer rang as Redis died, and its end never reached the database: that phone may
    still be on the line (ringing, whispering, apologising), so it is not rung for another
    call until its leg reports its end, which frees it at once, or could not last any
    longer. An offer that ended, or rang too long ago, keeps nobody."""
    ringing, declined, long_ago = (factory.staff(name) for name in ("ayse", "mehmet", "ali"))
    call = factory.call(language="tr", queued_at=utcnow() - dt.timedelta(minutes=1))
    with app.app_context():
        connection = get_redis()
        policy = live.policy()
        for staff in (ringing, declined, long_ago):
            presence.set_state(connection, db.session, staff.id, "available", reason="console")
            data: dict[str, object] = {
                "role": COUNSELLOR,
                "leg": f"CA{staff.id}",
                "offer": f"offer{staff.id}",
            }
            offers.event(db.session, call.id, CallEventKind.OFFERED, staff.id, data)
        offers.event(db.session, call.id, CallEventKind.OFFER_DECLINED, declined.id)
        too_old = utcnow() - dt.timedelta(seconds=policy.offer_leg_seconds + LINGER_SECONDS + 1)
        db.session.execute(
            sa.update(CallEvent)
            .where(CallEvent.staff_id == long_ago.id)
            .values(occurred_at=too_old)
        )
        db.session.commit()
        connection.flushdb()  # Redis restarted and lost the offers

        built = rebuild.ensure(db.session, connection, policy)
        assert built is not None
        assert built.ringing == 1
        kept = _live(connection, ringing.id)
        assert (kept["state"], kept["call"], kept["offer"], kept["lingering"]) == (
            "reserved",
            str(call.id),
            f"offer{ringing.id}",
            "1",
        )
        assert time.time() < float(kept["reserved_until"])
        duty = presence.on_duty(connection)
        assert {m.staff_id for m in duty.members if m.is_available} == {declined.id, long_ago.id}
        leg = Leg(call.id, ringing.id, COUNSELLOR, f"offer{ringing.id}")
        assert (
            offers.leg_ended(db.session, connection, live.reservations(), policy, leg, "completed")
            == "free"
        )
        assert _live(connection, ringing.id)["state"] == "available"


def test_rebuild_leaves_what_was_set_since_the_restart(app: Flask, factory: Factory) -> None:
    """A member of staff who changed state after the restart keeps the newer state."""
    staff = factory.staff("ayse")
    with app.app_context():
        connection = get_redis()
        presence.set_state(connection, db.session, staff.id, "available", reason="console")
        db.session.commit()
        connection.flushdb()
        connection.hset(f"helpline:staff:{staff.id}", mapping={"state": "break", "since": 1})
        rebuild.ensure(db.session, connection, live.policy())
        assert _live(connection, staff.id)["state"] == "break"


@contextlib.contextmanager
def _provider(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[tuple[Flask, Any]]:
    """An app whose REST client reaches the sandbox, and the sandbox's exchange."""
    from helpline import create_app
    from tests.conftest import _empty_tables, make_settings

    settings = make_settings(database_url, redis_url, tmp_path / "instance")
    with SandboxServer(settings, port=0, speed=50.0) as sandbox:
        app = create_app(
            make_settings(
                database_url, redis_url, tmp_path / "instance", TWILIO_API_BASE_URL=sandbox.url
            ),
            {"TESTING": True},
        )
        try:
            with app.app_context():
                yield app, sandbox.exchange
        finally:
            _empty_tables(app)
            redis.Redis.from_url(redis_url).flushdb()


def _leg(app: Flask, to: str, twiml: str) -> str:
    client = rest_client(app.extensions["helpline.settings"])
    sid = client.calls.create(to=to, from_="+903120000183", twiml=twiml).sid
    client.http_client.session.close()
    return str(sid)


def test_reconcile_ends_calls_the_provider_says_are_over(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """A call whose final status callback never came (Redis or the app was down) is asked
    about through the REST API and ended with the provider's word."""
    from helpline.tasks.dispatch import reconcile_calls

    with _provider(database_url, redis_url, tmp_path) as (app, exchange):
        exchange.set_phone("+905550000901", Behaviour("answer", after=1, talk=2))
        sid = _leg(app, "+905550000901", "<Response><Pause/></Response>")
        assert exchange.settle(30)
        leg = exchange.get_leg(sid)
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


def test_reconcile_frees_staff_whose_offer_leg_is_over(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Staff kept from calls while an offer's leg might be on their phone (rebuilt after
    Redis restarted) are freed once the provider says that leg is over; a leg still on the
    line keeps its member of staff until it ends."""
    from helpline.tasks.dispatch import reconcile_calls

    with _provider(database_url, redis_url, tmp_path) as (app, exchange):
        factory = Factory(db.session)
        over, ringing = factory.staff("ayse", password=None), factory.staff("mehmet", password=None)
        call = factory.call(language="tr", queued_at=utcnow())
        exchange.set_phone("+905550000901", Behaviour("answer", after=1, talk=1))
        exchange.set_phone("+905550000902", Behaviour("answer", after=1, talk=600))
        connection = get_redis()
        sids = {}
        for staff, phone in ((over, "+905550000901"), (ringing, "+905550000902")):
            sid = sids[staff.id] = _leg(app, phone, "<Response><Pause length='600'/></Response>")
            presence.set_state(connection, db.session, staff.id, "available", reason="console")
            data: dict[str, object] = {"role": COUNSELLOR, "leg": sid, "offer": f"o{staff.id}"}
            offers.event(db.session, call.id, CallEventKind.OFFERED, staff.id, data)
        db.session.commit()
        deadline = time.monotonic() + 30
        while exchange.get_leg(sids[over.id]).status != "completed":
            assert time.monotonic() < deadline, "the first leg did not end"
            time.sleep(0.05)
        connection.flushdb()
        assert rebuild.ensure(db.session, connection, live.policy()) is not None
        reconcile_calls()
        assert _live(connection, over.id)["state"] == "available"
        assert _live(connection, ringing.id)["state"] == "reserved"


def test_staff_stuck_after_a_redis_blip_are_freed_every_minute(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Redis was unreachable for a moment and kept its data: the call's end reached the
    database but not the live state, so its counsellor still looks busy, and no rebuild
    will come. The workers queue `reconcile_staff` at most once a minute; it sends that
    counsellor to wrap-up, and leaves alone one whose call goes on."""
    from rq import Queue

    from helpline.tasks.maintenance import enqueue_staff_reconcile, reconcile_staff

    with _provider(database_url, redis_url, tmp_path):
        factory = Factory(db.session)
        stuck, talking = factory.staff("ayse", password=None), factory.staff("ali", password=None)
        ended = factory.call(language="tr", answered_at=utcnow(), ended_at=utcnow())
        going = factory.call(language="tr", answered_at=utcnow())
        connection = get_redis()
        for staff, call in ((stuck, ended), (talking, going)):
            presence.set_state(connection, db.session, staff.id, "available", reason="console")
            connection.hset(
                f"helpline:staff:{staff.id}", mapping={"state": "busy", "call": call.id}
            )
        db.session.commit()

        assert enqueue_staff_reconcile(connection)
        assert not enqueue_staff_reconcile(connection)  # once a minute, whichever worker asks
        queued = Queue("maintenance", connection=connection).job_ids
        assert [job for job in queued if job.startswith("maintenance-reconcile-staff-")]
        reconcile_staff()
        assert _live(connection, stuck.id)["state"] == "wrap_up"
        assert _live(connection, talking.id)["state"] == "busy"
