"""Run RQ workers on the queues named by purpose, with the scheduler.

The app is built once; RQ forks a work horse per job, and the database pool must never
cross that fork, so each child throws away the connections it inherited.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import time
from types import FrameType

import redis
from flask import Flask
from rq import Queue, Worker
from rq.exceptions import StopRequested

from helpline.config import ConfigError, Settings
from helpline.extensions import QUEUE_NAMES, db, get_redis
from helpline.models import utcnow

log = logging.getLogger(__name__)
OUTAGE_RETRY_SECONDS = 1.0


class StopSignal:
    """SIGTERM or SIGINT received while no RQ worker is listening for them.

    RQ installs its own handlers only once a worker has registered in Redis, and takes them
    away when it stops. Before that (at start, and between restarts while Redis is down) a
    stop request must not be lost, nor kill the process half-way (nor be ignored, as the
    default action is for PID 1 in a container): it is recorded here, the wait before the
    next start ends, and the next worker stops at once.
    """

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        log.info("worker: stop requested (%s)", signal.Signals(signum).name)
        self.requested = True

    def sleep(self, seconds: float) -> None:
        """Wait, unless a stop is requested meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(min(0.1, seconds))


def _forget_inherited_connections(app: Flask) -> None:
    def after_fork() -> None:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork)


class HelplineWorker(Worker):
    """An RQ worker that also keeps the callback sweeper and the staff reconcile going.

    Between jobs (at most every half of the shorter sweep interval, the callbacks' or the
    alerts', and while idle at least every time its wait for a job ends: see `timing`) it
    queues `sweep_callbacks` on the maintenance queue, unless any worker did in the last
    sweep interval (CALLBACK_SWEEP_SECONDS, 20 s by default). So the sweeper survives a
    dead worker, an emptied Redis and a scheduler that stopped: a due callback is at most
    about a minute late. Likewise, at most once a minute, `reconcile_staff`
    (tasks/maintenance.py) frees staff whose live state is stuck, and at most every
    ALERT_SWEEP_SECONDS (5 s) `sweep_alerts` (tasks/alerts.py) rings the duty supervisor
    for alerts nobody acknowledged, and, when the outage journal holds entries,
    `replay_journal` writes them into the call log (at most every JOURNAL_REPLAY_SECONDS).

    It also stops when told to while Redis is unreachable: RQ's handler asks Redis whether
    a job is running, and the connection error it raised was taken for an outage.
    """

    stop_signal: StopSignal | None = None

    @property
    def stop_was_requested(self) -> bool:
        return self._shutdown_requested_date is not None

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()  # type: ignore[no-untyped-call]
        if self.stop_signal is not None and self.stop_signal.requested:
            # A signal came before RQ listened: stop before taking a job.
            self._shutdown_requested_date = utcnow()
            self._stop_requested = True

    def _shutdown(self) -> None:
        try:
            super()._shutdown()  # type: ignore[no-untyped-call]
        except redis.RedisError:
            # Redis cannot say whether a job runs; this process knows: a work horse.
            self._stop_requested = True
            if not self.horse_pid:
                raise StopRequested() from None

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[no-untyped-call]
        except redis.RedisError:
            # Its registration in Redis expires by itself (worker TTL).
            self.log.warning("worker: Redis unreachable while stopping")
            thread = getattr(self, "pubsub_thread", None)  # typed None in RQ
            if thread is not None:
                thread.stop()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        from flask import current_app

        from helpline.journal import journal_of
        from helpline.tasks.alerts import enqueue_alert_sweep
        from helpline.tasks.callbacks import enqueue_sweep
        from helpline.tasks.maintenance import enqueue_journal_replay, enqueue_staff_reconcile
        from helpline.tasks.reports import enqueue_monthly_report

        try:
            enqueue_sweep(self.connection)
            enqueue_staff_reconcile(self.connection)
            enqueue_alert_sweep(self.connection)
            enqueue_journal_replay(self.connection, journal_of(current_app))
            enqueue_monthly_report(self.connection)
        except redis.RedisError:
            self.log.warning("maintenance sweeps not queued: Redis unreachable")


def timing(sweep_seconds: int) -> tuple[int, int]:
    """RQ's maintenance interval and worker TTL for this sweep interval: (10, 30) for the
    default 20 s. RQ's blocking wait for a job lasts the TTL minus 15 s; an idle worker
    runs its maintenance when the wait ends, so the wait is at most the sweep interval."""
    return max(1, sweep_seconds // 2), 15 + min(15, sweep_seconds)


def build_worker(
    app: Flask, name: str | None = None, stop_signal: StopSignal | None = None
) -> HelplineWorker:
    connection = get_redis()
    queues = [Queue(queue, connection=connection) for queue in QUEUE_NAMES]
    settings: Settings = app.extensions["helpline.settings"]
    from helpline.tasks.alerts import ALERT_SWEEP_SECONDS

    maintenance, ttl = timing(min(settings.callback_sweep_seconds, ALERT_SWEEP_SECONDS))
    worker = HelplineWorker(
        queues,
        connection=connection,
        name=name or f"helpline-{socket.gethostname()}-{os.getpid()}",
        log_job_description=False,  # job arguments never reach the log
        maintenance_interval=maintenance,
        worker_ttl=ttl,
    )
    worker.stop_signal = stop_signal
    return worker


def _schedule_retention(app: Flask) -> None:
    """Make sure a retention purge is scheduled, so periodic destruction never lapses while
    a worker runs. A database not migrated yet must not stop the worker's other queues."""
    import redis
    import sqlalchemy as sa

    from helpline.tasks.retention import ensure_purge_scheduled

    try:
        ensure_purge_scheduled()
    except (sa.exc.SQLAlchemyError, redis.RedisError) as error:
        db.session.rollback()
        app.logger.error(
            "retention purge not scheduled (%s); the next worker start retries",
            type(error).__name__,
        )


def _work_through_outages(app: Flask, settings: Settings, *, burst: bool) -> bool:
    """Work; when Redis goes away, wait for it and work again instead of exiting.

    RQ's worker ends when its connection fails. The queues live in Redis, so there is no
    work until it is back; a worker that stayed dead would leave routing without hands
    after every Redis restart. Each new start registers under a new name. A stop asked
    for (SIGTERM, Ctrl-C) ends it whatever state Redis is in.
    """
    stop = StopSignal()
    for attempt in itertools.count():
        stop.install()  # until RQ's own handlers take over, and again after they go
        if stop.requested:
            return False
        name = f"helpline-{socket.gethostname()}-{os.getpid()}" + (f"-{attempt}" if attempt else "")
        worker: HelplineWorker | None = None
        try:
            worker = build_worker(app, name, stop)
            worked = worker.work(burst=burst, with_scheduler=True, logging_level=settings.log_level)
        except StopRequested:
            return False  # a signal while RQ was stopping on its own (Redis lost)
        except (redis.ConnectionError, redis.TimeoutError):
            if burst:
                raise
        else:
            # RQ also quits, without raising, on an error inside its loop (a connection
            # reset in its maintenance or heartbeat while Redis restarts). Only a stop that
            # was asked for (a signal) or a burst ends the worker.
            if burst or worker.stop_was_requested:
                return bool(worked)
        if stop.requested or (worker is not None and worker.stop_was_requested):
            return False
        log.warning("worker: Redis unreachable; starting again in %s s", OUTAGE_RETRY_SECONDS)
        stop.install()
        stop.sleep(OUTAGE_RETRY_SECONDS)
    raise AssertionError("unreachable")


def run_worker(settings: Settings, *, burst: bool = False) -> int:
    """Work until told to stop (SIGTERM or Ctrl-C finish the current job first)."""
    from helpline import create_app

    if not settings.redis_url:
        raise ConfigError(
            "REDIS_URL is not set: a separate worker needs a shared Redis "
            "(`helpline run` starts the embedded one and a worker together)"
        )
    app = create_app(settings)
    _forget_inherited_connections(app)
    with app.app_context():
        _schedule_retention(app)
        worked = _work_through_outages(app, settings, burst=burst)
    worker_log_done = "worked" if worked else "idle"
    app.logger.info("worker stopped (%s)", worker_log_done)
    return 0
