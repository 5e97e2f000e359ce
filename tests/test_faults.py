"""The fault suite: the line under traffic while its parts fail (`pytest -m fault`).

Each case plays callers through the telephony sandbox (served over HTTP), with staff
phones answering and real RQ worker processes dialling, and breaks something while
calls are in flight:

- Redis is killed (SIGKILL, nothing saved) and started again, empty: a Redis this test
  starts itself, never the shared one;
- PostgreSQL terminates every connection to the test's own database (SQLite: skipped);
- the test's own database refuses every connection for 20 s (the call log is journalled);
- an RQ worker is killed with SIGKILL and another is started, as a supervisor would;
- every status callback is sent twice, and held back so that the next one overtakes it.

Each case then shows the same four things:

1. every webhook request the sandbox made was answered 200 with TwiML that parsed;
2. no call record was lost: every caller's leg has its call, ended, with an outcome;
3. no double dial: no staff phone rang for two calls at once, and no offer rang twice;
4. live state is whole afterwards: Redis's live state is (re)built, nobody is left
   reserved or busy, and a caller after the fault reaches a counsellor.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import sqlalchemy as sa

from helpline import create_app
from helpline.config import Settings
from helpline.embedded import EmbeddedRedis
from helpline.extensions import db, get_redis
from helpline.models import Call, CallEvent
from helpline.models.enums import CallEventKind, CallOutcome
from helpline.routing import presence, rebuild
from helpline.sandbox.emulator.deliveries import Faults
from helpline.sandbox.emulator.legs import Leg
from helpline.sandbox.emulator.phones import Behaviour
from tests.conftest import _empty_tables, make_settings
from tests.factories import Factory
from tests.live import Line, all_answered, live_line
from tests.test_journal import database_refusing
from tests.test_routing_live import _fast_flows, _overlapping

pytestmark = [pytest.mark.fault, pytest.mark.slow]

TURKISH = "press 1; press 2; press 1"  # Turkish, do not remember, psychosocial; then wait
# Counsellors stay on the line long enough for the caller to reach the room even on a
# loaded machine (a counsellor who leaves first is the requeue case, tested elsewhere).
QUICK = Behaviour("answer", after=2, talk=200, keys="1")
STAFF_PHONES = tuple(f"+9055500009{n:02d}" for n in range(3))
CALLERS_PER_WAVE = 4


@dataclasses.dataclass
class Traffic:
    line: Line
    staff_ids: list[int]
    legs: list[Leg] = dataclasses.field(default_factory=list)
    placed: int = 0

    def wave(self, count: int = CALLERS_PER_WAVE) -> list[Leg]:
        """Callers ringing one after the other (a few tenths of a second apart)."""
        new = []
        for _ in range(count):
            new.append(self.line.call(f"+90532114{self.placed:04d}", TURKISH))
            self.placed += 1
            time.sleep(0.2)
        self.legs.extend(new)
        return new


def _settings(database_url: str, redis_url: str, tmp_path: Path, **extra: str) -> Settings:
    """Test settings with routing's short stages and a one-second wrap-up."""
    flows = str(_fast_flows(tmp_path))
    return make_settings(
        database_url, redis_url, tmp_path / "instance", IVR_FLOWS_PATH=flows, **extra
    )


@contextlib.contextmanager
def _line(settings: Settings, tmp_path: Path, workers: int = 1) -> Iterator[Traffic]:
    """The live line on these settings, three Turkish counsellors on duty."""
    app = create_app(settings, {"TESTING": True})
    with app.app_context():
        engine = db.engine
    factory = Factory(sa.orm.Session(engine))
    try:
        with live_line(app, settings, factory, tmp_path, workers=workers) as line:
            staff = [
                line.on_duty(f"counsellor{n}", phone, QUICK).id
                for n, phone in enumerate(STAFF_PHONES)
            ]
            yield Traffic(line, staff)
    finally:
        factory.session.close()
        _empty_tables(app)


def _staff_events(line: Line) -> str:
    """What routing did with each member of staff, in order (for a failure's message)."""
    rows = line.factory.session.execute(
        sa.select(CallEvent.occurred_at, CallEvent.call_id, CallEvent.kind, CallEvent.staff_id)
        .where(CallEvent.staff_id.is_not(None))
        .order_by(CallEvent.id)
    )
    return "\n".join(f"{at:%H:%M:%S.%f} call {c} {kind} staff {s}" for at, c, kind, s in rows)


def _offer_of(leg: Leg) -> str | None:
    for request in leg.transcript.requests():
        offer = parse_qs(urlsplit(request.url).query).get("o")
        if offer:
            return offer[0]
    return None


def _assert_line_held(traffic: Traffic, connection: redis.Redis) -> None:
    """The four promises, once every call has ended."""
    line = traffic.line
    for leg in traffic.legs:
        line.when(leg, lambda c: c.ended_at, "every call to end", seconds=120)
    assert line.sandbox.exchange.settle(60)
    # 1. Every webhook answered with TwiML (the staff legs' too).
    staff_legs = [leg for leg in line.sandbox.exchange.list_legs() if leg.setup.to in STAFF_PHONES]
    for leg in [*traffic.legs, *staff_legs]:
        all_answered(leg)
    # 2. No call record lost.
    calls = {
        call.call_sid: call
        for call in line.factory.session.scalars(
            sa.select(Call).where(Call.call_sid.in_([leg.sid for leg in traffic.legs]))
        )
    }
    assert sorted(calls) == sorted(leg.sid for leg in traffic.legs)
    for call in calls.values():
        assert call.ended_at is not None
        assert call.outcome != CallOutcome.IN_PROGRESS, call.call_sid
    # 3. No double dial.
    spans: dict[str, list[tuple[dt.datetime, dt.datetime, str]]] = collections.defaultdict(list)
    for leg in staff_legs:
        spans[leg.setup.to].append(
            (leg.created, leg.end_time or leg.created, leg.transcript.render())
        )
    for phone_spans in spans.values():
        both = _overlapping(phone_spans)
        assert not both, (
            f"a staff phone was rung for two calls at once:\n{both}\n{_staff_events(line)}"
        )
    offers = collections.Counter(_offer_of(leg) for leg in staff_legs)
    offers.pop(None, None)
    assert [offer for offer, count in offers.items() if count > 1] == []

    # 4. Live state whole: built, nobody left reserved or in a call that ended.
    def states() -> dict[int, dict[str, str]]:
        return {
            staff_id: presence.live_state(connection, staff_id) for staff_id in traffic.staff_ids
        }

    free = ("available", "wrap_up")
    try:
        line.until(
            lambda: all(s.get("state") in free for s in states().values()),
            "every counsellor to be free again",
        )
    except pytest.fail.Exception:
        pytest.fail(f"a counsellor was left engaged: {states()}")
    assert connection.exists(rebuild.BUILT_KEY)
    # And the line still routes: one more caller reaches a counsellor.
    last = traffic.line.call("+905321149999", TURKISH)
    traffic.legs.append(last)
    call = line.when(last, lambda c: c.ended_at, "the last call to end", seconds=120)
    all_answered(last)
    assert call.counsellor_id in traffic.staff_ids, call.outcome


def _answered(traffic: Traffic) -> int:
    sids = [leg.sid for leg in traffic.legs]
    session = traffic.line.factory.session
    session.expire_all()
    return (
        session.scalar(
            sa.select(sa.func.count()).where(Call.call_sid.in_(sids), Call.answered_at.is_not(None))
        )
        or 0
    )


def test_fault_redis_killed_and_restarted_empty(database_url: str, tmp_path: Path) -> None:
    """Redis dies (SIGKILL) with calls in flight and comes back empty: every webhook is
    still answered, no call is lost, and the live state is rebuilt from the database."""
    server = EmbeddedRedis(tmp_path / "redis", persist=False)
    settings = _settings(database_url, server.url, tmp_path, DUTY_LINE_NUMBER="+905550000183")
    try:
        with _line(settings, tmp_path) as traffic:
            traffic.line.sandbox.exchange.set_phone("+905550000183", QUICK)
            traffic.wave()
            traffic.line.until(lambda: _answered(traffic) >= 1, "a first caller to be answered")
            server.kill()
            traffic.wave(2)  # callers while Redis is down: the IVR answers, the duty line
            time.sleep(1)
            server.restart()
            with traffic.line.app.app_context():
                assert not get_redis().exists(rebuild.BUILT_KEY)  # it came back empty
            traffic.wave()
            connection = redis.Redis.from_url(server.url)
            _assert_line_held(traffic, connection)
            # The worker waited for Redis rather than exiting: RQ retries on its own when the
            # connection fails while it waits for a job; when it fails anywhere else (a job,
            # the heartbeat, maintenance), RQ's loop ends and ours starts it again.
            assert [worker.poll() for worker in traffic.line.workers] == [None]
            worker_log = traffic.line.worker_log.read_text()
            assert (
                "Redis unreachable; starting again" in worker_log
                or "could not connect to Redis instance" in worker_log
            ), "the worker never noticed that Redis was gone"
    finally:
        server.stop()


def test_fault_postgresql_connections_dropped(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """PostgreSQL drops every connection to the test database twice while calls are in
    flight: pooled connections are replaced, and nothing is lost or rung twice."""
    if not database_url.startswith("postgresql"):
        pytest.skip("drops PostgreSQL connections: runs with HELPLINE_TEST_DATABASE_URL")
    name = sa.make_url(database_url).database
    settings = _settings(database_url, redis_url, tmp_path)
    admin = sa.create_engine(
        sa.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        with _line(settings, tmp_path) as traffic:
            for _ in range(2):
                traffic.wave()
                traffic.line.until(
                    lambda: _answered(traffic) >= 1, "a caller to be answered", seconds=60
                )
                traffic.line.factory.session.close()  # the test's own reads reconnect too
                with admin.connect() as connection:
                    dropped = connection.execute(
                        sa.text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": name},
                    ).scalar_one()
                assert dropped >= 1
            traffic.wave()
            _assert_line_held(traffic, redis.Redis.from_url(redis_url))
    finally:
        admin.dispose()
        redis.Redis.from_url(redis_url).flushdb()


def test_fault_worker_killed_with_sigkill(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """An RQ worker is killed with SIGKILL while it dials staff; another takes over. Work
    it held is not done twice, and every caller is still served."""
    settings = _settings(database_url, redis_url, tmp_path)
    try:
        with _line(settings, tmp_path, workers=2) as traffic:
            traffic.wave()
            traffic.line.until(lambda: _answered(traffic) >= 1, "a first caller to be answered")
            traffic.line.kill_worker(traffic.line.workers[0])
            traffic.wave()
            traffic.line.start_worker()
            traffic.wave()
            _assert_line_held(traffic, redis.Redis.from_url(redis_url))
    finally:
        redis.Redis.from_url(redis_url).flushdb()


def test_fault_callbacks_duplicated_and_reordered(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Every status callback (callers' and staff legs') arrives twice, and out of order:
    each call keeps one record, ends once, and no offer rings twice."""
    settings = _settings(database_url, redis_url, tmp_path)
    try:
        with _line(settings, tmp_path) as traffic:
            traffic.line.sandbox.exchange.set_faults(Faults(duplicate=1.0, reorder=True))
            traffic.wave()
            traffic.wave()
            traffic.line.sandbox.exchange.set_faults(Faults())
            _assert_line_held(traffic, redis.Redis.from_url(redis_url))
            session = traffic.line.factory.session
            for leg in traffic.legs:
                ended = session.scalar(
                    sa.text(
                        "SELECT count(*) FROM call_event e JOIN call c ON c.id = e.call_id "
                        "WHERE c.call_sid = :sid AND e.kind = 'ended'"
                    ),
                    {"sid": leg.sid},
                )
                assert ended == 1, leg.sid
    finally:
        redis.Redis.from_url(redis_url).flushdb()


def test_fault_database_unreachable_for_twenty_seconds(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The database refuses every connection for 20 s while callers keep ringing: each
    webhook still answers TwiML (the fallback: the duty line), what they would have
    written is journalled, and once the database is back every caller's call is in the
    call log, ended, with an outcome; the journal is empty again."""
    if not database_url.startswith("postgresql"):
        pytest.skip("refuses PostgreSQL connections: runs with HELPLINE_TEST_DATABASE_URL")
    duty = "+905550000184"
    settings = _settings(database_url, redis_url, tmp_path, DUTY_LINE_NUMBER=duty)
    try:
        with _line(settings, tmp_path) as traffic:
            traffic.line.sandbox.exchange.set_phone(duty, QUICK)
            traffic.wave()
            traffic.line.until(lambda: _answered(traffic) >= 1, "a first caller to be answered")
            traffic.line.factory.session.close()  # the test's own reads reconnect after
            with database_refusing(database_url):
                cut = time.monotonic()
                during = traffic.wave(3)
                time.sleep(max(0.0, 20 - (time.monotonic() - cut)))
            traffic.wave()
            _assert_line_held(traffic, redis.Redis.from_url(redis_url))
            session = traffic.line.factory.session
            late = session.scalars(
                sa.select(Call.call_sid)
                .join(CallEvent, CallEvent.call_id == Call.id)
                .where(CallEvent.kind == CallEventKind.JOURNALLED)
            ).all()
            assert {leg.sid for leg in during} <= set(late)
            journal = settings.instance_path / "journal"
            assert not list(journal.glob("*.jsonl")), "entries left unreplayed"
            assert not list(journal.glob("*.aside")), "entries set aside"
    finally:
        redis.Redis.from_url(redis_url).flushdb()
