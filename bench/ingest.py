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

The end of the output is one table with every topology side by side. The load, the
processes, the topologies and the figures come from ``bench.lib``; this script holds the
bare baseline, the phases and the goals.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

# Run as a file, this script sees bench/ first on sys.path; bench.lib, hub and tests.servers
# (PostgreSQL and Redis on loopback) live at the repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lib.load import SECRET, SECRET_HEADER, WEBHOOK_PATH, LoadSpec, generate_load, run_load
from bench.lib.metrics import (
    CpuWatch,
    RssSampler,
    cpu_seconds,
    hwm_mb,
    servers_cpu_seconds,
    total_mb,
    wait_quiet,
)
from bench.lib.processes import HOST, free_port, log_tail, spawn, stop_process, wait_port
from bench.lib.report import (
    cpu_ms_cell,
    machine,
    machine_line,
    print_table,
    run_and_report,
    verdict,
)
from bench.lib.scrape import bucket_quantile, wait_routed
from bench.lib.stack import (
    BACKENDS,
    DEFAULT_BACKENDS,
    HubStack,
    backends_arg,
    backends_help,
    each_backend,
    start_hub_stack,
)

THIS_FILE = Path(__file__).resolve()

GOAL_RATIO = 0.6
GOAL_E2E = 2000.0  # msgs/s, embedded default only
GOAL_P99 = 0.100  # seconds, at the paced rate
GOAL_IDLE_RSS = 150.0  # MB
GOAL_PEAK_RSS = 300.0  # MB
GOAL_HEALTHY = 2.0  # seconds


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
            hub = await start_hub_stack(backend, stack, tmp, session, bots=args.with_bots)
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
                hub.stop()
        if hub is not None:
            out["exit_codes"] = [p.returncode for p in hub.procs]
            out["log_tail"] = "\n".join(
                log_tail(path, 10) for path in hub.logs if path.stat().st_size
            )
    return out


# --------------------------------------------------------------------------- report


def _ms(value: tuple[float, bool] | None) -> str:
    if value is None:
        return "n/a"
    seconds, overflow = value
    text = f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"
    return f"> {text}" if overflow else text


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
        ("ratio hub / bare", f"{ratio:.2f}", f">= {GOAL_RATIO}", verdict(ratio >= GOAL_RATIO)),
        (
            "end-to-end routed msgs/s",
            f"{full['e2e_per_s']:,.0f}" + ("" if full["all_routed"] else " (NOT all routed)"),
            f">= {GOAL_E2E:,.0f}" if embedded else "(embedded goal)",
            verdict(full["e2e_per_s"] >= GOAL_E2E and full["all_routed"]) if embedded else "",
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
            verdict(p99_ok and paced["all_routed"]),
        ),
        (
            "idle RSS" + summed,
            f"{idle:,.0f} MB",
            f"<= {GOAL_IDLE_RSS:.0f} MB" if rss_goal else "(one-process goal)",
            verdict(idle <= GOAL_IDLE_RSS) if rss_goal else "",
        ),
        (
            "peak RSS (VmHWM)" + summed,
            f"{peak:,.0f} MB",
            f"<= {GOAL_PEAK_RSS:.0f} MB" if rss_goal else "(one-process goal)",
            verdict(peak <= GOAL_PEAK_RSS) if rss_goal else "",
        ),
        (
            "time to healthy" + (" (web + workers)" if procs > 1 else ""),
            f"{result['healthy_s']:.2f} s",
            f"<= {GOAL_HEALTHY:.0f} s",
            verdict(result["healthy_s"] <= GOAL_HEALTHY),
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
        return cpu_ms_cell(full.get("hub_cpu_ms_per_msg"), full.get("process_cpu_ms_per_msg", []))

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
    print()
    print("== all topologies, side by side ==")
    print_table(summary_rows(results))


def print_report(results: dict[str, Any]) -> None:
    m, cfg = results["machine"], results["config"]
    print()
    print(machine_line(m))
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
        print_table([("metric", "value", "goal", "result"), *rows_for(result, bare)])
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

    async def measure(backend: str) -> dict[str, Any]:
        print(f"{backend}: hub run under load ...", file=sys.stderr, flush=True)
        return await measure_hub(backend, run)

    results["backends"] = await each_backend(args.backends, measure)
    return results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/ingest.py",
        description="Telegram webhook ingest benchmark: a bare aiohttp endpoint, then `hub run` "
        "under the same load (loopback, unique updates), end-to-end routing, route latency, "
        "RSS and start time, with the goals of the issue marked PASS/MISS.",
        epilog=backends_help()
        + " Scale-out topologies run `hub migrate`, then `hub web` and the workers (each "
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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.bare_server is not None:
        run_bare_server(args.bare_server)
        return 0
    if args.requests < 1 or args.connections < 1 or args.customers < 1:
        parser().error("--requests, --connections and --customers must be positive")
    return run_and_report(bench, args, print_report, "hub-bench-")


if __name__ == "__main__":
    sys.exit(main())
