"""Messages per web chat visitor in a sliding window: a script holding one visitor token
cannot flood the queue, the database and the operators' inbox.

In memory, per process (like the login and upload limiters): with N web processes a visitor
gets N times the budget, still far below a flood. Counted per visitor, not per socket, so
opening more sockets with the same token does not buy more messages.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

MAX_VISITORS = 10_000  # beyond this, visitors who went quiet are forgotten


@dataclass
class MessageLimiter:
    per_window: int = 20
    window: float = 10.0
    seen: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, visitor_id: str, now: float | None = None) -> int | None:
        """None (and the message counted) when allowed; else whole seconds until it would be."""
        now = time.monotonic() if now is None else now
        if len(self.seen) > MAX_VISITORS:
            for key in [k for k, v in self.seen.items() if not v or v[-1] <= now - self.window]:
                del self.seen[key]
        times = self.seen.setdefault(visitor_id, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.per_window:
            return max(1, math.ceil(times[0] + self.window - now))
        times.append(now)
        return None
