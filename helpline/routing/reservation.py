"""Atomic reservation of staff in Redis: one Lua script, so no one is booked twice.

A staff member's live state is the hash `helpline:staff:<id>`: `state` (available,
reserved, busy, wrap_up, break, offline), `since` (when the state began, epoch seconds),
`idle_since` (when they last became free, for longest-idle-first), `call` (the call they
are reserved for or in) and `reserved_until`. A reservation takes every staff member it
names (a counsellor, or a counsellor and an interpreter) only if all of them are available
at that instant, across any number of web and worker processes; otherwise it takes none.
An unconfirmed reservation lapses at `reserved_until`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis

KEY = "helpline:staff:{}"

_RESERVE = """
local now = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local state = redis.call('HGET', key, 'state')
  if state == 'reserved' then
    local until_ = tonumber(redis.call('HGET', key, 'reserved_until') or '0')
    if until_ > now then return 0 end
  elseif state ~= 'available' then
    return 0
  end
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'state', 'reserved', 'call', ARGV[1], 'since', ARGV[2],
             'reserved_until', tostring(now + tonumber(ARGV[3])))
end
return 1
"""

_RELEASE = """
local released = 0
for i, key in ipairs(KEYS) do
  local state = redis.call('HGET', key, 'state')
  if state == 'reserved' and redis.call('HGET', key, 'call') == ARGV[1] then
    redis.call('HSET', key, 'state', 'available', 'since', ARGV[2], 'call', '')
    released = released + 1
  end
end
return released
"""

_CONFIRM = """
for i, key in ipairs(KEYS) do
  local state = redis.call('HGET', key, 'state')
  if state ~= 'reserved' or redis.call('HGET', key, 'call') ~= ARGV[1] then
    return 0
  end
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'state', 'busy', 'since', ARGV[2])
  redis.call('HDEL', key, 'reserved_until')
end
return 1
"""


class Reservations:
    """The three atomic operations on staff: reserve, confirm (they answered), release."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection
        self._reserve = connection.register_script(_RESERVE)
        self._release = connection.register_script(_RELEASE)
        self._confirm = connection.register_script(_CONFIRM)

    @staticmethod
    def keys(staff_ids: Sequence[int]) -> list[str]:
        if not staff_ids or len(set(staff_ids)) != len(staff_ids):
            raise ValueError("name each staff member once")
        return [KEY.format(staff_id) for staff_id in staff_ids]

    def reserve(self, call_id: int, staff_ids: Sequence[int], hold_seconds: float,
                now: float | None = None) -> bool:  # fmt: skip
        """Take all of staff_ids for call_id, or none of them; True when taken."""
        moment = time.time() if now is None else now
        result = self._reserve(keys=self.keys(staff_ids), args=[call_id, moment, hold_seconds])
        return bool(result)

    def confirm(self, call_id: int, staff_ids: Sequence[int], now: float | None = None) -> bool:
        """They answered: reserved -> busy, only if still reserved for this call."""
        moment = time.time() if now is None else now
        return bool(self._confirm(keys=self.keys(staff_ids), args=[call_id, moment]))

    def release(self, call_id: int, staff_ids: Sequence[int], now: float | None = None) -> int:
        """Give back a reservation (declined, no answer); returns how many were released."""
        moment = time.time() if now is None else now
        return int(self._release(keys=self.keys(staff_ids), args=[call_id, moment]))
