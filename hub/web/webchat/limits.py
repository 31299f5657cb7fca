"""Web chat budgets that a new identity cannot escape (SPEC §10).

A `hello` without a token mints a visitor for free, so a budget kept per visitor alone is
a fresh budget per socket: every rule here counts per visitor, per client address
(hub.web.client_address, which honours HUB_TRUSTED_PROXIES) and in total, and a request
is refused when any of the three is spent. New visitors themselves, open sockets and the
bytes of uploads are budgeted the same way.

In memory, per process (like the login limiter): with N web processes the budgets are N
times larger, still far below a flood. Every rule reads an injectable clock (or takes
`now`), so tests move time instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_KEYS = 10_000  # beyond this, keys that went quiet are forgotten
Clock = Callable[[], float]


@dataclass
class SlidingWindow:
    """At most `limit` events per key in any `window` seconds."""

    limit: int
    window: float
    seen: dict[str, deque[float]] = field(default_factory=dict)

    def wait(self, key: str, now: float) -> float | None:
        """None when one more event fits now; else seconds until it would."""
        if len(self.seen) > MAX_KEYS:
            for stale in [k for k, v in self.seen.items() if not v or v[-1] <= now - self.window]:
                del self.seen[stale]
        times = self.seen.get(key)
        if times is None:
            return None if self.limit > 0 else self.window
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return times[0] + self.window - now if times else self.window
        return None

    def count(self, key: str, now: float) -> None:
        self.seen.setdefault(key, deque()).append(now)


TOTAL = "*"  # the key of the budget everyone shares


def _take_all(rules: tuple[tuple[SlidingWindow, str], ...], now: float) -> int | None:
    """None (and the event counted on every rule) when all have room; else whole seconds
    until the fullest has."""
    waits = [wait for rule, key in rules if (wait := rule.wait(key, now)) is not None]
    if waits:
        return max(1, math.ceil(max(waits)))
    for rule, key in rules:
        rule.count(key, now)
    return None


@dataclass
class ThreeWayBudget:
    """One rule counted per visitor, per address and in total: all must have room."""

    per_visitor: SlidingWindow
    per_address: SlidingWindow
    in_total: SlidingWindow
    clock: Clock = time.monotonic

    def retry_after(self, visitor_id: str, address: str, now: float | None = None) -> int | None:
        """None (and the event counted on all three) when allowed; else whole seconds."""
        now = self.clock() if now is None else now
        rules = (
            (self.per_visitor, visitor_id),
            (self.per_address, address),
            (self.in_total, TOTAL),
        )
        return _take_all(rules, now)


def message_budget(clock: Clock = time.monotonic) -> ThreeWayBudget:
    """Messages: 20 per visitor, 60 per address, 600 in all per 10 s."""
    return ThreeWayBudget(
        SlidingWindow(20, 10.0), SlidingWindow(60, 10.0), SlidingWindow(600, 10.0), clock
    )


def upload_budget(clock: Clock = time.monotonic) -> ThreeWayBudget:
    """Uploads: 20 per visitor, 40 per address, 400 in all per 10 min."""
    return ThreeWayBudget(
        SlidingWindow(20, 600.0), SlidingWindow(40, 600.0), SlidingWindow(400, 600.0), clock
    )


@dataclass
class NewVisitors:
    """Visitors minted by a `hello` without a token: 30 per address, 1000 in all per 10
    min. A returning visitor (a valid token) is never counted here."""

    per_address: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 600.0))
    in_total: SlidingWindow = field(default_factory=lambda: SlidingWindow(1000, 600.0))
    clock: Clock = time.monotonic

    def retry_after(self, address: str, now: float | None = None) -> int | None:
        now = self.clock() if now is None else now
        return _take_all(((self.per_address, address), (self.in_total, TOTAL)), now)


@dataclass
class OpenSockets:
    """Sockets open at once: 40 per address and 5000 in all, counted from the upgrade (a
    socket that never says hello still holds a connection for HELLO_TIMEOUT), and 5 per
    visitor once the hello names one. Each holds a broker subscription and a task, so a
    script opening thousands would exhaust both."""

    per_visitor: int = 5
    per_address: int = 40
    in_total: int = 5000
    counts: dict[str, int] = field(default_factory=dict)

    def _take(self, keys: tuple[str, ...], limits: tuple[int, ...]) -> bool:
        if any(self.counts.get(k, 0) >= limit for k, limit in zip(keys, limits, strict=True)):
            return False
        for key in keys:
            self.counts[key] = self.counts.get(key, 0) + 1
        return True

    def _give_back(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            left = self.counts.get(key, 0) - 1
            if left > 0:
                self.counts[key] = left
            else:
                self.counts.pop(key, None)

    def admit(self, address: str) -> bool:
        """Count one more socket from `address` unless a limit is reached."""
        return self._take((f"a:{address}", TOTAL), (self.per_address, self.in_total))

    def leave(self, address: str) -> None:
        self._give_back((f"a:{address}", TOTAL))

    def admit_visitor(self, visitor_id: str) -> bool:
        return self._take((f"v:{visitor_id}",), (self.per_visitor,))

    def leave_visitor(self, visitor_id: str) -> None:
        self._give_back((f"v:{visitor_id}",))


@dataclass
class UploadQuota:
    """Bytes of uploads per address and in total within `window` (the life of an upload
    id: until then a file may be waiting, unattached, for its message).

    Bytes are reserved before the body is read (the declared length, or the size limit),
    so concurrent uploads cannot all pass a check made at their end, then settled to what
    was really stored, or released when nothing was.
    """

    per_address: int
    in_total: int
    window: float
    clock: Clock = time.time
    entries: dict[int, tuple[str, int, float]] = field(default_factory=dict)
    _next: int = 0

    def _used(self, now: float) -> tuple[dict[str, int], int]:
        for ticket in [t for t, (_, _, at) in self.entries.items() if at <= now - self.window]:
            del self.entries[ticket]
        by_address: dict[str, int] = {}
        for address, size, _ in self.entries.values():
            by_address[address] = by_address.get(address, 0) + size
        return by_address, sum(by_address.values())

    def reserve(self, address: str, size: int) -> int | None:
        """A ticket for `size` bytes, or None when the quota would be exceeded."""
        now = self.clock()
        by_address, total = self._used(now)
        if by_address.get(address, 0) + size > self.per_address or total + size > self.in_total:
            return None
        self._next += 1
        self.entries[self._next] = (address, size, now)
        return self._next

    def settle(self, ticket: int, size: int) -> None:
        """The reservation becomes what was stored; 0 releases it."""
        entry = self.entries.pop(ticket, None)
        if entry is not None and size > 0:
            self.entries[ticket] = (entry[0], size, entry[2])

    def retry_after(self, address: str) -> int:
        """Seconds until the address's oldest counted upload leaves the window."""
        now = self.clock()
        times = [at for a, _, at in self.entries.values() if a == address] or [
            at for _, _, at in self.entries.values()
        ]
        return max(1, math.ceil(min(times, default=now) + self.window - now))


def upload_quota(max_file_bytes: int, window: float, clock: Clock = time.time) -> UploadQuota:
    """4 files of the largest size per address, 40 in all (80 MiB and 800 MiB by default)."""
    return UploadQuota(4 * max_file_bytes, 40 * max_file_bytes, window, clock)


@dataclass
class WebchatLimits:
    """Every web chat budget of one application."""

    messages: ThreeWayBudget = field(default_factory=message_budget)
    uploads: ThreeWayBudget = field(default_factory=upload_budget)
    new_visitors: NewVisitors = field(default_factory=NewVisitors)
    sockets: OpenSockets = field(default_factory=OpenSockets)
    quota: UploadQuota | None = None  # made on first upload: it scales with the size limit
