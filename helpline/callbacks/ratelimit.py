"""The outbound call rate, shared by every worker process through Redis.

Twilio accepts a bounded number of new outbound calls per second per account (1 by
default). Each dial takes the next free slot of a schedule kept in one Redis key, with one
Lua script, so any number of processes together stay at or under the rate: a slot is
`max(now, last slot + interval)`, and the dial waits for its slot (tasks/callbacks.py).
"""

from __future__ import annotations

import time

import redis

KEY = "helpline:callbacks:rate"

_TAKE = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, last + interval)
redis.call('SET', KEYS[1], tostring(slot), 'PX', math.ceil((slot - now + 60) * 1000))
return tostring(slot)
"""


class RateLimit:
    """At most `per_second` slots a second, across processes."""

    def __init__(self, connection: redis.Redis, per_second: float, key: str = KEY) -> None:
        if per_second <= 0:
            raise ValueError("the rate must be positive")
        self.interval = 1.0 / per_second
        self.key = key
        self._take = connection.register_script(_TAKE)

    def take(self, now: float | None = None) -> float:
        """Book the next slot; returns the epoch second it starts."""
        moment = time.time() if now is None else now
        return float(self._take(keys=[self.key], args=[moment, self.interval]))
