"""Ingest benchmark: Telegram webhooks into the hub, against a bare aiohttp baseline.

One run measures, on loopback only:

1. a bare aiohttp endpoint (a subprocess running this file with ``--bare-server PORT``) that
   checks the secret header, JSON-parses a Telegram update and answers 200;
2. per backend, ``hub run`` as a subprocess under the same load (32 connections, unique
   updates from 500 customers): accepted req/s, then the wait until every accepted update is
   routed (end-to-end msgs/s from ``hub_messages_routed_total``), route latency p50/p99
   estimated from the ``hub_route_latency_seconds`` histogram buckets, RSS idle and at peak,
   time from process start to a healthy ``/healthz``;
3. a paced phase at a fixed offered rate (500 msgs/s for 5 s) whose histogram delta gives the
   latency figure the goal is stated for.

The load generator runs in its own process (multiprocessing) so that it gets its own core
and does not share an event loop with anything it measures; ``--inline-loader`` runs it in
this process instead. Everything this script starts is stopped on exit, also on Ctrl+C.

    .venv/bin/python bench/ingest.py
    .venv/bin/python bench/ingest.py --requests 40000 --backends embedded --json out.json
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
    "embedded": "embedded default: SQLite file, queue in the same database",
    "postgres_redis": "PostgreSQL + Redis Streams (HUB_REDIS_URL)",
    "postgres": "PostgreSQL, queue in the database (no Redis)",
}


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


def _loader_entry(conn: Any, spec: LoadSpec) -> None:
    """Body of the load-generator process: run the load, send the result back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us; no traceback spam
    try:
        result = asyncio.run(generate_load(spec))
        result["loader_process_cpu"] = time.process_time()  # imports and set-up included
        conn.send(result)
    except BaseException:
        conn.send({"failure": traceback.format_exc()})
    finally:
        conn.close()


async def run_load(spec: LoadSpec, inline: bool) -> dict[str, Any]:
    if inline:
        result = await generate_load(spec)
        result["loader_process_cpu"] = 0.0  # already in this process's CPU time
        return result
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_loader_entry, args=(child, spec), daemon=True)
    proc.start()
    child.close()
    try:
        result: dict[str, Any] = await asyncio.to_thread(parent.recv)
    except EOFError:
        raise RuntimeError(f"the load generator died (exit code {proc.exitcode})") from None
    finally:
        if proc.is_alive():
            proc.join(5)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        parent.close()
    if "failure" in result:
        raise RuntimeError("the load generator failed:\n" + result["failure"])
    return result


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


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle or iowait) since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICK


class CpuWatch:
    """Busy CPU of the whole machine over a phase, and how much of it was someone else's."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.machine = machine_busy_seconds()
        self.ours = sum(cpu_seconds(p) for p in pids) + time.process_time()
        self.started = time.monotonic()

    def done(self, extra_ours: float = 0.0) -> dict[str, float]:
        """Cores used over the phase; extra_ours: CPU seconds of a process already gone."""
        wall = max(1e-9, time.monotonic() - self.started)
        machine = machine_busy_seconds() - self.machine
        ours = sum(cpu_seconds(p) for p in self.pids) + time.process_time() - self.ours
        ours += extra_ours
        return {"machine_cores": machine / wall, "foreign_cores": max(0.0, machine - ours) / wall}


async def wait_quiet(
    pid: int, window: float = 0.5, threshold: float = 0.05, limit: float = 20.0
) -> float:
    """Wait until a process uses under `threshold` of a core for `window` s; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = cpu_seconds(pid)
        await asyncio.sleep(window)
        if (cpu_seconds(pid) - before) / window < threshold:
            break
    return time.monotonic() - started


class RssSampler:
    """Peak VmRSS of one process, sampled every 100 ms while running."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            value = rss_mb(self.pid)
            if value is not None:
                self.peak = max(self.peak, value)
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


def hub_command() -> list[str]:
    script = Path(sys.executable).parent / "hub"
    if script.is_file():
        return [str(script), "run"]
    found = shutil.which("hub")
    return [found, "run"] if found else [sys.executable, "-m", "hub", "run"]


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


async def scrape(session: aiohttp.ClientSession, base: str) -> Snapshot:
    async with session.get(base + "/metrics") as resp:
        resp.raise_for_status()
        return parse_metrics(await resp.text())


async def wait_routed(
    session: aiohttp.ClientSession, base: str, target: float, stall_limit: float = 30.0
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
            raise RuntimeError(f"hub run exited with {proc.returncode} at start")
        try:
            async with session.get(base + "/healthz", timeout=aiohttp.ClientTimeout(1)) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.02)
    raise RuntimeError("hub run not healthy within 60 s")


def start_servers(backend: str, stack: contextlib.ExitStack, tmp: Path) -> tuple[str, str | None]:
    """The database URL (and Redis URL) for a backend; servers are stopped by `stack`."""
    if backend == "embedded":
        return f"sqlite:///{tmp / 'hub.db'}", None
    from tests.servers import start_postgres, start_redis

    pg = start_postgres(tmp / "servers")
    stack.callback(pg.stop)
    redis_url = None
    if backend == "postgres_redis":
        redis = start_redis(tmp / "servers")
        stack.callback(redis.stop)
        redis_url = redis.url
    return pg.url, redis_url


def backend_missing(backend: str) -> str | None:
    if backend == "postgres_redis" and not (REPO / "hub/queue/redis_streams.py").is_file():
        return "hub/queue/redis_streams.py does not exist yet (the Redis Streams queue)"
    if backend != "embedded":
        if not Path("/usr/lib/postgresql").is_dir():
            return "PostgreSQL server binaries are not installed"
        if backend == "postgres_redis" and not shutil.which("redis-server"):
            return "redis-server is not installed"
    return None


async def measure_hub(backend: str, run: Run) -> dict[str, Any]:
    args = run.args
    tmp = run.tmp / backend
    tmp.mkdir()
    out: dict[str, Any] = {"backend": backend, "description": BACKENDS[backend]}
    with contextlib.ExitStack() as stack:
        database_url, redis_url = start_servers(backend, stack, tmp)
        port = free_port()
        base = f"http://{HOST}:{port}"
        url = base + WEBHOOK_PATH
        log_path = tmp / "hub.log"
        env = _hub_env(port, database_url, redis_url)
        started = time.monotonic()
        # cwd: no stray .env is read, relative paths land in the temp dir
        proc = spawn(hub_command(), log_path, cwd=tmp, env=env)
        stack.callback(stop_process, proc)
        out["hub_pid"] = proc.pid
        connector = aiohttp.TCPConnector(limit=4)
        session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(30))
        sampler = RssSampler(proc.pid)
        try:
            out["healthy_s"] = await wait_healthy(session, base, proc, started)
            out["healthy_rss_mb"] = rss_mb(proc.pid)
            out["quiet_after_s"] = await wait_quiet(proc.pid, limit=args.idle_limit)
            out["idle_rss_mb"] = rss_mb(proc.pid)
            sampler.start()

            # ---- warm-up, then the full-load phase
            warm = await warm_up(url, run)
            before, _, _ = await wait_routed(session, base, warm)
            cpu_before = cpu_seconds(proc.pid)
            spec = run.spec(url, args.requests)
            watch = CpuWatch(proc.pid)
            load = await run_load(spec, args.inline_loader)
            load.update(watch.done(load["loader_process_cpu"]))
            cpu_posting = cpu_seconds(proc.pid) - cpu_before
            target = before.routed + load["accepted"]
            after, routed_at, complete = await wait_routed(session, base, target)
            delta = after.minus(before)
            cpu_total = cpu_seconds(proc.pid) - cpu_before
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
            }

            # ---- the paced phase: fixed offered rate, latency from the histogram delta
            count = int(args.paced_rate * args.paced_seconds)
            spec = run.spec(url, count, rate=args.paced_rate)
            before = after
            load = await run_load(spec, args.inline_loader)
            after, _, complete = await wait_routed(session, base, before.routed + load["accepted"])
            delta = after.minus(before)
            out["paced"] = {
                **load,
                "routed": delta.routed,
                "all_routed": complete,
                "route_p50": bucket_quantile(0.50, delta.buckets),
                "route_p99": bucket_quantile(0.99, delta.buckets),
            }
            await sampler.stop()
            await wait_quiet(proc.pid, limit=args.idle_limit)
            out["rss_after_mb"] = rss_mb(proc.pid)
            out["peak_rss_sampled_mb"] = sampler.peak
            out["peak_rss_hwm_mb"] = hwm_mb(proc.pid)
            out["peak_rss_mb"] = max(sampler.peak, out["peak_rss_hwm_mb"] or 0.0)
        except Exception:
            print(f"--- hub run log ({log_path}) ---\n{_tail(log_path)}", file=sys.stderr)
            raise
        finally:
            await sampler.stop()
            await session.close()
            stop_process(proc)
        out["exit_code"] = proc.returncode
        out["log_tail"] = _tail(log_path, 10) if log_path.stat().st_size else ""
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
            "idle RSS",
            f"{idle:,.0f} MB",
            f"<= {GOAL_IDLE_RSS:.0f} MB",
            _verdict(idle <= GOAL_IDLE_RSS),
        ),
        (
            "peak RSS (VmHWM)",
            f"{peak:,.0f} MB",
            f"<= {GOAL_PEAK_RSS:.0f} MB",
            _verdict(peak <= GOAL_PEAK_RSS),
        ),
        (
            "time to healthy",
            f"{result['healthy_s']:.2f} s",
            f"<= {GOAL_HEALTHY:.0f} s",
            _verdict(result["healthy_s"] <= GOAL_HEALTHY),
        ),
    ]
    return rows


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
        )


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


def _backends(value: str) -> list[str]:
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
        + ". postgres_redis is skipped with a note until hub/queue/redis_streams.py exists. "
        "Only loopback addresses are used; every process started is stopped on exit.",
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
        type=_backends,
        default=["embedded", "postgres_redis"],
        metavar="LIST",
        help="comma-separated: embedded, postgres_redis, postgres (default: embedded,"
        "postgres_redis)",
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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.bare_server is not None:
        run_bare_server(args.bare_server)
        return 0
    if args.requests < 1 or args.connections < 1 or args.customers < 1:
        parser().error("--requests, --connections and --customers must be positive")
    BOTS["on"] = args.with_bots
    signal.signal(signal.SIGTERM, _interrupted)  # stop like on Ctrl+C: clean up children
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    try:
        results = asyncio.run(bench(args, tmp))
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
