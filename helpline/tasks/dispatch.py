"""Jobs of the dispatch queue: match waiting callers with staff, and ring the staff.

Dialling is slow HTTP to Twilio, so webhooks never do it: they enqueue these jobs after
their commit. Jobs take ids, reload what they need, and are safe to run twice.

- `dispatch_calls`: one routing decision over everyone waiting (offers.plan), then ring
  each reserved counsellor. Enqueued (debounced) when a caller starts waiting, staff
  become free, an offer is refused, and by the waiting callers' hold webhook (at most
  once a second, `enqueue_widening`), so stages widen with time.
- `ring_leg`: ring one member of staff for a reserved offer (the interpreter, after the
  counsellor accepted).
- `connect_caller`: move the caller out of the queue into the call's room.
- `finish_wrap_up`: the wrap-up time after a call is over.
- `reconcile_calls` (on the maintenance queue): after Redis's live state was rebuilt, ask
  the provider about every call the database thinks is live. It sends staff to wrap-up,
  whose end asks for a decision, and a decision that rebuilds asks for it: the jobs of
  that loop live in this one module, so that no two task modules import each other.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import redis
from rq import Retry
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from helpline.calls import log as calls
from helpline.calls.params import TERMINAL_STATUSES
from helpline.extensions import db, get_queue, get_redis
from helpline.models import Call, Staff, utcnow
from helpline.models.enums import PresenceState
from helpline.routing import live, offers, presence, rebuild
from helpline.routing.legs import Leg, end_leg, move_caller, ring_staff
from helpline.telephony.client import rest_client
from helpline.web import settings

log = logging.getLogger(__name__)
PENDING_KEY = "helpline:dispatch:pending"
DEBOUNCE_MS = 250  # decisions closer together than this are merged into one
WIDEN_KEY = "helpline:dispatch:widen"
WIDEN_MS = 1000  # the hold loop asks for a decision at most this often, however many wait


def enqueue_dispatch() -> bool:
    """Ask for a routing decision soon; False if Redis is down (the IVR copes).

    At most one decision waits in the queue at a time: the job clears the flag before it
    reads anything, so a change after that is seen by the next one.
    """
    try:
        connection = get_redis()
        if not connection.set(PENDING_KEY, "1", nx=True, px=DEBOUNCE_MS * 20):
            return True
        get_queue("dispatch").enqueue(dispatch_calls, retry=Retry(max=2, interval=1))
    except redis.RedisError:
        log.warning("routing decision not enqueued: Redis unreachable")
        return False
    return True


def enqueue_widening() -> bool:
    """From the hold loop: a decision soon, so the stages widen with the wait.

    Every waiting caller's round would ask, so a line with thousands waiting would decide
    back to back (each decision reads everyone waiting): one a WIDEN_MS is enough, as the
    stages are tens of seconds apart. Other changes (a caller starts waiting, staff
    become free) still ask at once through `enqueue_dispatch`.
    """
    try:
        if not get_redis().set(WIDEN_KEY, "1", nx=True, px=WIDEN_MS):
            return True
    except redis.RedisError:
        log.warning("routing decision not enqueued: Redis unreachable")
        return False
    return enqueue_dispatch()


def enqueue_job(job: Callable[..., object], *args: object, **kwargs: object) -> None:
    """Enqueue after a commit; a Redis failure is logged, never raised into a webhook."""
    try:
        get_queue("dispatch").enqueue(job, *args, retry=Retry(max=2, interval=1), **kwargs)
    except redis.RedisError:
        log.warning("dispatch job not enqueued: Redis unreachable")


def enqueue_ring_leg(leg: Leg) -> None:
    enqueue_job(ring_leg, leg.call_id, leg.staff_id, leg.role, leg.offer)


def enqueue_add_interpreter(call_id: int) -> None:
    enqueue_job(add_interpreter, call_id)


def enqueue_connect_caller(call_id: int) -> None:
    enqueue_job(connect_caller, call_id)


def enqueue_requeue_caller(call_id: int) -> None:
    enqueue_job(requeue_caller, call_id)


def enqueue_end_legs(call_sids: list[str]) -> None:
    if call_sids:
        enqueue_job(end_legs, call_sids)


def enqueue_finish_wrap_up(staff_id: int, since: str, seconds: int) -> None:
    try:
        get_queue("dispatch").enqueue_in(
            dt.timedelta(seconds=seconds), finish_wrap_up, staff_id, since, retry=Retry(max=2)
        )
    except redis.RedisError:
        log.warning("end of wrap-up not scheduled for staff %s: Redis unreachable", staff_id)


def dispatch_calls() -> int:
    """One routing decision; returns how many staff it rang.

    Then the interpreters emergency calls still need (their counsellor, any who was
    free, does not speak the caller's language): one rings for each, when one is free.
    """
    connection = get_redis()
    connection.delete(PENDING_KEY)
    planned = offers.plan(
        db.session, connection, live.reservations(), live.policy(), enqueue_reconcile_calls
    )
    db.session.commit()
    rung = 0
    for offer in planned:
        rung += _ring(offer.first)
    for call_id in offers.needing_interpreter(db.session, connection):
        rung += add_interpreter(call_id)
    return rung


def _ring(leg: Leg) -> int:
    """Ring one leg; on failure give the reservation back and try the next candidate."""
    if not offers.still_offered(get_redis(), leg):
        return 0  # the caller left meanwhile
    staff = db.session.get(Staff, leg.staff_id)
    number = staff.phone_encrypted if staff is not None else None
    sid: str | None = None
    if number:
        client = rest_client(settings())
        try:
            sid = ring_staff(client, settings(), leg, number, live.policy().offer_timeout_seconds)
        except TwilioException as error:
            log.warning(
                "ringing staff %s for call %s failed: %s",
                leg.staff_id,
                leg.call_id,
                type(error).__name__,
            )
        finally:
            client.http_client.session.close()
    if sid is None:
        offers.ring_failed(
            db.session,
            get_redis(),
            live.reservations(),
            live.policy(),
            leg,
            has_phone=bool(number),
        )
        db.session.commit()
        enqueue_dispatch()
        return 0
    offers.offered(db.session, get_redis(), leg, sid)
    db.session.commit()
    return 1


def ring_leg(call_id: int, staff_id: int, role: str, offer: str) -> int:
    """Ring one member of staff for an offer reserved for them."""
    return _ring(Leg(call_id, staff_id, role, offer))


def add_interpreter(call_id: int) -> int:
    """Find, reserve and ring an interpreter for a call already connected; 0 if none."""
    leg = offers.plan_interpreter(
        db.session, get_redis(), live.reservations(), live.policy(), call_id
    )
    db.session.commit()
    return _ring(leg) if leg is not None else 0


def connect_caller(call_id: int) -> bool:
    """Move the caller from the queue into the call's room; False if they are gone."""
    call = db.session.get(Call, call_id)
    if call is None or call.ended_at is not None:
        return False
    return _move(call, requeue=False)


def requeue_caller(call_id: int) -> bool:
    """Put a caller whose counsellor left before they arrived back in the queue."""
    call = offers.requeue(db.session, live.reservations(), call_id)
    db.session.commit()
    return call is not None and _move(call, requeue=True)


def _move(call: Call, *, requeue: bool) -> bool:
    client = rest_client(settings())
    try:
        move_caller(client, settings(), call.call_sid, call.id, requeue=requeue)
    except TwilioException as error:
        log.warning("moving the caller of call %s failed: %s", call.id, type(error).__name__)
        return False
    finally:
        client.http_client.session.close()
    return True


def end_legs(call_sids: list[str]) -> int:
    """Hang up staff legs nobody needs any more (the caller left while they rang)."""
    client = rest_client(settings())
    ended = 0
    try:
        for sid in call_sids:
            try:
                end_leg(client, sid)
                ended += 1
            except TwilioException:
                log.info("a staff leg had already ended")
    finally:
        client.http_client.session.close()
    return ended


def finish_wrap_up(staff_id: int, since: str) -> bool:
    """Wrap-up is over: back to available, and look for the next caller."""
    done = offers.end_wrap_up(db.session, get_redis(), staff_id, since)
    db.session.commit()
    if done:
        enqueue_dispatch()
    return done


# Reconciling with the provider (maintenance queue): after a rebuild of Redis's live state,
# and every STAFF_RECONCILE_SECONDS for stuck staff (`maintenance.reconcile_staff`).


def enqueue_reconcile_calls() -> None:
    try:
        get_queue("maintenance").enqueue(
            reconcile_calls, job_id="maintenance-reconcile-calls", retry=Retry(max=2)
        )
    except redis.RedisError:
        log.warning("reconciling calls with the provider not enqueued: Redis unreachable")


def reconcile_calls() -> int:
    """Ask the telephony provider about every call the database thinks is live, and end
    those that are over (their status callback was lost, or came while Redis was down).
    Returns how many were ended."""
    client = rest_client(settings())
    ended = 0
    try:
        for call_id, call_sid in rebuild.live_call_sids(db.session):
            try:
                status = client.calls(call_sid).fetch().status
            except TwilioException:
                continue  # unknown to the provider: leave it for a person to look at
            if str(status) not in TERMINAL_STATUSES:
                continue
            call = db.session.get(Call, call_id)
            if call is None:
                continue
            calls.end_call(db.session, call, utcnow())
            offers.abandon(db.session, live.reservations(), call.id)
            db.session.commit()
            ended += 1
        free_stuck_staff(client)
    finally:
        client.http_client.session.close()
    return ended


def free_stuck_staff(client: Client) -> None:
    """Free staff whose live state is stuck (`maintenance.reconcile_staff` says when)."""
    _free_staff_of_ended_calls(client)
    _free_staff_of_ended_offers(client)


def _on_the_line(client: Client, sid: str) -> bool:
    """Does the provider say this leg is still going? (Unknown to it: nothing is.)"""
    try:
        return str(client.calls(sid).fetch().status) not in TERMINAL_STATUSES
    except TwilioException:
        return False


def _free_staff_of_ended_calls(client: Client) -> None:
    """Staff still marked in a call that has ended: hang up their leg if the provider says
    it is still on the line (its status callback then sends them to wrap-up, as after any
    call); if it is over, send them to wrap-up now."""
    connection = get_redis()
    wrap_up = live.policy().wrap_up_seconds
    for staff_id, call_id in rebuild.busy_in_ended_calls(db.session, connection):
        sid = rebuild.leg_sid(db.session, call_id, staff_id)
        if sid is not None and _on_the_line(client, sid):
            end_leg(client, sid)
            continue
        presence.set_state(
            connection,
            db.session,
            staff_id,
            PresenceState.WRAP_UP,
            reason="after_call",
            system=True,
        )
        db.session.commit()
        since = presence.live_state(connection, staff_id).get("since", "")
        enqueue_finish_wrap_up(staff_id, since, wrap_up)


def _free_staff_of_ended_offers(client: Client) -> None:
    """Staff kept from calls while an offer's leg may still be on their phone: free them
    when the provider says that leg is over (its status callback was lost, or came while
    Redis was down); a leg still on the line frees them when it ends."""
    connection = get_redis()
    for staff_id, call_id, offer in rebuild.lingering_offers(connection):
        sid = rebuild.leg_sid(db.session, call_id, staff_id)
        if sid is not None and _on_the_line(client, sid):
            continue
        live.reservations().hung_up(call_id, staff_id, offer=offer)
