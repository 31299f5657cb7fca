"""Ingest benchmark: Telegram webhooks into the hub, against a bare aiohttp baseline.

One run measures, on loopback only:

1. a bare aiohttp endpoint (a subprocess running this file with ``--bare-server PORT``) that
   checks the secret header, JSON-parses a Telegram update and answers 200;
2. per topology (``embedded``: ``hub run`` on SQLite; ``pg_redis_1w`` / ``pg_redis_2w``:
   ``hub web`` + 1 or 2 ``hub worker --metrics-port`` on PostgreSQL + Redis; ``hub run``
   on ``postgres_redis`` / ``postgres`` when asked), under the same load (32 connections,
   unique updates from 500 customers): accepted req/s, then the wait until every accepted
   update is routed (end-to-end msgs/s from ``hub_messages_routed_total`` summed over every
   process's /metrics), route latency p50/p99 estimated from the summed
   ``hub_route_latency_seconds`` histogram buckets, CPU and RSS summed over the hub's
   processes (PostgreSQL + Redis CPU apart), time from spawn until the web process and
   every worker answer ``/healthz``;
3. a paced phase at a fixed offered rate (500 msgs/s for 5 s) whose histogram delta gives the
   latency figure the goal is stated for.

The load generator runs in its own process (multiprocessing) so that it gets its own core
and does not share an event loop with anything it measures; ``--inline-loader`` runs it in
this process instead. Everything this script starts is stopped on exit, also on Ctrl+C.

    .venv/bin/python bench/ingest.py
    .venv/bin/python bench/ingest.py --requests 40000 --backends embedded --json out.json

The end of the output is one table with every topology side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # for tests.servers (real PostgreSQL / Redis on loopback)

HOST = "127.0.0.1"
SECRET = "bench"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/webhooks/telegram"
CUSTOMER_BASE = 7_000_000

GOAL_RATIO = 0.6
GOAL_E2E = 2000.0  # msgs/s, embedded default only
GOAL_P99 = 0.100  # seconds, at the paced rate
GOAL_IDLE_RSS = 150.0  # MB
GOAL_PEAK_RSS = 300.0  # MB
GOAL_HEALTHY = 2.0  # seconds

BACKENDS = {
    "embedded": "embedded default: `hub run`, SQLite file, queue in the same database",
    "pg_redis_1w": "scale-out: PostgreSQL + Redis Streams, `hub web` + 1 x `hub worker`",
    "pg_redis_2w": "scale-out: PostgreSQL + Redis Streams, `hub web` + 2 x `hub worker`",
    "postgres_redis": "`hub run` on PostgreSQL + Redis Streams (HUB_REDIS_URL)",
    "postgres": "`hub run` on PostgreSQL, queue in the database (no Redis)",
}
DEFAULT_BACKENDS = ["embedded", "pg_redis_1w", "pg_redis_2w"]
# Separate `hub worker` processes per backend; absent: one `hub run` process.
WORKERS = {"pg_redis_1w": 1, "pg_redis_2w": 2}


# --------------------------------------------------------------------------- the bare baseline


async def _bare_webhook(request: web.Request) -> web.Response:
    if request.headers.get(SECRET_HEADER) != SECRET:
        return web.Response(status=403)
    try:
        update = json.loads(await request.read())
    except ValueError:
        return web.Response(status=400)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return web.Response(status=400)
    return web.Response(status=200)


def run_bare_server(port: int) -> None:
    """The baseline: what any aiohttp webhook costs before the hub does anything."""
    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, _bare_webhook)
    web.run_app(app, host=HOST, port=port, access_log=None, print=None, handle_signals=True)


# --------------------------------------------------------------------------- the load generator


def update_body(seq: int, customers: int) -> bytes:
    """A private-chat text update, the shape of tests/factories.py telegram_update."""
    user_id = CUSTOMER_BASE + seq % customers
    user = {
        "id": user_id,
        "is_bot": False,
        "first_name": f"Customer{user_id}",
        "last_name": "Bench",
        "language_code": "en",
    }
    update = {
        "update_id": seq,
        "message": {
            "message_id": seq,
            "from": user,
            "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
            "date": 1_790_000_000,
            "text": f"Where is my order? (bench message {seq})",
        },
    }
    return json.dumps(update, separators=(",", ":")).encode()


@dataclass
class LoadSpec:
    url: str
    first_seq: int
    count: int
    connections: int = 32
    customers: int = 500
    rate: float | None = None  # requests/s offered; None: as fast as the connections go
    client: str = "aiohttp"  # or "raw": a minimal HTTP/1.1 keep-alive client on asyncio streams


class RawConnection:
    """The cheapest keep-alive HTTP/1.1 POST on asyncio streams: shows whether the aiohttp
    client, rather than the server, limits a measurement."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or HOST, parts.port or 80
        self.head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"{SECRET_HEADER}: {SECRET}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def post(self, body: bytes) -> str:
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            self.writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            status_line = await self.reader.readline()
            length, keep = 0, True
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep = False
            if length:
                await self.reader.readexactly(length)
            if not status_line:
                raise ConnectionResetError("connection closed")
        except (OSError, asyncio.IncompleteReadError) as exc:
            await self.close()
            return type(exc).__name__
        if not keep:
            await self.close()
        return status_line.split()[1].decode()


async def generate_load(spec: LoadSpec) -> dict[str, Any]:
    """POST `count` unique updates over `connections` keep-alive connections."""
    bodies = [update_body(spec.first_seq + i, spec.customers) for i in range(spec.count)]
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    next_index = 0
    first_post = math.inf
    last_answer = 0.0
    connector = aiohttp.TCPConnector(limit=spec.connections, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def post_aiohttp(body: bytes) -> str:
            try:
                async with session.post(spec.url, data=body, headers=headers) as resp:
                    await resp.read()
                    return str(resp.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return type(exc).__name__

        start = time.monotonic()
        cpu_start = time.process_time()

        async def worker() -> None:
            nonlocal next_index, first_post, last_answer
            raw = RawConnection(spec.url) if spec.client == "raw" else None
            post = raw.post if raw is not None else post_aiohttp
            try:
                while next_index < spec.count:
                    index = next_index
                    next_index += 1
                    if spec.rate:
                        delay = start + index / spec.rate - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    sent = time.monotonic()
                    first_post = min(first_post, sent)
                    status = await post(bodies[index])
                    done = time.monotonic()
                    last_answer = max(last_answer, done)
                    statuses[status] += 1
                    latencies.append(done - sent)
            finally:
                if raw is not None:
                    await raw.close()

        await asyncio.gather(*(worker() for _ in range(spec.connections)))
        wall = time.monotonic() - start
        cpu = time.process_time() - cpu_start
    latencies.sort()
    accepted = statuses.get("200", 0)
    elapsed = max(1e-9, last_answer - first_post) if latencies else 0.0
    return {
        "requests": spec.count,
        "accepted": accepted,
        "errors": spec.count - accepted,
        "statuses": dict(statuses),
        "first_post": first_post,  # time.monotonic(): system-wide on Linux, comparable here
        "last_answer": last_answer,
        "elapsed": elapsed,
        "accepted_per_s": accepted / elapsed if elapsed else 0.0,
        "offered_per_s": spec.rate,
        "http_p50": _percentile(latencies, 0.50),
        "http_p99": _percentile(latencies, 0.99),
        "loader_cpu": cpu / wall if wall else 0.0,
    }


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def _child_entry(
    conn: Any, work: Callable[[Any], Coroutine[Any, Any, dict[str, Any]]], spec: Any, cpu_key: str
) -> None:
    """Body of a child process: run `work(spec)`, send its result (or the traceback) back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us; no traceback spam
    try:
        result = asyncio.run(work(spec))
        result[cpu_key] = time.process_time()  # imports and set-up included
        conn.send(result)
    except BaseException:
        conn.send({"failure": traceback.format_exc()})
    finally:
        conn.close()


async def in_own_process(
    work: Callable[[Any], Coroutine[Any, Any, dict[str, Any]]], spec: Any, cpu_key: str, what: str
) -> dict[str, Any]:
    """`work(spec)` in a spawned process, so it has a core of its own and shares no event
    loop with what it measures; its result, with its process CPU under `cpu_key`."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_entry, args=(child, work, spec, cpu_key), daemon=True)
    proc.start()
    child.close()
    try:
        result: dict[str, Any] = await asyncio.to_thread(parent.recv)
    except EOFError:
        raise RuntimeError(f"the {what} died (exit code {proc.exitcode})") from None
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        parent.close()
    if "failure" in result:
        raise RuntimeError(f"the {what} failed:\n" + result["failure"])
    return result


async def run_load(spec: LoadSpec, inline: bool) -> dict[str, Any]:
    if inline:
        result = await generate_load(spec)
        result["loader_process_cpu"] = 0.0  # already in this process's CPU time
        return result
    return await in_own_process(generate_load, spec, "loader_process_cpu", "load generator")


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL: only the process we started, by its pid."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def spawn(
    cmd: list[str], log_path: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a child with stdout+stderr to a log file, in its own session (Ctrl+C reaches
    only this script, which then stops the child itself)."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


THIS_FILE = Path(__file__).resolve()


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


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def servers_cpu_seconds(roots: list[int]) -> float:
    """CPU seconds of database servers: each root (postmaster, redis-server), its live
    descendants, and the children it has reaped (cutime + cstime), so a PostgreSQL backend
    that exits mid-phase is still counted."""
    if not roots:
        return 0.0
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)], stats[int(entry.name)] = int(fields[1]), fields
    wanted, frontier = set(roots), list(roots)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in wanted]
        wanted.update(children)
        frontier += children
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in wanted if p in stats)
    ticks += sum(int(stats[p][13]) + int(stats[p][14]) for p in roots if p in stats)
    return ticks / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle or iowait) since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICK


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


def total_mb(pids: list[int], read: Any = rss_mb) -> float:
    """Sum of a per-process memory figure (rss_mb or hwm_mb) over the hub's processes."""
    return sum(read(p) or 0.0 for p in pids)


class RssSampler:
    """Peak of the summed VmRSS of the hub's processes, sampled every 100 ms while running."""

    def __init__(self, pids: list[int], interval: float = 0.1) -> None:
        self.pids = pids
        self.interval = interval
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, total_mb(self.pids))
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def hub_exe() -> list[str]:
    """The `hub` command of this venv (or PATH, or `python -m hub`)."""
    script = Path(sys.executable).parent / "hub"
    if script.is_file():
        return [str(script)]
    found = shutil.which("hub")
    return [found] if found else [sys.executable, "-m", "hub"]


def hub_command() -> list[str]:
    return [*hub_exe(), "run"]


# --------------------------------------------------------------------------- /metrics


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


# --------------------------------------------------------------------------- one backend


@dataclass
class Run:
    args: argparse.Namespace
    tmp: Path
    seq: int = 1

    def spec(self, url: str, count: int, rate: float | None = None) -> LoadSpec:
        """A load of `count` updates never posted before in this run."""
        first, self.seq = self.seq, self.seq + count
        a = self.args
        return LoadSpec(url, first, count, a.connections, a.customers, rate, a.client)


async def wait_port(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection(HOST, port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.02)
    raise RuntimeError(f"nothing listening on {HOST}:{port} in time")


async def warm_up(url: str, run: Run) -> int:
    """Open the connections and touch every code path once; not measured."""
    result = await generate_load(run.spec(url, run.args.warmup))
    return int(result["accepted"])


async def measure_bare(run: Run) -> dict[str, Any]:
    port = free_port()
    cmd = [sys.executable, str(THIS_FILE), "--bare-server", str(port)]
    proc = spawn(cmd, run.tmp / "bare.log")
    try:
        await wait_port(port, proc, time.monotonic() + 15)
        url = f"http://{HOST}:{port}{WEBHOOK_PATH}"
        await warm_up(url, run)
        cpu_before = cpu_seconds(proc.pid)
        spec = run.spec(url, run.args.requests)
        watch = CpuWatch(proc.pid)
        result = await run_load(spec, run.args.inline_loader)
        result["server_cpu"] = (cpu_seconds(proc.pid) - cpu_before) / result["elapsed"]
        result.update(watch.done(result["loader_process_cpu"]))
        return result
    finally:
        stop_process(proc)


BOTS = {"on": False}  # set from --with-bots: ingest alone is measured by default


def _hub_env(port: int, database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_BOTS="1" if BOTS["on"] else "0",
        HUB_DATABASE_URL=database_url,
        HUB_HOST=HOST,
        HUB_PORT=str(port),
        HUB_TELEGRAM_BOT_TOKEN="123:bench",
        HUB_TELEGRAM_WEBHOOK_SECRET=SECRET,
        HUB_TELEGRAM_API_URL="http://127.0.0.1:9",  # bot replies (--with-bots) fail fast here
        HUB_LOG_LEVEL="WARNING",
    )
    if redis_url:
        env["HUB_REDIS_URL"] = redis_url
    return env


async def wait_healthy(
    session: aiohttp.ClientSession, base: str, proc: subprocess.Popen[bytes], started: float
) -> float:
    deadline = started + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            what = " ".join(str(a) for a in proc.args[-3:]) if isinstance(proc.args, list) else ""
            raise RuntimeError(f"hub ({what}) exited with {proc.returncode} at start")
        try:
            async with session.get(base + "/healthz", timeout=aiohttp.ClientTimeout(1)) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.02)
    raise RuntimeError("hub not healthy within 60 s")


def start_servers(
    backend: str, stack: contextlib.ExitStack, tmp: Path
) -> tuple[str, str | None, list[int]]:
    """The database URL, the Redis URL and the servers' pids (postmaster, redis-server) for
    a backend; servers are stopped by `stack`."""
    if backend == "embedded":
        return f"sqlite:///{tmp / 'hub.db'}", None, []
    from tests.servers import start_postgres, start_redis

    pg = start_postgres(tmp / "servers")
    stack.callback(pg.stop)
    pids = [int((pg.data_dir / "postmaster.pid").read_text().split()[0])]
    redis_url = None
    if uses_redis(backend):
        redis = start_redis(tmp / "servers")
        stack.callback(redis.stop)
        redis_url = redis.url
        pids += _pids_of("redis-server", f"127.0.0.1:{redis.port}")
    return pg.url, redis_url, pids


def _pids_of(program: str, needle: str) -> list[int]:
    """Processes whose command line names `program` and contains `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                title = (entry / "comm").read_text()
                if program in cmdline + title and needle in cmdline:
                    found.append(int(entry.name))
    return found


def uses_redis(backend: str) -> bool:
    return backend == "postgres_redis" or backend in WORKERS


def backend_missing(backend: str) -> str | None:
    if uses_redis(backend) and not (REPO / "hub/queue/redis_streams.py").is_file():
        return "hub/queue/redis_streams.py does not exist yet (the Redis Streams queue)"
    if backend != "embedded":
        if not Path("/usr/lib/postgresql").is_dir():
            return "PostgreSQL server binaries are not installed"
        if uses_redis(backend) and not shutil.which("redis-server"):
            return "redis-server is not installed"
    return None


@dataclass
class HubStack:
    """The hub's processes for one topology: `hub run`, or `hub web` + N `hub worker`."""

    backend: str
    base: str  # the web process: webhooks, REST API, /healthz
    procs: list[subprocess.Popen[bytes]]  # procs[0] serves `base`; the rest are workers
    metrics: list[str]  # every /metrics to sum (the web's and each worker's --metrics-port)
    logs: list[Path]
    env: dict[str, str] = field(default_factory=dict)  # for `hub` CLI calls against it
    server_pids: list[int] = field(default_factory=list)  # postmaster, redis-server
    healthy_s: float = 0.0  # spawn to web healthy and every worker's /healthz answering
    migrate_s: float | None = None  # `hub migrate` before the spawn (scale-out only)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def log_tails(self, lines: int = 40) -> str:
        return "\n".join(f"--- {path.name} ---\n{_tail(path, lines)}" for path in self.logs)


async def start_hub_stack(
    backend: str,
    stack: contextlib.ExitStack,
    tmp: Path,
    session: aiohttp.ClientSession,
    extra_env: dict[str, str] | None = None,
) -> HubStack:
    """Start the database servers and the hub processes of `backend`; all stopped by
    `stack`. Returns once the web process and every worker answer /healthz."""
    database_url, redis_url, server_pids = start_servers(backend, stack, tmp)
    port = free_port()
    env = {**_hub_env(port, database_url, redis_url), **(extra_env or {})}
    base = f"http://{HOST}:{port}"
    workers = WORKERS.get(backend, 0)
    hub = HubStack(backend, base, [], [base], [], env, server_pids)
    if workers:
        # `hub web` does not migrate: as in scripts/scale-out.sh, `hub migrate` goes first.
        began = time.monotonic()
        done = await asyncio.to_thread(
            subprocess.run,
            [*hub_exe(), "migrate"],
            cwd=tmp,
            env=env,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hub migrate failed:\n{done.stderr.decode()[-2000:]}")
        hub.migrate_s = time.monotonic() - began
    commands: list[tuple[str, list[str]]] = [
        ("web" if workers else "run", [*hub_exe(), "web" if workers else "run"])
    ]
    worker_bases = []
    for n in range(workers):
        metrics_port = free_port()
        worker_bases.append(f"http://{HOST}:{metrics_port}")
        commands.append(
            (f"worker{n + 1}", [*hub_exe(), "worker", "--metrics-port", str(metrics_port)])
        )
    hub.metrics += worker_bases
    started = time.monotonic()
    for name, cmd in commands:
        log_path = tmp / f"hub-{name}.log"
        # cwd: no stray .env is read, relative paths land in the temp dir
        proc = spawn(cmd, log_path, cwd=tmp, env=env)
        stack.callback(stop_process, proc)
        hub.procs.append(proc)
        hub.logs.append(log_path)
    try:
        waits = [wait_healthy(session, base, hub.procs[0], started)]
        waits += [
            wait_healthy(session, wb, proc, started)
            for wb, proc in zip(worker_bases, hub.procs[1:], strict=True)
        ]
        hub.healthy_s = max(await asyncio.gather(*waits))
    except Exception:
        print(hub.log_tails(), file=sys.stderr)
        raise
    return hub


async def measure_hub(backend: str, run: Run) -> dict[str, Any]:
    args = run.args
    tmp = run.tmp / backend
    tmp.mkdir()
    out: dict[str, Any] = {"backend": backend, "description": BACKENDS[backend]}
    with contextlib.ExitStack() as stack:
        connector = aiohttp.TCPConnector(limit=4)
        session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(30))
        hub: HubStack | None = None
        sampler: RssSampler | None = None
        try:
            hub = await start_hub_stack(backend, stack, tmp, session)
            pids, metrics = hub.pids, hub.metrics
            url = hub.base + WEBHOOK_PATH
            out["hub_pids"] = pids
            out["processes"] = len(pids)
            out["healthy_s"] = hub.healthy_s
            out["migrate_s"] = hub.migrate_s
            out["healthy_rss_mb"] = total_mb(pids)
            out["quiet_after_s"] = await wait_quiet(pids, limit=args.idle_limit)
            out["idle_rss_mb"] = total_mb(pids)
            sampler = RssSampler(pids)
            sampler.start()

            # ---- warm-up, then the full-load phase
            warm = await warm_up(url, run)
            before, _, _ = await wait_routed(session, metrics, warm)
            each_before = [cpu_seconds(p) for p in pids]
            cpu_before = sum(each_before)
            servers_before = servers_cpu_seconds(hub.server_pids)
            spec = run.spec(url, args.requests)
            watch = CpuWatch(*pids, servers=hub.server_pids)
            load = await run_load(spec, args.inline_loader)
            load.update(watch.done(load["loader_process_cpu"]))
            cpu_posting = sum(cpu_seconds(p) for p in pids) - cpu_before
            target = before.routed + load["accepted"]
            after, routed_at, complete = await wait_routed(session, metrics, target)
            delta = after.minus(before)
            each = [cpu_seconds(p) - b for p, b in zip(pids, each_before, strict=True)]
            cpu_total = sum(each)
            servers_cpu = servers_cpu_seconds(hub.server_pids) - servers_before
            e2e_time = routed_at - load["first_post"]
            out["full"] = {
                **load,
                "routed": delta.routed,
                "all_routed": complete,
                "e2e_seconds": e2e_time,
                "e2e_per_s": delta.routed / e2e_time if e2e_time > 0 else 0.0,
                "route_p50": bucket_quantile(0.50, delta.buckets),
                "route_p99": bucket_quantile(0.99, delta.buckets),
                "route_mean": delta.latency_sum / delta.latency_count
                if delta.latency_count
                else None,
                "hub_cpu_posting": cpu_posting / load["elapsed"],
                "hub_cpu_total": cpu_total / e2e_time if e2e_time > 0 else None,
                "hub_cpu_ms_per_msg": cpu_total * 1000 / delta.routed if delta.routed else None,
                # [web or run, worker...]: the webhook's share and the routing's share
                "process_cpu_ms_per_msg": [c * 1000 / delta.routed for c in each]
                if delta.routed
                else [],
                # PostgreSQL + Redis, first post to last routed (inside foreign_cores too)
                "servers_cpu_cores": servers_cpu / e2e_time if e2e_time > 0 else None,
                "servers_cpu_ms_per_msg": servers_cpu * 1000 / delta.routed
                if delta.routed and hub.server_pids
                else None,
            }

            # ---- the paced phase: fixed offered rate, latency from the histogram delta
            count = int(args.paced_rate * args.paced_seconds)
            spec = run.spec(url, count, rate=args.paced_rate)
            before = after
            load = await run_load(spec, args.inline_loader)
            after, _, complete = await wait_routed(
                session, metrics, before.routed + load["accepted"]
            )
            delta = after.minus(before)
            out["paced"] = {
                **load,
                "routed": delta.routed,
                "all_routed": complete,
                "route_p50": bucket_quantile(0.50, delta.buckets),
                "route_p99": bucket_quantile(0.99, delta.buckets),
            }
            await sampler.stop()
            await wait_quiet(pids, limit=args.idle_limit)
            out["rss_after_mb"] = total_mb(pids)
            out["peak_rss_sampled_mb"] = sampler.peak
            # Summed high-water marks: an upper bound when the processes peak at different times.
            out["peak_rss_hwm_mb"] = total_mb(pids, hwm_mb)
            out["peak_rss_mb"] = max(sampler.peak, out["peak_rss_hwm_mb"])
        except Exception:
            if hub is not None:
                print(hub.log_tails(), file=sys.stderr)
            raise
        finally:
            if sampler is not None:
                await sampler.stop()
            await session.close()
            if hub is not None:
                for proc in reversed(hub.procs):
                    stop_process(proc)
        if hub is not None:
            out["exit_codes"] = [p.returncode for p in hub.procs]
            out["log_tail"] = "\n".join(_tail(path, 10) for path in hub.logs if path.stat().st_size)
    return out


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram = _status_kb_meminfo()
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


def _status_kb_meminfo() -> float | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return float(line.split()[1])
    return None


def _ms(value: tuple[float, bool] | None) -> str:
    if value is None:
        return "n/a"
    seconds, overflow = value
    text = f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"
    return f"> {text}" if overflow else text


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def rows_for(result: dict[str, Any], bare: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    full, paced = result["full"], result["paced"]
    ratio = full["accepted_per_s"] / bare["accepted_per_s"] if bare["accepted_per_s"] else 0.0
    result["ratio"] = ratio
    embedded = result["backend"] == "embedded"
    p99 = paced["route_p99"]
    p99_ok = None if p99 is None else (not p99[1] and p99[0] <= GOAL_P99)
    idle, peak = result["idle_rss_mb"] or 0.0, result["peak_rss_mb"]
    procs = result.get("processes", 1)
    summed = f" (sum of {procs} processes)" if procs > 1 else ""
    rss_goal = procs == 1  # the memory goals are for the one-process hub
    rows = [
        ("bare aiohttp accepted req/s", f"{bare['accepted_per_s']:,.0f}", "", ""),
        ("hub accepted req/s", f"{full['accepted_per_s']:,.0f}", "", ""),
        ("ratio hub / bare", f"{ratio:.2f}", f">= {GOAL_RATIO}", _verdict(ratio >= GOAL_RATIO)),
        (
            "end-to-end routed msgs/s",
            f"{full['e2e_per_s']:,.0f}" + ("" if full["all_routed"] else " (NOT all routed)"),
            f">= {GOAL_E2E:,.0f}" if embedded else "(embedded goal)",
            _verdict(full["e2e_per_s"] >= GOAL_E2E and full["all_routed"]) if embedded else "",
        ),
        (
            "route latency p50 / p99, full load",
            f"{_ms(full['route_p50'])} / {_ms(full['route_p99'])}",
            "(info)",
            "",
        ),
        (
            f"route latency p50 / p99 at {paced['offered_per_s']:.0f}/s",
            f"{_ms(paced['route_p50'])} / {_ms(paced['route_p99'])}",
            f"p99 <= {GOAL_P99 * 1000:.0f} ms",
            _verdict(p99_ok and paced["all_routed"]),
        ),
        (
            "idle RSS" + summed,
            f"{idle:,.0f} MB",
            f"<= {GOAL_IDLE_RSS:.0f} MB" if rss_goal else "(one-process goal)",
            _verdict(idle <= GOAL_IDLE_RSS) if rss_goal else "",
        ),
        (
            "peak RSS (VmHWM)" + summed,
            f"{peak:,.0f} MB",
            f"<= {GOAL_PEAK_RSS:.0f} MB" if rss_goal else "(one-process goal)",
            _verdict(peak <= GOAL_PEAK_RSS) if rss_goal else "",
        ),
        (
            "time to healthy" + (" (web + workers)" if procs > 1 else ""),
            f"{result['healthy_s']:.2f} s",
            f"<= {GOAL_HEALTHY:.0f} s",
            _verdict(result["healthy_s"] <= GOAL_HEALTHY),
        ),
    ]
    return rows


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    """One column per topology, side by side: the table docs/PERFORMANCE.md shows."""
    bare = results["bare"]
    done = {k: v for k, v in results["backends"].items() if "skipped" not in v}
    paced_rate = results["config"]["paced_rate"]

    def ratio(r: dict[str, Any]) -> str:
        return f"{r['full']['accepted_per_s'] / max(1e-9, bare['accepted_per_s']):.2f}"

    def e2e(r: dict[str, Any]) -> str:
        full = r["full"]
        return f"{full['e2e_per_s']:,.0f}" + ("" if full["all_routed"] else " (NOT all)")

    def cpu(r: dict[str, Any]) -> str:
        full = r["full"]
        return f"{full['hub_cpu_total']:.2f}"

    def cpu_ms(r: dict[str, Any]) -> str:
        full = r["full"]
        per_msg, parts = full.get("hub_cpu_ms_per_msg"), full.get("process_cpu_ms_per_msg", [])
        if per_msg is None:
            return "n/a"
        split = " + ".join(f"{c:.2f}" for c in parts)
        return f"{per_msg:.2f}" + (f" ({split})" if len(parts) > 1 else "")

    def others(r: dict[str, Any]) -> str:
        return f"{r['full']['others_cores']:.2f}"

    def servers(r: dict[str, Any]) -> str:
        full = r["full"]
        per_msg = full.get("servers_cpu_ms_per_msg")
        if per_msg is None:
            return ""
        return f"{full['servers_cpu_cores']:.2f} cores, {per_msg:.2f} ms/msg"

    def healthy(r: dict[str, Any]) -> str:
        migrate = r.get("migrate_s")
        return f"{r['healthy_s']:.2f} s" + (f" (+{migrate:.2f} s migrate)" if migrate else "")

    spec: list[tuple[str, str, Any]] = [
        ("hub processes", "1", lambda r: str(r.get("processes", 1))),
        ("accepted req/s", f"{bare['accepted_per_s']:,.0f}",
         lambda r: f"{r['full']['accepted_per_s']:,.0f}"),
        ("ratio to bare", "1.00", ratio),
        ("end-to-end routed msgs/s", "", e2e),
        ("route p50 / p99, full load", "",
         lambda r: f"{_ms(r['full']['route_p50'])} / {_ms(r['full']['route_p99'])}"),
        (f"route p50 / p99 at {paced_rate:.0f}/s", "",
         lambda r: f"{_ms(r['paced']['route_p50'])} / {_ms(r['paced']['route_p99'])}"),
        ("hub CPU, cores (first post to last routed)", f"{bare['server_cpu']:.2f}", cpu),
        ("hub CPU ms per message (web + workers)", "", cpu_ms),
        ("PostgreSQL + Redis CPU", "", servers),
        ("other processes while posting, cores", f"{bare['others_cores']:.2f}", others),
        ("idle RSS (sum)", "", lambda r: f"{r['idle_rss_mb']:,.0f} MB"),
        ("peak RSS (sum of VmHWM)", "", lambda r: f"{r['peak_rss_mb']:,.0f} MB"),
        ("time to healthy", "", healthy),
    ]  # fmt: skip
    rows = [["figure", "bare aiohttp", *done]]
    rows += [
        [label, bare_cell, *(cell(r) for r in done.values())] for label, bare_cell, cell in spec
    ]
    return rows


def print_summary(results: dict[str, Any]) -> None:
    rows = summary_rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    print("== all topologies, side by side ==")
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def print_report(results: dict[str, Any]) -> None:
    m, cfg = results["machine"], results["config"]
    print()
    print(
        f"machine: {m['nproc']} CPUs ({m['usable_cpus']} usable), {m['cpu_model']}, "
        f"{m['ram_gb']} GB RAM, Python {m['python']}, aiohttp {m['aiohttp']}, "
        f"load average at start {m['loadavg_at_start']}"
    )
    print(
        f"load: {cfg['requests']:,} unique updates per phase from {cfg['customers']} customers, "
        f"{cfg['connections']} connections, loopback; load generator: {cfg['loader']}; "
        f"paced phase: {cfg['paced_rate']:.0f} msgs/s for {cfg['paced_seconds']:.0f} s"
    )
    print("route latency: estimated from hub_route_latency_seconds buckets (linear in a bucket)")
    bare = results["bare"]
    print(
        f"bare aiohttp: {bare['accepted_per_s']:,.0f} req/s, errors {bare['errors']}, "
        f"server CPU {bare['server_cpu']:.0%} of a core, loader CPU {bare['loader_cpu']:.0%}, "
        f"other processes {bare['foreign_cores']:.0%} of a core"
        + (
            "  (the loader was saturated: the bare figure is a lower bound; try --client raw)"
            if bare["loader_cpu"] > 0.9
            else ""
        )
    )
    for name, result in results["backends"].items():
        print()
        print(f"== {name}: {BACKENDS[name]} ==")
        if "skipped" in result:
            print(f"   skipped: {result['skipped']}")
            continue
        rows = rows_for(result, bare)
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        header = ("metric", "value", "goal", "result")
        widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
        for row in (header, *rows):
            print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        full, paced = result["full"], result["paced"]
        print(
            f"  full load: {full['accepted']:,} accepted, {full['errors']} errors "
            f"{_errors(full)}in {full['elapsed']:.2f} s; routed {full['routed']:,.0f} in "
            f"{full['e2e_seconds']:.2f} s from the first post; "
            f"hub CPU {full['hub_cpu_posting']:.0%} while posting; "
            f"loader CPU {full['loader_cpu']:.0%}; other processes on the machine "
            f"{full['foreign_cores']:.0%} of a core"
            + (" (PostgreSQL/Redis included)" if name != "embedded" else "")
            + (
                f"; PostgreSQL + Redis {full['servers_cpu_cores']:.0%} of a core"
                if full.get("servers_cpu_ms_per_msg") is not None
                else ""
            )
            + (
                f"; hub CPU {full['hub_cpu_ms_per_msg']:.2f} ms per message routed"
                if full.get("hub_cpu_ms_per_msg")
                else ""
            )
            + "; HTTP p50/p99 "
            f"{full['http_p50'] * 1000:.1f}/{full['http_p99'] * 1000:.1f} ms"
        )
        print(
            f"  paced: offered {paced['offered_per_s']:.0f}/s, accepted "
            f"{paced['accepted_per_s']:,.0f}/s, {paced['errors']} errors {_errors(paced)}"
            f"HTTP p50/p99 {paced['http_p50'] * 1000:.1f}/{paced['http_p99'] * 1000:.1f} ms"
        )
        print(
            f"  RSS: at healthy {result['healthy_rss_mb']:.0f} MB, idle (quiet after "
            f"{result['quiet_after_s']:.1f} s) {result['idle_rss_mb']:.0f} MB, "
            f"peak sampled every 100 ms "
            f"{result['peak_rss_sampled_mb']:.0f} MB, VmHWM {result['peak_rss_hwm_mb']:.0f} MB, "
            f"idle after the load {result['rss_after_mb']:.0f} MB"
            + (f" (summed over {result['processes']} processes)" if result["processes"] > 1 else "")
        )
    if results["backends"]:
        print_summary(results)


def _errors(phase: dict[str, Any]) -> str:
    other = {k: v for k, v in phase["statuses"].items() if k != "200"}
    return f"{other} " if other else ""


# --------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    run = Run(args, tmp, seq=int(time.time()) % 1_000_000 * 1000)
    loader = (
        "inline (same process as the orchestrator)"
        if args.inline_loader
        else "separate process (multiprocessing, spawn), 1 process"
    ) + f", {args.client} client"
    results: dict[str, Any] = {
        "machine": machine(),
        "config": {
            "requests": args.requests,
            "connections": args.connections,
            "customers": args.customers,
            "paced_rate": args.paced_rate,
            "paced_seconds": args.paced_seconds,
            "warmup": args.warmup,
            "loader": loader,
            "backends": args.backends,
        },
        "backends": {},
    }
    print(f"bare aiohttp baseline: {args.requests:,} requests ...", file=sys.stderr, flush=True)
    results["bare"] = await measure_bare(run)
    for backend in args.backends:
        missing = backend_missing(backend)
        if missing:
            print(f"{backend}: skipped, {missing}", file=sys.stderr, flush=True)
            results["backends"][backend] = {"backend": backend, "skipped": missing}
            continue
        print(f"{backend}: hub run under load ...", file=sys.stderr, flush=True)
        results["backends"][backend] = await measure_hub(backend, run)
    return results


def backends_arg(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown backend(s) {', '.join(unknown) or '(none)'}; choose from "
            + ", ".join(BACKENDS)
        )
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/ingest.py",
        description="Telegram webhook ingest benchmark: a bare aiohttp endpoint, then `hub run` "
        "under the same load (loopback, unique updates), end-to-end routing, route latency, "
        "RSS and start time, with the goals of the issue marked PASS/MISS.",
        epilog="Backends: "
        + "; ".join(f"{k} = {v}" for k, v in BACKENDS.items())
        + ". Scale-out topologies run `hub migrate`, then `hub web` and the workers (each "
        "with --metrics-port); routed counts and latency histograms are summed over every "
        "process's /metrics, CPU and RSS over the hub's processes. PostgreSQL and Redis are "
        "started from tests/servers.py. Only loopback addresses are used; every process "
        "started is stopped on exit.",
    )
    p.add_argument(
        "--requests",
        type=int,
        default=20_000,
        metavar="N",
        help="updates posted in the full-load phase, for the bare baseline and per backend "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--backends",
        type=backends_arg,
        default=DEFAULT_BACKENDS,
        metavar="LIST",
        help="comma-separated, from: "
        + ", ".join(BACKENDS)
        + " (default: "
        + ",".join(DEFAULT_BACKENDS)
        + ")",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write all figures here")
    p.add_argument("--connections", type=int, default=32, help="(default: %(default)s)")
    p.add_argument("--customers", type=int, default=500, help="(default: %(default)s)")
    p.add_argument(
        "--paced-rate", type=float, default=500.0, help="msgs/s offered in the latency phase"
    )
    p.add_argument("--paced-seconds", type=float, default=5.0, help="duration of the latency phase")
    p.add_argument(
        "--warmup", type=int, default=320, help="unmeasured requests before each measurement"
    )
    p.add_argument(
        "--idle-limit",
        type=float,
        default=20.0,
        help="idle RSS is read once the hub uses < 5%% of a core for 0.5 s, waiting at most "
        "this long (default: %(default)s s)",
    )
    p.add_argument(
        "--client",
        choices=["aiohttp", "raw"],
        default="aiohttp",
        help="load generator HTTP client: aiohttp ClientSession (TCPConnector limit=N), or raw: "
        "a minimal keep-alive HTTP/1.1 client on asyncio streams, much cheaper per request, "
        "to check the aiohttp client is not what limits the bare figure (default: %(default)s)",
    )
    p.add_argument(
        "--inline-loader",
        action="store_true",
        help="run the load generator in this process instead of a separate one",
    )
    p.add_argument(
        "--with-bots",
        action="store_true",
        help="keep the bots on (the product default): every new conversation gets bot replies; "
        "off by default so the figures are ingest alone",
    )
    p.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return p


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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.bare_server is not None:
        run_bare_server(args.bare_server)
        return 0
    if args.requests < 1 or args.connections < 1 or args.customers < 1:
        parser().error("--requests, --connections and --customers must be positive")
    BOTS["on"] = args.with_bots
    return run_and_report(bench, args, print_report, "hub-bench-")


if __name__ == "__main__":
    sys.exit(main())
