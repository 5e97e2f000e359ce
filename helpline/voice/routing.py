"""What routing must do after a caller's webhook committed: thin glue, no decisions.

- A step that put the caller in the queue asks for a routing decision.
- A step or status that ended the wait gives back any offer still ringing for the call,
  and hangs up the staff phones that rang for it.
"""

from __future__ import annotations

import logging

import redis

from helpline.extensions import db, get_redis
from helpline.ivr import engine
from helpline.models import Call
from helpline.routing import live, offers, waiting
from helpline.tasks.callbacks import enqueue_callbacks_of
from helpline.tasks.dispatch import enqueue_dispatch, enqueue_end_legs

log = logging.getLogger(__name__)


def after_step(call_id: int, step: engine.Step) -> None:
    """Call after the step's commit."""
    if any(isinstance(effect, engine.Queued) for effect in step.effects):
        enqueue_dispatch()
    if any(isinstance(effect, engine.Dequeued) for effect in step.effects):
        release_call(call_id)
        db.session.commit()
    if any(isinstance(effect, engine.CallbackWanted) for effect in step.effects):
        enqueue_callbacks_of(call_id)


def after_status(call: Call) -> None:
    """Call before the status callback's commit (it may add an event)."""
    if waiting.hung_up_waiting(call):
        release_call(call.id)


def release_call(call_id: int) -> None:
    """The caller is gone: release the offer and end the staff legs that still ring."""
    try:
        released = offers.abandon(db.session, live.reservations(), call_id)
        sids = offers.leg_sids(get_redis(), call_id, released) if released else []
    except redis.RedisError:
        log.warning("call %s ended; its offer could not be released (Redis unreachable)", call_id)
        return
    enqueue_end_legs(sids)
