"""The hold loop's routing decisions: at most one a second, however many callers wait."""

from __future__ import annotations

import redis
from flask import Flask
from rq import Queue

from helpline.tasks.dispatch import (
    PENDING_KEY,
    WIDEN_KEY,
    WIDEN_MS,
    enqueue_dispatch,
    enqueue_widening,
)


def test_dispatch_widening_asks_for_one_decision_a_second(app: Flask, redis_url: str) -> None:
    """Every waiting caller's round asks for a decision so the stages widen; within
    WIDEN_MS only the first is queued, even once that decision has started. A change that
    is not the hold loop (enqueue_dispatch) still asks at once, and after WIDEN_MS (the
    key expired) the hold loop asks again."""
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("dispatch", connection=connection)
    with app.app_context():
        for _ in range(50):
            assert enqueue_widening()
        assert queue.count == 1
        assert 0 < connection.pttl(WIDEN_KEY) <= WIDEN_MS
        connection.delete(PENDING_KEY)  # the decision started: it no longer waits
        for _ in range(50):
            assert enqueue_widening()
        assert queue.count == 1
        assert enqueue_dispatch()  # a caller starts waiting: decide at once
        assert queue.count == 2
        connection.delete(PENDING_KEY, WIDEN_KEY)  # that one started; a second went by
        assert enqueue_widening()
        assert queue.count == 3
