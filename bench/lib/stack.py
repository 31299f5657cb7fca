"""The topologies a benchmark runs the hub in, and starting one: the database servers
(PostgreSQL and Redis from tests/servers.py), `hub migrate`, then `hub run`, or `hub web`
and N `hub worker` processes, each waited for until it answers /healthz."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.lib.load import SECRET
from bench.lib.processes import HOST, free_port, hub_exe, log_tail, pids_of, spawn, stop_process

REPO = Path(__file__).resolve().parents[2]

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
BOT_TOKEN = "123:bench"  # HUB_TELEGRAM_BOT_TOKEN of every hub a benchmark starts


def backends_arg(value: str) -> list[str]:
    """--backends: comma-separated names from BACKENDS."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown backend(s) {', '.join(unknown) or '(none)'}; choose from "
            + ", ".join(BACKENDS)
        )
    return names


def backends_help() -> str:
    """The topologies for a script's --help epilog."""
    return "Backends: " + "; ".join(f"{k} = {v}" for k, v in BACKENDS.items()) + "."


async def each_backend(
    backends: list[str], measure: Callable[[str], Awaitable[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """`measure` each backend in turn; one this machine cannot run is reported as skipped."""
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        missing = backend_missing(backend)
        if missing:
            print(f"{backend}: skipped, {missing}", file=sys.stderr, flush=True)
            results[backend] = {"backend": backend, "skipped": missing}
            continue
        results[backend] = await measure(backend)
    return results


def uses_redis(backend: str) -> bool:
    return backend == "postgres_redis" or backend in WORKERS


def backend_missing(backend: str) -> str | None:
    """Why `backend` cannot run on this machine, or None."""
    if uses_redis(backend) and not (REPO / "hub/queue/redis_streams.py").is_file():
        return "hub/queue/redis_streams.py does not exist yet (the Redis Streams queue)"
    if backend != "embedded":
        if not Path("/usr/lib/postgresql").is_dir():
            return "PostgreSQL server binaries are not installed"
        if uses_redis(backend) and not shutil.which("redis-server"):
            return "redis-server is not installed"
    return None


def hub_env(
    port: int, database_url: str, redis_url: str | None = None, *, bots: bool = False
) -> dict[str, str]:
    """The environment of a benchmarked hub: this one's without any HUB_ setting, then the
    bench's own (bots off unless asked: ingest alone is measured by default)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_BOTS="1" if bots else "0",
        HUB_DATABASE_URL=database_url,
        HUB_HOST=HOST,
        HUB_PORT=str(port),
        HUB_TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        HUB_TELEGRAM_WEBHOOK_SECRET=SECRET,
        HUB_TELEGRAM_API_URL="http://127.0.0.1:9",  # bot replies fail fast here
        HUB_LOG_LEVEL="WARNING",
    )
    if redis_url:
        env["HUB_REDIS_URL"] = redis_url
    return env


async def wait_healthy(
    session: aiohttp.ClientSession, base: str, proc: subprocess.Popen[bytes], started: float
) -> float:
    """Seconds from `started` until `base`/healthz answers 200; fails if `proc` exits."""
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
        pids += pids_of("redis-server", f"127.0.0.1:{redis.port}")
    return pg.url, redis_url, pids


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
        return "\n".join(f"--- {path.name} ---\n{log_tail(path, lines)}" for path in self.logs)

    def stop(self) -> None:
        """Workers first, the web process last."""
        for proc in reversed(self.procs):
            stop_process(proc)


async def start_hub_stack(
    backend: str,
    stack: contextlib.ExitStack,
    tmp: Path,
    session: aiohttp.ClientSession,
    extra_env: dict[str, str] | None = None,
    *,
    bots: bool = False,
) -> HubStack:
    """Start the database servers and the hub processes of `backend`; all stopped by
    `stack`. Returns once the web process and every worker answer /healthz."""
    database_url, redis_url, server_pids = start_servers(backend, stack, tmp)
    port = free_port()
    env = {**hub_env(port, database_url, redis_url, bots=bots), **(extra_env or {})}
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


@asynccontextmanager
async def running_hub(
    backend: str, tmp: Path, extra_env: dict[str, str] | None = None, *, bots: bool = False
) -> AsyncIterator[tuple[HubStack, aiohttp.ClientSession]]:
    """A started hub of `backend` and a client session for the body of an `async with`: on
    an error the hub's log tails are printed; hub, servers and session end on the way out."""
    with contextlib.ExitStack() as stack:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(60)) as session:
            hub = await start_hub_stack(backend, stack, tmp, session, extra_env, bots=bots)
            try:
                yield hub, session
            except Exception:
                print(hub.log_tails(), file=sys.stderr)
                raise
            finally:
                hub.stop()
