"""Login throttling per account and per address, in Redis fixed windows.

Failures count towards both limits; a success clears the account's count only, so an
address that sprays many accounts stays limited.

When Redis cannot answer, the same limits and windows are kept in this process
(`LocalWindows`): logins keep working, and guessing is still stopped, though each web
process then counts on its own. The log says so once per outage, not per request, and
never names the account or the address.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

import redis

PREFIX = "helpline:login-fail"
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    window_seconds: int


class LocalWindows:
    """Fixed windows of failure counts in this process's memory, bounded in size."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._windows: dict[str, tuple[int, float]] = {}  # key: (count, window end)
        self._lock = threading.Lock()  # gthread workers serve requests in threads
        self.redis_down = False  # set while an outage lasts, for one log line each way

    def get(self, key: str, now: float) -> tuple[int, float] | None:
        """(count, seconds left) of a live window, or None."""
        with self._lock:
            entry = self._windows.get(key)
            if entry is None or entry[1] <= now:
                return None
            return entry[0], entry[1] - now

    def incr(self, key: str, window_seconds: int, now: float) -> None:
        with self._lock:
            count, end = self._windows.get(key, (0, 0.0))
            if end <= now:
                count, end = 0, now + window_seconds  # the first failure starts the window
            self._windows[key] = (count + 1, end)
            if len(self._windows) > self.max_keys:
                self._prune(now)

    def delete(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)

    def _prune(self, now: float) -> None:
        live = {key: entry for key, entry in self._windows.items() if entry[1] > now}
        if len(live) > self.max_keys:  # keep the windows that last longest
            kept = sorted(live.items(), key=lambda item: item[1][1])[-self.max_keys :]
            live = dict(kept)
        self._windows = live


class LoginThrottle:
    def __init__(
        self,
        connection: redis.Redis,
        limits: Limits,
        local: LocalWindows | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = connection
        self.limits = limits
        self.local = local if local is not None else LocalWindows()
        self.clock = clock

    def _keys(self, account_key: str, address: str) -> tuple[str, str]:
        return f"{PREFIX}:acct:{account_key}", f"{PREFIX}:addr:{address}"

    def _redis_failed(self) -> None:
        if not self.local.redis_down:
            self.local.redis_down = True
            log.warning(
                "login throttle: Redis unreachable; limiting failed logins in this process "
                "until it answers again"
            )

    def _redis_answered(self) -> None:
        if self.local.redis_down:
            self.local.redis_down = False
            log.warning("login throttle: Redis answers again; limits are shared again")

    def _wait(self, count: int | None, ttl: float, limit: int) -> int | None:
        if count is not None and count >= limit:
            return max(round(ttl), 1)
        return None

    def retry_after(self, account_key: str, address: str) -> int | None:
        """Seconds to wait before another attempt is allowed, or None when allowed now.

        Failures counted here while Redis was down still count once it is back."""
        acct, addr = self._keys(account_key, address)
        limits = (self.limits.per_account, self.limits.per_address)
        waits: list[int | None] = []
        now = self.clock()
        for key, limit in zip((acct, addr), limits, strict=True):
            entry = self.local.get(key, now)
            if entry is not None:
                waits.append(self._wait(entry[0], entry[1], limit))
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.get(acct)
            pipe.ttl(acct)
            pipe.get(addr)
            pipe.ttl(addr)
            acct_count, acct_ttl, addr_count, addr_ttl = pipe.execute()
        except redis.RedisError:
            self._redis_failed()
        else:
            self._redis_answered()
            for count, ttl, limit in (
                (acct_count, acct_ttl, limits[0]),
                (addr_count, addr_ttl, limits[1]),
            ):
                waits.append(self._wait(None if count is None else int(count), int(ttl), limit))
        found = [wait for wait in waits if wait is not None]
        return max(found) if found else None

    def record_failure(self, account_key: str, address: str) -> None:
        keys = self._keys(account_key, address)
        try:
            pipe = self.redis.pipeline(transaction=True)
            for key in keys:
                # Start the window with the first failure; INCR keeps the key's expiry.
                pipe.set(key, 0, ex=self.limits.window_seconds, nx=True)
                pipe.incr(key)
            pipe.execute()
        except redis.RedisError:
            self._redis_failed()
            now = self.clock()
            for key in keys:
                self.local.incr(key, self.limits.window_seconds, now)

    def record_success(self, account_key: str) -> None:
        key = f"{PREFIX}:acct:{account_key}"
        self.local.delete(key)
        try:
            self.redis.delete(key)
        except redis.RedisError:
            self._redis_failed()
