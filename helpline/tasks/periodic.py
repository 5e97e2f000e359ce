"""Maintenance jobs that workers queue between their own jobs, at most once an interval.

Every worker tries; a Redis key that expires after the interval lets the first through.
So a periodic job survives a dead worker, an emptied Redis and a scheduler that stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from rq import Queue


def enqueue_once(
    connection: redis.Redis, key: str, seconds: int, job: Callable[..., Any], name: str
) -> bool:
    """Queue `job` on the maintenance queue unless any worker did in the last `seconds`."""
    if not connection.set(key, "1", nx=True, ex=seconds):
        return False
    Queue("maintenance", connection=connection).enqueue(
        job, job_id=f"maintenance-{name}-{int(time.time())}"
    )
    return True
