"""Login throttling: growing waits per account, per client address and per the two together.

Three counts of failed logins, each with its own budget, are kept for every attempt:

- the account and the address together: one stranger guessing one operator's password
  waits longer and longer (up to 15 min between guesses);
- the address alone: one stranger trying many accounts (credential stuffing) from one
  place waits up to 5 min;
- the account alone: many addresses guessing one password together (a botnet) wait, but
  never more than 15 s, so a stranger's failures on an account keep its operator, signing
  in from elsewhere, out for at most 15 s (SPEC §10).

A refused attempt (429) never checks the password and never counts, so waiting is the only
way forward. A right password clears the account's counts, not its address's: one valid
account must not reset an address that is guessing other accounts.

In memory, per process: with N web processes a stranger gets N times the budget, still far
too little to guess a password; the clock is injectable so tests never sleep.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from hub.errors import TooManyRequests
from hub.web.client_address import client_address


@dataclass(frozen=True)
class Budget:
    """`free` failures without a wait, then waits doubling from `first_wait` to `max_wait`;
    a key quiet for `forget_after` seconds starts again from zero."""

    free: int
    first_wait: float
    max_wait: float
    forget_after: float = 3600.0

    def wait(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.max_wait, self.first_wait * 2.0 ** min(failures - self.free, 40))


PAIR = Budget(free=5, first_wait=1.0, max_wait=900.0)
ADDRESS = Budget(free=10, first_wait=1.0, max_wait=300.0)
ACCOUNT = Budget(free=10, first_wait=1.0, max_wait=15.0)


@dataclass
class _Count:
    failures: int
    last: float


@dataclass
class LoginLimiter:
    """One per application, shared by `POST /api/v1/auth/login` and the inbox login form."""

    clock: Callable[[], float] = time.monotonic
    max_keys: int = 100_000
    _counts: dict[str, tuple[Budget, _Count]] = field(default_factory=dict)

    @staticmethod
    def _keys(email: str, address: str) -> list[tuple[str, Budget]]:
        return [
            (f"pair:{email}\n{address}", PAIR),
            (f"address:{address}", ADDRESS),
            (f"account:{email}", ACCOUNT),
        ]

    def _live(self, key: str, now: float) -> _Count | None:
        found = self._counts.get(key)
        if found is None:
            return None
        budget, count = found
        if now - count.last >= budget.forget_after:
            del self._counts[key]
            return None
        return count

    def retry_after(self, email: str, address: str) -> float:
        """Seconds until this account may be tried from this address (0: now)."""
        now = self.clock()
        waits = [0.0]
        for key, budget in self._keys(email, address):
            count = self._live(key, now)
            if count is not None:
                waits.append(count.last + budget.wait(count.failures) - now)
        return max(waits)

    def attempt(self, email: str, address: str) -> None:
        """Refuse (429 with Retry-After) while any of the three counts asks for a wait; else
        count this attempt as a failure until `succeeded` says otherwise.

        Counting before the (slow, threaded) password check means parallel guesses from one
        address cannot all slip through the same free budget."""
        wait = self.retry_after(email, address)
        if wait > 0:
            raise TooManyRequests(
                "too many failed logins, try again later", retry_after=math.ceil(wait)
            )
        now = self.clock()
        if len(self._counts) >= self.max_keys:
            self._prune(now)
        for key, budget in self._keys(email, address):
            count = self._live(key, now)
            if count is None:
                self._counts[key] = (budget, _Count(1, now))
            else:
                count.failures += 1
                count.last = now

    def succeeded(self, email: str, address: str) -> None:
        """The right password: the account's counts start over; the address only gets this
        attempt back (one valid account must not reset an address guessing others)."""
        for key, _ in self._keys(email, address):
            if not key.startswith("address:"):
                self._counts.pop(key, None)
            elif (count := self._live(key, self.clock())) is not None:
                count.failures = max(0, count.failures - 1)

    def _prune(self, now: float) -> None:
        for key in list(self._counts):
            self._live(key, now)
        if len(self._counts) >= self.max_keys:  # still full: forget the oldest keys
            oldest = sorted(self._counts, key=lambda k: self._counts[k][1].last)
            for key in oldest[: self.max_keys // 10]:
                del self._counts[key]


def login_address(request: web.Request) -> str:
    """The address a login is counted under: the peer, or behind a reverse proxy listed in
    HUB_TRUSTED_PROXIES, the client it names."""
    return client_address(request)
