"""Jobs of the callbacks queue: call people back, counsellor first, exactly once.

- `dial_callback(callback_id)`: a due callback. Outside calling hours it waits for the
  next opening; past its expiry it expires. Otherwise one job claims it (a conditional
  UPDATE) and starts an attempt: an outbound call that waits for a counsellor who speaks
  the language, in the caller's original place (`callbacks.service`). A follow-up's
  counsellor is reserved and rung first when they are free; anyone else goes through the
  routing decision (`dispatch_calls`), which rings them with the whisper and press 1.
- `dial_caller(call_id)`: the counsellor accepted and waits in the call's room. The
  attempt is counted (`begin_dial`), a slot of the outbound rate is taken, and the caller
  is dialled from the helpline's number with answering-machine detection. The caller's
  leg runs /voice/callback/* (voice/callbacks.py): the discreet question, then the room.
- `end_callback_room(call_id)`: the caller was not reached: the counsellor's room ends.

Job ids are unique per callback and due time, so a duplicate enqueue is one job; and a
job run twice is harmless, because every step is a conditional UPDATE. The sweeper
(`tasks.maintenance.sweep_callbacks`) re-enqueues what a dead worker or an empty Redis
lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

import redis
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from twilio.base.exceptions import TwilioException

from helpline.callbacks import service, sweep
from helpline.callbacks.configured import limits, sweep_clock
from helpline.callbacks.leg import outcome_of_status
from helpline.callbacks.limits import Limits, before_attempt
from helpline.callbacks.ratelimit import RateLimit
from helpline.callbacks.room import counsellor_waits
from helpline.callbacks.sweep import Verdict
from helpline.calls.params import TERMINAL_STATUSES
from helpline.extensions import db, get_queue, get_redis
from helpline.models import Call, CallbackRequest, Staff, utcnow
from helpline.models.enums import CallbackOutcome, CallbackStatus, CallEventKind
from helpline.routing import conference, live, offers
from helpline.routing.legs import COUNSELLOR, Leg
from helpline.tasks.dispatch import _ring, enqueue_dispatch
from helpline.tasks.periodic import enqueue_once
from helpline.telephony.client import helpline_number, rest_client
from helpline.web import settings

log = logging.getLogger(__name__)
LIVE = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED)


def job_id(callback_id: int, at: dt.datetime) -> str:
    """One job per callback and due time: enqueuing it twice makes one job."""
    return f"callback-{callback_id}-{int(at.timestamp())}"


def _is_live(connection: redis.Redis, job: str) -> bool:
    try:
        return Job.fetch(job, connection=connection).get_status() in LIVE
    except NoSuchJobError:
        return False


def _whole_second_from(when: dt.datetime) -> dt.datetime:
    """The first whole second at or after `when`. RQ's scheduler keeps whole seconds,
    dropping the fraction: a job booked for 10:00:00.6 would run at 10:00:00, find its
    callback not due yet and, being the live job of that due time itself, book nothing;
    the callback would then wait for the sweeper."""
    whole = when.replace(microsecond=0)
    return whole if whole == when else whole + dt.timedelta(seconds=1)


def enqueue_dial_callback(callback_id: int, at: dt.datetime | None = None) -> str | None:
    """Queue the callback's job (now, or at `at` through the RQ scheduler) unless a job
    for the same due time is already waiting; returns its id, None if Redis is down (the
    sweeper will do it)."""
    when = at or utcnow()
    job = job_id(callback_id, when)
    try:
        connection = get_redis()
        if _is_live(connection, job):
            return job
        queue = get_queue("callbacks")
        retry = Retry(max=2, interval=2)
        if when > utcnow():
            at = _whole_second_from(when)
            queue.enqueue_at(at, dial_callback, callback_id, job_id=job, retry=retry)
        else:
            queue.enqueue(dial_callback, callback_id, job_id=job, retry=retry)
    except redis.RedisError:
        log.warning("callback %s not enqueued: Redis unreachable", callback_id)
        return None
    return job


def enqueue_callbacks_of(call_id: int) -> None:
    """The call asked for callbacks (committed): queue each for its due time."""
    for callback in service.list_pending_for_call(db.session, call_id):
        enqueue_dial_callback(callback.id, callback.next_attempt_at)


def _enqueue(job: Callable[..., bool], *args: object) -> None:
    try:
        get_queue("callbacks").enqueue(job, *args, retry=Retry(max=2, interval=1))
    except redis.RedisError:
        log.warning("callback job not enqueued: Redis unreachable")


def enqueue_dial_caller(call_id: int) -> None:
    _enqueue(dial_caller, call_id)


def enqueue_end_callback_room(call_id: int) -> None:
    _enqueue(end_callback_room, call_id)


def _worker() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"[:64]


def dial_callback(callback_id: int) -> str:
    """Start an attempt of a due callback; returns what happened (for logs and tests)."""
    now = utcnow()
    callback = db.session.get(CallbackRequest, callback_id)
    if callback is None:
        return "gone"
    before = before_attempt(
        limits(), callback.status, callback.next_attempt_at, callback.expires_at, now
    )
    if before.action == "gone":
        return "gone"
    if before.action == "expire":
        service.expire(db.session, callback_id, now)
        db.session.commit()
        return "expired"
    if before.at is not None:  # later
        if before.moved:
            callback.next_attempt_at = before.at
            db.session.commit()
        enqueue_dial_callback(callback_id, before.at)
        return "later"
    claimed = service.claim(db.session, callback_id, _worker(), now)
    if claimed is None:
        db.session.rollback()
        return "taken"
    call = service.start_attempt(db.session, claimed, now)
    db.session.commit()
    if claimed.preferred_staff_id is not None and _ring_preferred(call, claimed.preferred_staff_id):
        return "ringing preferred"
    enqueue_dispatch()
    return "waiting"


def _ring_preferred(call: Call, staff_id: int) -> bool:
    """Reserve and ring the counsellor who asked for this follow-up, if they are free."""
    staff = db.session.get(Staff, staff_id)
    if staff is None or not staff.is_active:
        return False
    offer = secrets.token_hex(8)
    hold = offers.hold_seconds(live.policy(), False)
    if not live.reservations().reserve(call.id, [staff_id], hold, offer=offer):
        return False
    offers.event(
        db.session,
        call.id,
        CallEventKind.RESERVED,
        staff_id,
        {"stage": "preferred", "offer": offer},
    )
    db.session.commit()
    return _ring(Leg(call.id, staff_id, COUNSELLOR, offer)) == 1


MAX_SLEEP_SECONDS = 1.0  # a slot further away than this is waited for in the scheduler
LATE_SECONDS = 2.0  # the scheduler polls each second: a job this late for its slot re-books


def dial_caller(call_id: int, slot: float | None = None) -> bool:
    """The counsellor waits in the room: dial the caller, at most once for this attempt.

    The dial takes a slot of the outbound rate first. A slot more than a moment away is
    not slept for (a sleeping job would hold a worker): the job comes back at its slot
    through the RQ scheduler, and takes a fresh one if it woke up too late for it.
    """
    call = db.session.get(Call, call_id)
    if call is None:
        return False
    callback = service.callback_of(db.session, call)
    if callback is None or callback.status != CallbackStatus.CLAIMED:
        return False  # dialled already (a duplicate job), or over
    if not counsellor_waits(get_redis(), call):
        return False
    config = settings()
    rate = RateLimit(get_redis(), config.callback_rate_per_second)
    if slot is None or time.time() > slot + LATE_SECONDS:
        slot = rate.take()
    delay = slot - time.time()
    if delay > MAX_SLEEP_SECONDS:
        at = dt.datetime.fromtimestamp(slot, dt.UTC)
        get_queue("callbacks").enqueue_at(
            at,
            dial_caller,
            call_id,
            slot,
            job_id=f"callback-dial-{call_id}-{int(slot * 1000)}",
            retry=Retry(max=2, interval=1),
        )
        return False
    dialling = service.begin_dial(db.session, call, utcnow())
    if dialling is None:
        db.session.rollback()
        return False
    number = dialling.caller.number_encrypted
    db.session.commit()  # the attempt is counted before anyone is dialled
    if delay > 0:
        time.sleep(delay)
    base = config.public_base_url
    query = f"c={call_id}"
    client = rest_client(config)
    try:
        created = client.calls.create(
            to=number,
            from_=helpline_number(config),
            url=f"{base}/voice/callback/answer?{query}",
            method="POST",
            status_callback=f"{base}/voice/callback/status?{query}",
            status_callback_event=["initiated", "completed"],
            status_callback_method="POST",
            machine_detection="Enable",
            timeout=config.callback_ring_seconds,
        )
    except TwilioException as error:
        log.warning("dialling callback call %s failed: %s", call_id, type(error).__name__)
        db.session.refresh(call)
        service.settle(db.session, call, CallbackOutcome.NO_ANSWER, limits(), utcnow())
        service.end_attempt_call(call, utcnow())
        db.session.commit()
        enqueue_end_callback_room(call_id)
        return False
    finally:
        client.http_client.session.close()
    db.session.refresh(call)
    service.adopt_sid(call, str(created.sid))
    db.session.commit()
    return True


def end_callback_room(call_id: int) -> bool:
    """End the room the counsellor waits in (or their ringing leg): nobody is coming."""
    call = db.session.get(Call, call_id)
    if call is None:
        return False
    client = rest_client(settings())
    try:
        room = conference.find_room(client, call_id)
        if room is not None:
            room.update(status="completed")
            return True
        staff = [call.counsellor_id] if call.counsellor_id else []
        for sid in offers.leg_sids(get_redis(), call_id, staff):
            try:
                client.calls(sid).update(status="completed")
            except TwilioException:
                log.info("a counsellor's leg had already ended")
    except TwilioException as error:
        log.warning("ending callback room %s failed: %s", call_id, type(error).__name__)
        return False
    finally:
        client.http_client.session.close()
    return True


# The sweeper (on the maintenance queue): what the queue lost, the database still knows.

SWEEP_KEY = "helpline:callbacks:sweep"  # set while a sweep is queued or recent


def enqueue_sweep(connection: redis.Redis) -> bool:
    """Queue a sweep unless one was queued in the last `every` seconds (any worker)."""
    return enqueue_once(
        connection, SWEEP_KEY, sweep_clock().every, sweep_callbacks, "sweep-callbacks"
    )


def _after(settled: service.Settled | None, call: Call) -> None:
    if settled is not None and settled.retry_at is not None:
        enqueue_dial_callback(settled.callback.id, settled.retry_at)


def sweep_callbacks() -> dict[str, int]:
    """Re-enqueue what the queue lost; settle attempts whose worker died. Returns counts."""
    now = utcnow()
    bounds = limits()
    clock = sweep_clock()
    counts = {"expired": 0, "enqueued": 0, "released": 0, "lost": 0, "reconciled": 0}
    session = db.session
    for callback_id in service.list_expired(session, now):
        counts["expired"] += service.expire(session, callback_id, now)
        session.commit()
    connection = get_redis()
    for callback_id in service.list_due(session, now - dt.timedelta(seconds=clock.grace)):
        callback = session.get(CallbackRequest, callback_id)
        if callback is None:
            continue
        own = job_id(callback_id, callback.next_attempt_at)
        try:
            status = Job.fetch(own, connection=connection).get_status()
        except NoSuchJobError:
            status = None
        queue = get_queue("callbacks")
        if status == JobStatus.SCHEDULED:
            continue  # it will run when due
        if status == JobStatus.QUEUED and queue.get_job_position(own) is not None:
            continue  # it will run (a busy queue)
        # Lost: no job, or one that failed, or one "queued" but no longer in the queue (a
        # worker killed between taking it and starting it leaves it in RQ's intermediate
        # queue, which RQ cleans up only minutes later). A second job is harmless: every
        # attempt is claimed by a conditional UPDATE.
        queue.enqueue(
            dial_callback,
            callback_id,
            job_id=f"{own}-swept-{int(now.timestamp())}",
            retry=Retry(max=2, interval=2),
        )
        counts["enqueued"] += 1
    waiting = False
    for callback in service.list_open(session):
        call = service.current_call(session, callback.id)
        if call is None:
            continue
        waits = (
            callback.status == CallbackStatus.CLAIMED
            and call.counsellor_id is not None
            and counsellor_waits(connection, call)
        )
        verdict = sweep.verdict(
            callback, call, counsellor_waits=waits, limits=bounds, clock=clock, now=now
        )
        if verdict == Verdict.REDIAL:
            enqueue_dial_caller(call.id)  # its dial job may have been lost
        elif verdict == Verdict.WAITING:
            waiting = True
        elif verdict in (Verdict.LEFT, Verdict.UNTAKEN):
            if verdict == Verdict.LEFT:
                live.reservations().forget(call.id)  # they left before the caller was dialled
            elif live.reservations().withdraw(call.id) is None:
                continue  # a counsellor accepted at this instant
            settled = service.settle(session, call, "waited", bounds, now)
            service.end_attempt_call(call, now)
            session.commit()
            counts["released"] += 1
            _after(settled, call)
        elif verdict == Verdict.LOST:
            settled = service.settle(session, call, "lost", bounds, now)
            service.end_attempt_call(call, now)
            session.commit()
            counts["lost"] += 1
            enqueue_end_callback_room(call.id)
            _after(settled, call)
        elif verdict == Verdict.RECONCILE:
            counts["reconciled"] += _reconcile(call, bounds, now)
    if waiting:
        enqueue_dispatch()
    return counts


def _reconcile(call: Call, bounds: Limits, now: dt.datetime) -> int:
    """Ask the provider how a dialled attempt ended (its status callback was lost)."""
    client = rest_client(settings())
    try:
        status = str(client.calls(call.call_sid).fetch().status)
    except TwilioException:
        return 0
    finally:
        client.http_client.session.close()
    if status not in TERMINAL_STATUSES:
        return 0
    settled = service.settle(db.session, call, outcome_of_status(status, "lost"), bounds, now)
    service.end_attempt_call(call, now)
    db.session.commit()
    _after(settled, call)
    return 1
