"""Brute-force defence for every password login: the API's token endpoint and the Django
admin's login page both go through :class:`LoginGuard`.

* Per address: at most ``LOGIN_IP_THROTTLE_RATE`` attempts, whatever the usernames
  (credential stuffing from one host). The address is ``config.proxies.client_ip``, so a
  client cannot choose it with a forged ``X-Forwarded-For``.
* Per account: after ``LOGIN_LOCKOUT_THRESHOLD`` failures in a row a username refuses
  logins for ``LOGIN_LOCKOUT_SECONDS``, doubling with each further lockout up to
  ``LOGIN_LOCKOUT_MAX_SECONDS``. Usernames that do not exist are counted the same way, so
  a lockout tells an attacker nothing about which accounts exist. A success resets it.

Counters live in the shared cache (Redis), so every replica sees the same ones.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
          "hour": 3600, "d": 86400, "day": 86400}
# Failures and lockout counts are forgotten a day after the last one.
MEMORY_SECONDS = 86_400


class LoginRefused(Exception):
    """No password is checked: the account is locked or the address is over its rate."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = max(1, retry_after)


def parse_rate(rate: str) -> tuple[int, int]:
    """``"30/min"`` → (30, 60)."""
    count, _, unit = rate.partition("/")
    return int(count), _UNITS[unit.strip().lower()]


def _account(username: str) -> str:
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _incr(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout)
        return 1


@dataclass(frozen=True)
class Lockout:
    seconds: int
    failures: int


class LoginGuard:
    def check(self, username: str, ip: str | None) -> None:
        """Raise :class:`LoginRefused` instead of letting a password be tried."""
        limit, window = parse_rate(settings.LOGIN_IP_THROTTLE_RATE)
        now = time.time()
        slot = int(now // window)
        hits = _incr(f"login:ip:{ip or 'unknown'}:{slot}", window + 1)
        if hits > limit:
            raise LoginRefused("too_many_attempts", math.ceil((slot + 1) * window - now))
        unlock_at = cache.get(f"login:lock:{_account(username)}")
        if unlock_at is not None and float(unlock_at) > now:
            raise LoginRefused("account_locked", math.ceil(float(unlock_at) - now))

    def failed(self, username: str) -> Lockout | None:
        """Count a failed password; the lockout it starts, if it starts one."""
        account = _account(username)
        failures = _incr(f"login:fail:{account}", MEMORY_SECONDS)
        if failures < settings.LOGIN_LOCKOUT_THRESHOLD:
            return None
        cache.delete(f"login:fail:{account}")
        lockouts = _incr(f"login:lockouts:{account}", MEMORY_SECONDS)
        seconds = min(settings.LOGIN_LOCKOUT_MAX_SECONDS,
                      settings.LOGIN_LOCKOUT_SECONDS * 2 ** min(lockouts - 1, 30))
        cache.set(f"login:lock:{account}", time.time() + seconds, seconds)
        return Lockout(seconds=int(seconds), failures=failures)

    def succeeded(self, username: str) -> None:
        account = _account(username)
        cache.delete_many([f"login:fail:{account}", f"login:lockouts:{account}",
                           f"login:lock:{account}"])


login_guard = LoginGuard()
