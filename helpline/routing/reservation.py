"""Atomic reservation of staff in Redis: one Lua script, so no one is booked twice.

A staff member's live state is the hash `helpline:staff:<id>`: `state` (available,
reserved, busy, wrap_up, break, offline), `since` (when the state began, epoch seconds),
`idle_since` (when they last became free, for longest-idle-first), `call` (the call they
are reserved for or in), `offer` (the offer's random id) and `reserved_until`.

A call's live offer is the hash `helpline:call:<id>`: `state` (offering, or connected once
its counsellor accepted, or left once the caller stopped waiting), `offer`, `until`,
`counsellor` and `interpreter`. Accepting and leaving are both atomic, so a caller who
presses 1 for a callback at the instant a counsellor accepts gets exactly one of them.

A reservation takes every staff member it names (a counsellor, or a counsellor and an
interpreter) only if all of them are available at that instant and the call has no other
offer open, across any number of web and worker processes; otherwise it takes nothing.
An unconfirmed reservation lapses at `reserved_until`. An interpreter added to a call
already connected (`joining`) needs the call connected instead of free; so does the
counsellor a warm transfer rings (`reserve_transfer`), and only while no other transfer
of that call rings (`transfer`, `transfer_offer`, `transfer_until` on the call's hash).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis

KEY = "helpline:staff:{}"
CALL_KEY = "helpline:call:{}"
CALL_TTL_SECONDS = 6 * 3600  # a call's live hash outlives any conversation, then goes
LEGS_KEY = "helpline:call:{}:legs"  # staff id -> the CallSid of the leg that rang them
LINGER_SECONDS = 30  # at most, after an offer ended while their phone was on the line

_RESERVE = """
local now = tonumber(ARGV[2])
local call_state = redis.call('HGET', KEYS[1], 'state')
if ARGV[5] == '1' or ARGV[5] == '2' then
  if call_state ~= 'connected' then return 0 end
  if ARGV[5] == '2'
     and tonumber(redis.call('HGET', KEYS[1], 'transfer_until') or '0') > now then
    return 0
  end
elseif call_state == 'connected' or call_state == 'left' then
  return 0
elseif call_state == 'offering' then
  if tonumber(redis.call('HGET', KEYS[1], 'until') or '0') > now then return 0 end
end
for i = 2, #KEYS do
  local state = redis.call('HGET', KEYS[i], 'state')
  if state == 'reserved' then
    local until_ = tonumber(redis.call('HGET', KEYS[i], 'reserved_until') or '0')
    if until_ > now then return 0 end
  elseif state ~= 'available' then
    return 0
  end
end
local until_ = tostring(now + tonumber(ARGV[3]))
for i = 2, #KEYS do
  redis.call('HSET', KEYS[i], 'state', 'reserved', 'call', ARGV[1], 'offer', ARGV[4],
             'since', ARGV[2], 'reserved_until', until_, 'lingering', '0')
end
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'interpreter', ARGV[6], 'interpreter_offer', ARGV[4])
elseif ARGV[5] == '2' then
  redis.call('HSET', KEYS[1], 'transfer', ARGV[6], 'transfer_offer', ARGV[4],
             'transfer_until', until_)
else
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', 'offering', 'offer', ARGV[4], 'until', until_,
             'counsellor', ARGV[6], 'interpreter', ARGV[7])
end
redis.call('EXPIRE', KEYS[1], ARGV[8])
return 1
"""

_RELEASE = """
local released = 0
local linger = tonumber(ARGV[4])
for i = 2, #KEYS do
  local state = redis.call('HGET', KEYS[i], 'state')
  if state == 'reserved' and redis.call('HGET', KEYS[i], 'call') == ARGV[1]
     and redis.call('HGET', KEYS[i], 'offer') == ARGV[3]
     and redis.call('HGET', KEYS[i], 'lingering') ~= '1' then
    if linger > 0 then
      -- Their phone is still on the line: nobody may ring it until the leg ends.
      redis.call('HSET', KEYS[i], 'lingering', '1',
                 'reserved_until', tostring(tonumber(ARGV[2]) + linger))
    else
      redis.call('HSET', KEYS[i], 'state', 'available', 'since', ARGV[2], 'call', '',
                 'offer', '')
      redis.call('HDEL', KEYS[i], 'reserved_until')
    end
    released = released + 1
  end
end
if redis.call('HGET', KEYS[1], 'state') == 'offering'
   and redis.call('HGET', KEYS[1], 'offer') == ARGV[3] then
  redis.call('DEL', KEYS[1])
elseif redis.call('HGET', KEYS[1], 'transfer_offer') == ARGV[3] then
  redis.call('HDEL', KEYS[1], 'transfer_until')
end
return released
"""

_CONFIRM = """
for i = 2, #KEYS do
  local state = redis.call('HGET', KEYS[i], 'state')
  if state ~= 'reserved' or redis.call('HGET', KEYS[i], 'call') ~= ARGV[1]
     or redis.call('HGET', KEYS[i], 'offer') ~= ARGV[3]
     or redis.call('HGET', KEYS[i], 'lingering') == '1' then
    return 0
  end
end
if ARGV[4] == '1' then
  if redis.call('HGET', KEYS[1], 'state') ~= 'offering'
     or redis.call('HGET', KEYS[1], 'offer') ~= ARGV[3] then
    return 0
  end
  redis.call('HSET', KEYS[1], 'state', 'connected')
  redis.call('HDEL', KEYS[1], 'until')
elseif redis.call('HGET', KEYS[1], 'transfer_offer') == ARGV[3] then
  redis.call('HDEL', KEYS[1], 'transfer_until')
end
for i = 2, #KEYS do
  redis.call('HSET', KEYS[i], 'state', 'busy', 'since', ARGV[2], 'misses', '0')
  redis.call('HDEL', KEYS[i], 'reserved_until')
end
return 1
"""


_HUNG_UP = """
local key = KEYS[1]
if redis.call('HGET', key, 'state') == 'reserved' and redis.call('HGET', key, 'call') == ARGV[1]
   and redis.call('HGET', key, 'offer') == ARGV[3] and redis.call('HGET', key, 'lingering') == '1'
then
  redis.call('HSET', key, 'state', 'available', 'since', ARGV[2], 'call', '', 'offer', '',
             'lingering', '0')
  redis.call('HDEL', key, 'reserved_until')
  return 1
end
return 0
"""

_WITHDRAW = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'connected' then return -1 end
local released = 0
if state == 'offering' then
  local offer = redis.call('HGET', KEYS[1], 'offer')
  for _, role in ipairs({'counsellor', 'interpreter'}) do
    local id = redis.call('HGET', KEYS[1], role)
    if id and id ~= '' then
      local key = ARGV[3] .. id
      if redis.call('HGET', key, 'state') == 'reserved'
         and redis.call('HGET', key, 'call') == ARGV[1]
         and redis.call('HGET', key, 'offer') == offer then
        if redis.call('HEXISTS', KEYS[2], id) == 1 then
          -- Their phone rings or is on the line: free once that leg ends (or lapses).
          redis.call('HSET', key, 'lingering', '1',
                     'reserved_until', tostring(tonumber(ARGV[2]) + tonumber(ARGV[5])))
        else
          redis.call('HSET', key, 'state', 'available', 'since', ARGV[2], 'call', '',
                     'offer', '')
          redis.call('HDEL', key, 'reserved_until')
        end
        released = released + 1
      end
    end
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'left')
redis.call('EXPIRE', KEYS[1], ARGV[4])
return released
"""
LEFT_TTL_SECONDS = 3600


class Reservations:
    """The atomic operations on staff: reserve, confirm (they answered), release."""

    def __init__(self, connection: redis.Redis) -> None:
        self.redis = connection
        self._reserve = connection.register_script(_RESERVE)
        self._release = connection.register_script(_RELEASE)
        self._confirm = connection.register_script(_CONFIRM)
        self._withdraw = connection.register_script(_WITHDRAW)
        self._hung_up = connection.register_script(_HUNG_UP)

    @staticmethod
    def keys(call_id: int, staff_ids: Sequence[int]) -> list[str]:
        if not staff_ids or len(set(staff_ids)) != len(staff_ids):
            raise ValueError("name each staff member once")
        return [CALL_KEY.format(call_id), *(KEY.format(staff_id) for staff_id in staff_ids)]

    def reserve(
        self,
        call_id: int,
        staff_ids: Sequence[int],
        hold_seconds: float,
        now: float | None = None,
        *,
        offer: str = "",
        joining: bool = False,
    ) -> bool:
        """Take all of staff_ids for call_id, or none of them; True when taken.

        staff_ids is the counsellor first, then the interpreter if any; with `joining`,
        only an interpreter for a call already connected.
        """
        if joining and len(staff_ids) != 1:
            raise ValueError("an interpreter joins alone")
        return self._run_reserve(
            call_id, staff_ids, hold_seconds, now, offer, "1" if joining else "0"
        )

    def reserve_transfer(
        self,
        call_id: int,
        staff_id: int,
        hold_seconds: float,
        now: float | None = None,
        *,
        offer: str,
    ) -> bool:
        """Take one counsellor for a warm transfer of a connected call; True when taken.

        Only if they are available, the call is connected and no other transfer of it
        is ringing (one lapses with its reservation).
        """
        return self._run_reserve(call_id, [staff_id], hold_seconds, now, offer, "2")

    def _run_reserve(
        self,
        call_id: int,
        staff_ids: Sequence[int],
        hold_seconds: float,
        now: float | None,
        offer: str,
        mode: str,  # 0: a new offer, 1: an interpreter joining, 2: a transfer
    ) -> bool:
        moment = time.time() if now is None else now
        roles = [str(staff_ids[0]), str(staff_ids[1]) if len(staff_ids) > 1 else ""]
        args: list[str | float] = [call_id, moment, hold_seconds, offer, mode, *roles]
        result = self._reserve(keys=self.keys(call_id, staff_ids), args=[*args, CALL_TTL_SECONDS])
        return bool(result)

    def confirm(
        self,
        call_id: int,
        staff_ids: Sequence[int],
        now: float | None = None,
        *,
        offer: str = "",
        connects: bool = False,
    ) -> bool:
        """They accepted: reserved -> busy, only if still reserved for this offer.

        `connects` (the counsellor) also marks the call connected, once.
        """
        moment = time.time() if now is None else now
        keys = self.keys(call_id, staff_ids)
        return bool(
            self._confirm(keys=keys, args=[call_id, moment, offer, "1" if connects else "0"])
        )

    def release(
        self,
        call_id: int,
        staff_ids: Sequence[int],
        now: float | None = None,
        *,
        offer: str = "",
        linger: float = 0,
    ) -> int:
        """Give back a reservation (declined, no answer); returns how many were released.

        With `linger`, the staff phone is still on the line (they declined at the
        whisper): they stay unbookable until `hung_up` or for `linger` seconds at most.
        """
        moment = time.time() if now is None else now
        keys = self.keys(call_id, staff_ids)
        return int(self._release(keys=keys, args=[call_id, moment, offer, linger]))

    def hung_up(self, call_id: int, staff_id: int, now: float | None = None, *, offer: str) -> bool:
        """Their leg ended after a refusal: free to be offered calls again."""
        moment = time.time() if now is None else now
        return bool(self._hung_up(keys=[KEY.format(staff_id)], args=[call_id, moment, offer]))

    def withdraw(self, call_id: int, now: float | None = None) -> int | None:
        """The caller leaves the queue: no offer may be made or confirmed for them any more.

        Releases an open offer's staff (returns how many); None if a counsellor has
        already accepted, so the caller is being connected and cannot leave.
        """
        moment = time.time() if now is None else now
        keys = [CALL_KEY.format(call_id), LEGS_KEY.format(call_id)]
        args: list[str | float] = [
            call_id,
            moment,
            KEY.format(""),
            LEFT_TTL_SECONDS,
            LINGER_SECONDS,
        ]
        result = int(self._withdraw(keys=keys, args=args))
        return None if result < 0 else result

    def forget(self, call_id: int) -> None:
        """The call is not connected any more (it waits again): drop its live offer."""
        self.redis.delete(CALL_KEY.format(call_id))

    def confirmed(
        self, call_id: int, staff_id: int, *, offer: str = "", connects: bool = False
    ) -> bool:
        """Did `confirm` already succeed for this member of staff and offer? (A webhook
        tried again after its database write failed finds its Redis half done.)"""
        staff = self.redis.hgetall(KEY.format(staff_id))
        found = {k.decode(): v.decode() for k, v in staff.items()}  # type: ignore[union-attr]
        if (found.get("state"), found.get("call"), found.get("offer")) != (
            "busy",
            str(call_id),
            offer,
        ):
            return False
        if not connects:
            return True
        live = self.offer_of(call_id)
        return (live.get("state"), live.get("offer")) == ("connected", offer)

    def offer_of(self, call_id: int) -> dict[str, str]:
        """The call's live offer (empty when none)."""
        raw = self.redis.hgetall(CALL_KEY.format(call_id))
        return {k.decode(): v.decode() for k, v in raw.items()}  # type: ignore[union-attr]
