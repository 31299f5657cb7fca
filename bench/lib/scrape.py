"""The hub's Prometheus /metrics as a benchmark reads them: routed counts and the route
latency histogram summed over processes, quantiles estimated from buckets, other counters."""

from __future__ import annotations

import asyncio
import math
import re
import time
from dataclasses import dataclass, field

import aiohttp

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LE = re.compile(r'le="([^"]+)"')


@dataclass
class Snapshot:
    routed: float = 0.0
    buckets: list[tuple[float, float]] = field(default_factory=list)  # cumulative (le, count)
    latency_count: float = 0.0
    latency_sum: float = 0.0

    def minus(self, before: Snapshot) -> Snapshot:
        old = dict(before.buckets)
        return Snapshot(
            self.routed - before.routed,
            [(le, count - old.get(le, 0.0)) for le, count in self.buckets],
            self.latency_count - before.latency_count,
            self.latency_sum - before.latency_sum,
        )

    def plus(self, other: Snapshot) -> Snapshot:
        """Two processes' counters added, as Prometheus `sum()` does across instances."""
        counts = dict(self.buckets)
        for le, count in other.buckets:
            counts[le] = counts.get(le, 0.0) + count
        return Snapshot(
            self.routed + other.routed,
            sorted(counts.items()),
            self.latency_count + other.latency_count,
            self.latency_sum + other.latency_sum,
        )


def parse_metrics(text: str) -> Snapshot:
    snap = Snapshot()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        if name == "hub_messages_routed_total":
            snap.routed += value
        elif name == "hub_route_latency_seconds_bucket":
            le = _LE.search(labels)
            if le:
                snap.buckets.append((float(le.group(1)), value))
        elif name == "hub_route_latency_seconds_count":
            snap.latency_count = value
        elif name == "hub_route_latency_seconds_sum":
            snap.latency_sum = value
    snap.buckets.sort()
    return snap


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> tuple[float, bool] | None:
    """Prometheus-style histogram_quantile: linear inside the bucket the rank falls in.

    Returns (seconds, overflow); overflow means the rank is beyond the last finite bucket and
    the value is only a lower bound.
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower, True
            if count == below:
                return upper, False
            return lower + (upper - lower) * (rank - below) / (count - below), False
        lower, below = upper, count
    return lower, True


async def scrape(session: aiohttp.ClientSession, base: str | list[str]) -> Snapshot:
    """/metrics of one process, or the sum over several (a `hub web` serves no routing
    counters; each `hub worker --metrics-port` serves its own)."""
    bases = [base] if isinstance(base, str) else base
    total = Snapshot()
    for one in bases:
        async with session.get(one + "/metrics") as resp:
            resp.raise_for_status()
            total = total.plus(parse_metrics(await resp.text()))
    return total


async def counter_totals(
    session: aiohttp.ClientSession, bases: list[str], names: dict[str, str]
) -> dict[str, float]:
    """Counters summed over every process: {key: sum of the metric `names[key]`}."""
    totals = dict.fromkeys(names, 0.0)
    wanted = {metric: key for key, metric in names.items()}
    for base in bases:
        async with session.get(base + "/metrics") as resp:
            resp.raise_for_status()
            text = await resp.text()
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match and match.group(1) in wanted:
                totals[wanted[match.group(1)]] += float(match.group(3))
    return totals


async def wait_routed(
    session: aiohttp.ClientSession,
    base: str | list[str],
    target: float,
    stall_limit: float = 30.0,
) -> tuple[Snapshot, float, bool]:
    """Poll /metrics until routed >= target; give up when nothing moves for stall_limit s."""
    last_value, last_move = -1.0, time.monotonic()
    while True:
        snap = await scrape(session, base)
        now = time.monotonic()
        if snap.routed >= target:
            return snap, now, True
        if snap.routed != last_value:
            last_value, last_move = snap.routed, now
        elif now - last_move > stall_limit:
            return snap, now, False
        await asyncio.sleep(0.1)
