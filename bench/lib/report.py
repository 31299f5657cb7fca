"""How a benchmark reports: the machine it ran on, aligned tables, PASS/MISS against a
goal, and the shared `main` that runs a benchmark, prints its report and writes --json."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import aiohttp


def machine() -> dict[str, Any]:
    """What the figures depend on: CPUs, RAM, versions, and how busy the machine was."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = _mem_total_kb()
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "ram_gb": round(ram / 1024 / 1024, 1) if ram else None,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "kernel": platform.release(),
        "loadavg_at_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def _mem_total_kb() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return float(line.split()[1])
    return None


def machine_line(m: dict[str, Any]) -> str:
    """The machine in one line, as each report starts."""
    return (
        f"machine: {m['nproc']} CPUs ({m['usable_cpus']} usable), {m['cpu_model']}, "
        f"{m['ram_gb']} GB RAM, Python {m['python']}, aiohttp {m['aiohttp']}, "
        f"load average at start {m['loadavg_at_start']}"
    )


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages now, as /proc/loadavg gives them."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def verdict(ok: bool | None) -> str:
    """PASS or MISS against a goal; empty where the figure has no goal."""
    return "" if ok is None else ("PASS" if ok else "MISS")


def cpu_ms_cell(total: float | None, per_process: Sequence[float]) -> str:
    """Hub CPU ms per unit of work, split per process when there are several."""
    if total is None:
        return "n/a"
    split = " + ".join(f"{c:.2f}" for c in per_process)
    return f"{total:.2f}" + (f" ({split})" if len(per_process) > 1 else "")


def print_table(rows: Sequence[Sequence[str]], indent: str = "  ") -> None:
    """Rows of cells, each column as wide as its widest cell."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def add_provider_wait_arguments(p: argparse.ArgumentParser) -> None:
    """--stall-limit, --idle-limit and --json of the scripts that wait for a fake provider."""
    p.add_argument(
        "--stall-limit",
        type=float,
        default=60.0,
        help="give up waiting for the provider after this long without progress (%(default)s s)",
    )
    p.add_argument("--idle-limit", type=float, default=20.0, help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path, metavar="FILE", help="also write all figures here")


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_and_report(
    bench: Callable[[argparse.Namespace, Path], Coroutine[Any, Any, dict[str, Any]]],
    args: argparse.Namespace,
    report: Callable[[dict[str, Any]], None],
    prefix: str,
) -> int:
    """Run a benchmark in a throw-away folder, print its report, write --json: the shared
    `main` of the bench scripts. SIGTERM stops it like Ctrl+C, cleaning up children."""
    signal.signal(signal.SIGTERM, _interrupted)
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        results = asyncio.run(bench(args, tmp))
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0
