"""Login throttling per account and per address, in Redis fixed windows.

Failures count towards both limits; a success clears the account's count only, so an
address that sprays many accounts stays limited.
"""

from __future__ import annotations

import dataclasses

import redis

PREFIX = "helpline:login-fail"


@dataclasses.dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    window_seconds: int


class LoginThrottle:
    def __init__(self, connection: redis.Redis, limits: Limits) -> None:
        self.redis = connection
        self.limits = limits

    def _keys(self, account_key: str, address: str) -> tuple[str, str]:
        return f"{PREFIX}:acct:{account_key}", f"{PREFIX}:addr:{address}"

    def retry_after(self, account_key: str, address: str) -> int | None:
        """Seconds to wait before another attempt is allowed, or None when allowed now."""
        acct, addr = self._keys(account_key, address)
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(acct)
        pipe.ttl(acct)
        pipe.get(addr)
        pipe.ttl(addr)
        acct_count, acct_ttl, addr_count, addr_ttl = pipe.execute()
        waits = []
        if acct_count is not None and int(acct_count) >= self.limits.per_account:
            waits.append(max(int(acct_ttl), 1))
        if addr_count is not None and int(addr_count) >= self.limits.per_address:
            waits.append(max(int(addr_ttl), 1))
        return max(waits) if waits else None

    def record_failure(self, account_key: str, address: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for key in self._keys(account_key, address):
            # Start the window with the first failure; INCR keeps the key's expiry.
            pipe.set(key, 0, ex=self.limits.window_seconds, nx=True)
            pipe.incr(key)
        pipe.execute()

    def record_success(self, account_key: str) -> None:
        self.redis.delete(f"{PREFIX}:acct:{account_key}")
