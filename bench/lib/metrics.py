"""What a benchmark reads of processes and of the machine from /proc: CPU seconds, busy
cores over a phase, RSS and its peak; and the percentile of a sorted sample."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float], q: float) -> float | None:
    """The value at rank q of an already sorted sample (None when empty)."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _status_kb(pid: int, field_name: str) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb(pid: int) -> float | None:
    kb = _status_kb(pid, "VmRSS")
    return None if kb is None else kb / 1024


def hwm_mb(pid: int) -> float | None:
    kb = _status_kb(pid, "VmHWM")
    return None if kb is None else kb / 1024


def total_mb(pids: list[int], read: Callable[[int], float | None] = rss_mb) -> float:
    """Sum of a per-process memory figure (rss_mb or hwm_mb) over the hub's processes."""
    return sum(read(p) or 0.0 for p in pids)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _all_stats() -> dict[int, list[str]]:
    """/proc/PID/stat of every live process, the fields after the command name."""
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    return stats


def _tree(roots: list[int], stats: dict[int, list[str]]) -> set[int]:
    """The roots and all their live descendants."""
    parents = {pid: int(fields[1]) for pid, fields in stats.items()}
    wanted, frontier = set(roots), list(roots)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in wanted]
        wanted.update(children)
        frontier += children
    return wanted


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds of these processes and all their live descendants (the hub, and
    PostgreSQL's postmaster with its backends): server time the machine's load does not
    inflate."""
    return sum(cpu_seconds(pid) for pid in _tree(roots, _all_stats()))


def servers_cpu_seconds(roots: list[int]) -> float:
    """CPU seconds of database servers: each root (postmaster, redis-server), its live
    descendants, and the children it has reaped (cutime + cstime), so a PostgreSQL backend
    that exits mid-phase is still counted."""
    if not roots:
        return 0.0
    stats = _all_stats()
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in _tree(roots, stats) if p in stats)
    ticks += sum(int(stats[p][13]) + int(stats[p][14]) for p in roots if p in stats)
    return ticks / TICK


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle or iowait) since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / TICK


class CpuWatch:
    """Busy CPU of the whole machine over a phase, and how much of it was someone else's;
    `servers` (postmaster, redis-server) are counted apart from the rest of the machine."""

    def __init__(self, *pids: int, servers: list[int] | None = None) -> None:
        self.pids = pids
        self.servers = servers or []
        self.machine = machine_busy_seconds()
        self.ours = sum(cpu_seconds(p) for p in pids) + time.process_time()
        self.servers_cpu = servers_cpu_seconds(self.servers)
        self.started = time.monotonic()

    def done(self, extra_ours: float = 0.0) -> dict[str, float]:
        """Cores used over the phase; extra_ours: CPU seconds of a process already gone."""
        wall = max(1e-9, time.monotonic() - self.started)
        machine = machine_busy_seconds() - self.machine
        ours = sum(cpu_seconds(p) for p in self.pids) + time.process_time() - self.ours
        ours += extra_ours
        servers = servers_cpu_seconds(self.servers) - self.servers_cpu
        return {
            "machine_cores": machine / wall,
            "foreign_cores": max(0.0, machine - ours) / wall,  # servers included
            "servers_cores": servers / wall,
            "others_cores": max(0.0, machine - ours - servers) / wall,
        }


async def wait_quiet(
    pids: list[int], window: float = 0.5, threshold: float = 0.05, limit: float = 20.0
) -> float:
    """Wait until these processes together use under `threshold` of a core for `window` s;
    seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = sum(cpu_seconds(p) for p in pids)
        await asyncio.sleep(window)
        if (sum(cpu_seconds(p) for p in pids) - before) / window < threshold:
            break
    return time.monotonic() - started


class Sampling(ABC):
    """A task that samples something in the background from start() until stop()."""

    _task: asyncio.Task[None] | None = None

    @abstractmethod
    async def _run(self) -> None:
        """Sample until cancelled."""

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class RssSampler(Sampling):
    """Peak of the summed VmRSS of the hub's processes, sampled every 100 ms while running."""

    def __init__(self, pids: list[int], interval: float = 0.1) -> None:
        self.pids = pids
        self.interval = interval
        self.peak = 0.0

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, total_mb(self.pids))
            await asyncio.sleep(self.interval)
