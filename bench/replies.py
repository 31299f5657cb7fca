"""Issue 14's goals in one run: everything the hub says, measured against the goal table.

On loopback only, with the tests' fake Telegram Bot API in this process:

1. **operator replies** (bots off, embedded): ``bench/outbound.py``'s plain batch, giving
   hub CPU per reply and replies reaching the provider per second;
2. per topology (``--backends``; bots on, the product default):
   - ``--customers`` orders seeded through ``PUT /api/v1/orders/{number}`` with the
     customer's ``telegram_id`` (the order number is the Telegram user id);
   - **bot load**: ``--messages`` webhook updates, each customer asking about their own
     order ("Where is my order N?"), posted from a separate process; a message counts as
     answered when the fake provider has received the bot's answer naming that order. The
     hub's first Telegram send happens here, so a ``/healthz`` probe every 10 ms gives the
     event-loop stall around it, and an RSS sampler the jump and peak;
   - **notices**: ``--notices`` ``PUT /orders`` with ``notify: true``, status changes of the
     seeded orders (each order walks processing → shipped → ... at most once per status),
     counted when the provider accepted them; a (chat, text) received twice is a duplicate;
3. the **bare aiohttp** baseline of ``bench/ingest.py`` under the same webhook load, for
   ``hub web`` accepted req/s ÷ bare (pg_redis_1w: the worker on the other core);
4. one table: goal, figure, PASS/MISS, and the machine's load while it was measured.

    .venv/bin/python bench/replies.py --quick            # a smoke run, small counts
    .venv/bin/python bench/replies.py                    # the issue's counts, every topology
    .venv/bin/python bench/replies.py --backends embedded --json r.json
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

# Run as a file, this script sees bench/ first on sys.path; bench.lib, hub and tests (the
# fake Bot API, PostgreSQL and Redis on loopback) live at the repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import outbound
from bench.ingest import Run, measure_bare
from bench.lib.load import CUSTOMER_BASE, WEBHOOK_PATH, LoadSpec, run_load
from bench.lib.metrics import CpuWatch, RssSampler, cpu_seconds, hwm_mb, total_mb, wait_quiet
from bench.lib.posting import answer_status, post_each, shared
from bench.lib.probe import HealthProbe
from bench.lib.processes import in_own_process, py_spy_records
from bench.lib.profile import top_frames
from bench.lib.report import (
    add_provider_wait_arguments,
    loadavg,
    machine,
    machine_line,
    print_table,
    run_and_report,
    verdict,
)
from bench.lib.stack import (
    BACKENDS,
    BOT_TOKEN,
    DEFAULT_BACKENDS,
    HubStack,
    backends_arg,
    backends_help,
    each_backend,
    running_hub,
)
from tests.fakes.telegram_api import FakeTelegramAPI

GOAL_CPU_MS = 0.5  # hub CPU per outbound reply, embedded
GOAL_SENDS = 1500.0  # replies reaching the provider per second, embedded
GOAL_BOTS = 1000.0  # bot-answered messages per second, embedded
GOAL_ACK_P99 = 0.050  # webhook answer p99 under the bot load
GOAL_NOTICES = 1000.0  # notices accepted by the provider per second
GOAL_STALL = 0.1  # "none": no /healthz answer slower than this around the first send
GOAL_PEAK_RSS = 200.0  # MB, embedded, bots on
GOAL_RATIO = 0.5  # `hub web` accepted req/s / bare aiohttp, worker on the other core
GOAL_SCALE = 1.8  # 2 workers / 1 worker bot-answered msgs/s: "throughput adds up"
NOTICE_STATUSES = ["processing", "shipped", "in_transit", "ready_for_pickup", "delivered"]
# where a profile's shares are worth reading: the hub, its edges and the libraries it drives
PROFILED = ("(hub/", "(adapters/", "(bots/", "aiogram/", "sqlalchemy/", "pydantic/", "jinja2/")
QUESTION = "Where is my order {user}?"  # the order number is the customer's Telegram id


# --------------------------------------------------------------------------- order pushes


@dataclass
class OrdersSpec:
    base: str
    token: str
    users: list[int]  # customer i's order is number users[i], for telegram_id users[i]
    count: int  # request i: order i % len(users), status i // len(users) (round-robin)
    connections: int
    statuses: list[str]
    notify: bool


async def put_orders(spec: OrdersSpec) -> dict[str, Any]:
    """`count` PUT /api/v1/orders/{number}, as fast as answered; no order twice at once."""
    headers = {"Authorization": f"Bearer {spec.token}"}
    connector = aiohttp.TCPConnector(limit=spec.connections, limit_per_host=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(60), headers=headers
    ) as session:

        def put(index: int) -> Any:
            user = spec.users[index % len(spec.users)]
            status = spec.statuses[index // len(spec.users) % len(spec.statuses)]
            body = {"customer": {"telegram_id": user}, "status": status, "notify": spec.notify}
            return answer_status(session.put(f"{spec.base}/api/v1/orders/{user}", json=body))

        tally = await post_each(spec.count, spec.connections, shared(put))
    figures = tally.figures("200" if spec.notify else "201")
    keep = ("accepted", "errors", "statuses", "first_post", "last_answer", "accepted_per_s")
    return {k: figures[k] for k in keep} | {"api_p50": figures["p50"], "api_p99": figures["p99"]}


async def run_puts(spec: OrdersSpec) -> dict[str, Any]:
    """The order pushes from their own process, as a shop's system would send them."""
    return await in_own_process(put_orders, spec, "poster_process_cpu", "order poster")


# --------------------------------------------------------------------------- the provider's log


class ChatLog:
    """Successful sendMessage calls of the fake provider to the bench's customers since it
    was made: answers naming the customer's order per chat, and (chat, text) pairs."""

    def __init__(self, fake: FakeTelegramAPI, users: set[int]) -> None:
        self.fake, self.users = fake, users
        self.offset = len(fake.calls)
        self.answers: Counter[int] = Counter()  # sends naming "#<the chat's order>"
        self.texts: Counter[tuple[int, str]] = Counter()
        self.other = 0  # sends to these chats naming no order of theirs
        self.first_at: float | None = None
        self.last_at = 0.0

    def scan(self) -> None:
        calls = self.fake.calls
        for call in calls[self.offset :]:
            if call.method != "sendMessage" or call.status != 200:
                continue
            try:
                chat = int(call.fields.get("chat_id"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if chat not in self.users:
                continue
            text = str(call.fields.get("text") or "")
            self.texts[(chat, text)] += 1
            if f"#{chat}" in text:
                self.answers[chat] += 1
            else:
                self.other += 1
            self.first_at = call.at if self.first_at is None else self.first_at
            self.last_at = max(self.last_at, call.at)
        self.offset = len(calls)

    @property
    def sent(self) -> int:
        return sum(self.texts.values())

    def repeated_texts(self) -> int:
        """Sends beyond the first of a (chat, text): a notice the provider accepted twice."""
        return sum(n - 1 for n in self.texts.values() if n > 1)


async def wait_for(log: ChatLog, done: Any, stall_limit: float) -> bool:
    """Until done(log) holds, or the log has not grown for stall_limit s."""
    last, last_move = -1, time.monotonic()
    while True:
        log.scan()
        if done(log):
            return True
        now = time.monotonic()
        if log.sent != last:
            last, last_move = log.sent, now
        elif now - last_move > stall_limit:
            return False
        await asyncio.sleep(0.05)


def phase_load(watch: CpuWatch, extra_cpu: float, started_load: str) -> dict[str, Any]:
    """The machine's load over a phase: the load average when it began and the cores busy
    with other processes (neither the hub, its servers, the poster nor this script)."""
    cores = watch.done(extra_cpu)
    return cores | {"loadavg": started_load}


# --------------------------------------------------------------------------- bots and notices


async def bot_load(
    hub: HubStack, fake: FakeTelegramAPI, users: list[int], args: argparse.Namespace
) -> dict[str, Any]:
    """Every customer asks about their own order; until every message is answered."""
    probe = HealthProbe(hub.base)
    probe.start()
    log = ChatLog(fake, set(users))
    per_proc = [cpu_seconds(p) for p in hub.pids]
    started_load, watch = loadavg(), CpuWatch(*hub.pids, servers=hub.server_pids)
    n = len(users)
    # seq n + i is sent by CUSTOMER_BASE + i % n: every customer in turn
    spec = LoadSpec(hub.base + WEBHOOK_PATH, n, args.messages, args.connections, n, text=QUESTION)
    try:
        load = await run_load(spec, inline=False)
        per_chat = load["accepted"] / n

        def answered(lg: ChatLog) -> float:
            """Answers counted up to the questions each customer asked: a second answer to
            one question does not stand in for another customer's missing one."""
            return sum(min(c, per_chat) for c in lg.answers.values())

        complete = await wait_for(
            log, lambda lg: answered(lg) >= load["accepted"], args.stall_limit
        )
    finally:
        await probe.stop()
    cpu = sum(cpu_seconds(p) - b for p, b in zip(hub.pids, per_proc, strict=True))
    answered_count = answered(log)
    span = max(1e-9, log.last_at - load["first_post"])
    first = log.first_at
    return {
        **{k: load[k] for k in ("accepted", "errors", "statuses", "accepted_per_s")},
        "http_p50": load["http_p50"],
        "http_p99": load["http_p99"],
        "answered": answered_count,
        "all_answered": complete,
        "answers_beyond_one_per_message": sum(max(0, c - per_chat) for c in log.answers.values()),
        "other_sends": log.other,
        "answered_per_s": answered_count / span,
        "e2e_seconds": span,
        "hub_cpu_ms_per_answer": cpu * 1000 / answered_count if answered_count else None,
        "first_send_after_s": None if first is None else first - load["first_post"],
        "stall_around_first_send": None
        if first is None
        else probe.worst(load["first_post"], first + 1.0),
        "probe_worst": probe.worst(),
        "probe_p99": probe.p99(),
        "probes": len(probe.samples),
        **phase_load(watch, load["loader_process_cpu"], started_load),
    }


async def notices(
    hub: HubStack, fake: FakeTelegramAPI, token: str, users: list[int], args: argparse.Namespace
) -> dict[str, Any]:
    """Status changes with notify: true; until the provider has every notice."""
    log = ChatLog(fake, set(users))
    per_proc = [cpu_seconds(p) for p in hub.pids]
    started_load, watch = loadavg(), CpuWatch(*hub.pids, servers=hub.server_pids)
    spec = OrdersSpec(
        hub.base, token, users, args.notices, args.connections, NOTICE_STATUSES, notify=True
    )
    puts = await run_puts(spec)
    complete = await wait_for(log, lambda lg: lg.sent >= puts["accepted"], args.stall_limit)
    cpu = sum(cpu_seconds(p) - b for p, b in zip(hub.pids, per_proc, strict=True))
    unique = len(log.texts)
    span = max(1e-9, log.last_at - puts["first_post"])
    return {
        **{k: puts[k] for k in ("accepted", "errors", "statuses", "accepted_per_s")},
        "api_p99": puts["api_p99"],
        "received": unique,
        "all_received": complete and unique >= puts["accepted"],
        "duplicates": log.repeated_texts(),
        "notices_per_s": unique / span,
        "e2e_seconds": span,
        "hub_cpu_ms_per_notice": cpu * 1000 / unique if unique else None,
        **phase_load(watch, puts["poster_process_cpu"], started_load),
    }


async def measure_bots(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    tmp = tmp / f"bots-{backend}"
    tmp.mkdir()
    out: dict[str, Any] = {"backend": backend, "description": BACKENDS[backend]}
    fake = FakeTelegramAPI(BOT_TOKEN)
    await fake.start()
    env = {"HUB_TELEGRAM_API_URL": fake.base_url}
    try:
        async with running_hub(backend, tmp, env, bots=True) as (hub, _):
            out["processes"] = len(hub.pids)
            sampler = RssSampler(hub.pids)
            sampler.start()
            token = await outbound.api_token(hub, tmp)
            users = [CUSTOMER_BASE + i for i in range(args.customers)]
            print(f"{backend}: seeding {len(users):,} orders ...", file=sys.stderr, flush=True)
            seed = await run_puts(
                OrdersSpec(hub.base, token, users, len(users), args.connections, ["created"], False)
            )
            if seed["accepted"] != len(users):
                raise RuntimeError(f"seeding orders: {seed['statuses']}")
            await wait_quiet(hub.pids, limit=args.idle_limit)
            out["rss_before_first_send_mb"] = total_mb(hub.pids)
            print(f"{backend}: {args.messages:,} order questions ...", file=sys.stderr, flush=True)
            with py_spy_records(hub.pids, args.profile, f"{backend}-bots") as files:
                out["bots"] = await bot_load(hub, fake, users, args)
            out["bots"]["profiles"] = [str(f) for f in files]
            await sampler.stop()
            out["peak_rss_sampled_mb"] = sampler.peak
            out["peak_rss_mb"] = max(sampler.peak, total_mb(hub.pids, hwm_mb))
            await wait_quiet(hub.pids, limit=args.idle_limit)
            print(f"{backend}: {args.notices:,} notices ...", file=sys.stderr, flush=True)
            with py_spy_records(hub.pids, args.profile, f"{backend}-notices") as files:
                out["notices"] = await notices(hub, fake, token, users, args)
            out["notices"]["profiles"] = [str(f) for f in files]
            if any(
                status.startswith("5")
                for phase in ("bots", "notices")
                for status in out[phase]["statuses"]
            ):  # kept: the hub's folder goes at exit, and a 500 is a finding
                out["log_tail"] = hub.log_tails(80)
    finally:
        await fake.stop()
    return out


async def measure_replies(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """bench/outbound.py's plain batch on the embedded hub: CPU per reply, sends/s."""
    spec = argparse.Namespace(
        replies=args.replies,
        conversations=args.conversations,
        connections=16,
        throttle=0.0,
        retry_after=1,
        warmup=100,
        stall_limit=args.stall_limit,
        idle_limit=args.idle_limit,
    )
    started_load = loadavg()
    result = await outbound.measure("embedded", spec, tmp)
    result["loadavg"] = started_load
    return result


async def measure_baseline(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """bench/ingest.py's bare aiohttp endpoint under the bot load's connections."""
    spec = argparse.Namespace(
        requests=max(args.messages, 2000),
        warmup=320,
        connections=args.connections,
        customers=500,
        client="aiohttp",
        inline_loader=False,
    )
    started_load = loadavg()
    result = await measure_bare(Run(spec, tmp))
    result["loadavg"] = started_load
    return result


# --------------------------------------------------------------------------- the goal table


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def _load(phase: dict[str, Any] | None) -> str:
    if not phase:
        return ""
    others = phase.get("others_cores")
    return f"{phase['loadavg']}" + (f"; others {others:.2f} cores" if others is not None else "")


Row = tuple[str, str, str, bool | None, str]  # goal, figure, target, ok, load


def goal_rows(results: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    replies = results.get("replies")
    if replies is not None:
        plain = replies["plain"]
        load = _load({**plain, "loadavg": replies["loadavg"]})
        cpu = plain["hub_cpu_ms_per_reply"]
        rows.append(
            ("hub CPU per outbound reply, embedded", "n/a" if cpu is None else f"{cpu:.2f} ms",
             f"<= {GOAL_CPU_MS} ms", cpu is not None and cpu <= GOAL_CPU_MS, load)
        )  # fmt: skip
        sends, whole = plain["sends_per_s"], plain["all_received"] and not plain["not_sent"]
        rows.append(
            ("replies sent per second, embedded", f"{sends:,.0f}/s" + ("" if whole else " (lost)"),
             f">= {GOAL_SENDS:,.0f}/s", whole and sends >= GOAL_SENDS, load)
        )  # fmt: skip
    done = {k: v for k, v in results["backends"].items() if "skipped" not in v}
    embedded = done.get("embedded")
    if embedded is not None:
        bots, notes = embedded["bots"], embedded["notices"]
        rate, whole = bots["answered_per_s"], bots["all_answered"]
        rows.append(
            ("bot-answered messages/s, embedded",
             f"{rate:,.0f}/s" + ("" if whole else f" ({bots['answered']:,} answered)"),
             f">= {GOAL_BOTS:,.0f}/s", whole and rate >= GOAL_BOTS, _load(bots))
        )  # fmt: skip
        p99 = bots["http_p99"]
        rows.append(
            ("webhook answer p99 under that load", _ms(p99), f"<= {GOAL_ACK_P99 * 1000:.0f} ms",
             p99 is not None and p99 <= GOAL_ACK_P99, _load(bots))
        )  # fmt: skip
        rate, dups = notes["notices_per_s"], notes["duplicates"]
        rows.append(
            (f"{notes['accepted']:,} PUT /orders notify → notices/s, embedded",
             f"{rate:,.0f}/s, {dups} twice" + ("" if notes["all_received"] else " (lost)"),
             f">= {GOAL_NOTICES:,.0f}/s, each once",
             notes["all_received"] and not dups and rate >= GOAL_NOTICES, _load(notes))
        )  # fmt: skip
        stall = bots["stall_around_first_send"]
        rows.append(
            ("first Telegram send: event-loop stall (/healthz worst)", _ms(stall),
             f"<= {GOAL_STALL * 1000:.0f} ms", stall is not None and stall <= GOAL_STALL,
             _load(bots))
        )  # fmt: skip
        before, peak = embedded["rss_before_first_send_mb"], embedded["peak_rss_mb"]
        rows.append(
            ("first Telegram send: RSS jump / peak, bots on",
             f"+{peak - before:,.0f} MB / {peak:,.0f} MB", f"peak <= {GOAL_PEAK_RSS:.0f} MB",
             peak <= GOAL_PEAK_RSS, _load(bots))
        )  # fmt: skip
    bare, web = results.get("bare"), done.get("pg_redis_1w")
    if bare is not None and web is not None:
        ratio = web["bots"]["accepted_per_s"] / max(1e-9, bare["accepted_per_s"])
        rows.append(
            ("`hub web` req/s ÷ bare aiohttp, 1 worker, bots on",
             f"{ratio:.2f} ({web['bots']['accepted_per_s']:,.0f} / {bare['accepted_per_s']:,.0f})",
             f">= {GOAL_RATIO}", ratio >= GOAL_RATIO,
             f"{_load(bare)} | {_load(web['bots'])}")
        )  # fmt: skip
    two = done.get("pg_redis_2w")
    if web is not None and two is not None:
        one_rate, two_rate = web["bots"]["answered_per_s"], two["bots"]["answered_per_s"]
        scale = two_rate / max(1e-9, one_rate)
        twice = sum(
            r["bots"]["answers_beyond_one_per_message"] + r["notices"]["duplicates"]
            for r in (web, two)
        )
        whole = all(r["bots"]["all_answered"] and r["notices"]["all_received"] for r in (web, two))
        rows.append(
            ("2 workers on PG + Redis: bot answers/s vs 1, sent twice",
             f"{two_rate:,.0f} vs {one_rate:,.0f}/s (x{scale:.2f}), {twice} twice",
             f"x >= {GOAL_SCALE}, none twice", whole and not twice and scale >= GOAL_SCALE,
             _load(two["bots"]))
        )  # fmt: skip
    return rows


def detail_rows(results: dict[str, Any]) -> list[list[str]]:
    """Every topology's bot and notice phases side by side."""
    done = {k: v for k, v in results["backends"].items() if "skipped" not in v}
    spec: list[tuple[str, Any]] = [
        ("hub processes", lambda r: str(r["processes"])),
        ("bot load: webhook accepted req/s", lambda r: f"{r['bots']['accepted_per_s']:,.0f}"),
        ("bot load: webhook p50 / p99",
         lambda r: f"{_ms(r['bots']['http_p50'])} / {_ms(r['bots']['http_p99'])}"),
        ("bot-answered msgs/s", lambda r: f"{r['bots']['answered_per_s']:,.0f}"),
        ("answered / asked", lambda r: f"{r['bots']['answered']:,.0f} / {r['bots']['accepted']:,}"),
        ("hub CPU ms per bot answer", lambda r: _cpu(r["bots"]["hub_cpu_ms_per_answer"])),
        ("other sends to these chats", lambda r: str(r["bots"]["other_sends"])),
        ("first send after the first post", lambda r: _ms(r["bots"]["first_send_after_s"])),
        ("/healthz worst around first send", lambda r: _ms(r["bots"]["stall_around_first_send"])),
        ("/healthz worst / p99 over the phase",
         lambda r: f"{_ms(r['bots']['probe_worst'])} / {_ms(r['bots']['probe_p99'])}"),
        ("RSS before first send / peak",
         lambda r: f"{r['rss_before_first_send_mb']:,.0f} / {r['peak_rss_mb']:,.0f} MB"),
        ("notices: PUT accepted/s", lambda r: f"{r['notices']['accepted_per_s']:,.0f}"),
        ("notices reaching the provider/s", lambda r: f"{r['notices']['notices_per_s']:,.0f}"),
        ("notices received / PUT accepted / twice",
         lambda r: f"{r['notices']['received']:,} / {r['notices']['accepted']:,} / "
         f"{r['notices']['duplicates']}"),
        ("answers other than 200: bots / notices",
         lambda r: f"{_not_ok(r['bots'])} / {_not_ok(r['notices'])}"),
        ("hub CPU ms per notice", lambda r: _cpu(r["notices"]["hub_cpu_ms_per_notice"])),
        ("other cores busy: bots / notices",
         lambda r: f"{r['bots']['others_cores']:.2f} / {r['notices']['others_cores']:.2f}"),
    ]  # fmt: skip
    rows = [["figure", *done]]
    rows += [[label, *(cell(r) for r in done.values())] for label, cell in spec]
    return rows


def _not_ok(phase: dict[str, Any]) -> str:
    return ", ".join(f"{n} x {k}" for k, n in phase["statuses"].items() if k != "200") or "none"


def _cpu(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_profiles(results: dict[str, Any]) -> None:
    """With --profile: the functions that hold most samples of each hub process."""
    for name, result in results["backends"].items():
        for phase in ("bots", "notices"):
            for path in map(Path, result.get(phase, {}).get("profiles", [])):
                if not path.is_file():
                    continue
                print(f"\n{name} {phase}: py-spy {path} (share of samples, inclusive)")
                for share, frame in top_frames(path, PROFILED):
                    print(f"  {share:6.1%}  {frame}")


def print_report(results: dict[str, Any]) -> None:
    cfg = results["config"]
    print()
    print(machine_line(results["machine"]))
    print(
        f"load: {cfg['replies']:,} operator replies over {cfg['conversations']:,} conversations "
        f"(bots off); bots on: {cfg['customers']:,} customers with an order each, "
        f"{cfg['messages']:,} order questions over {cfg['connections']} connections, then "
        f"{cfg['notices']:,} PUT /orders notify:true; fake Bot API in the orchestrator"
    )
    for name, result in results["backends"].items():
        if "skipped" in result:
            print(f"{name}: skipped, {result['skipped']}")
        if "log_tail" in result:
            print(f"{name}: the hub answered 5xx; the end of its log:\n{result['log_tail']}")
    if len(detail_rows(results)[0]) > 1:
        print()
        print_table(detail_rows(results))
    print_profiles(results)
    print()
    print("== issue 14: goals ==  (load: load average at the phase's start; others: cores")
    print("   busy with processes that are neither the hub, its servers, the posters nor this)")
    rows = [(g, f, t, verdict(ok), load) for g, f, t, ok, load in goal_rows(results)]
    print_table([("goal", "figure", "target", "result", "machine load"), *rows])


# --------------------------------------------------------------------------- main

QUICK = {"replies": 300, "conversations": 100, "customers": 100, "messages": 400, "notices": 300}


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": machine(),
        "config": {k: vars(args)[k] for k in (*QUICK, "connections", "backends", "quick")},
        "backends": {},
    }
    if not args.skip_replies:
        print("embedded: operator replies (bots off) ...", file=sys.stderr, flush=True)
        results["replies"] = await measure_replies(args, tmp)
    if "pg_redis_1w" in args.backends:
        print("bare aiohttp baseline ...", file=sys.stderr, flush=True)
        results["bare"] = await measure_baseline(args, tmp)
    results["backends"] = await each_backend(args.backends, lambda b: measure_bots(b, args, tmp))
    return results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/replies.py",
        description="Issue 14's goals in one run: outbound replies, bot answers, order "
        "notices, the first Telegram send, `hub web` against bare aiohttp; PASS/MISS per goal "
        "with the machine's load.",
        epilog=backends_help() + " Only loopback addresses are used; every process started is "
        "stopped on exit.",
    )
    p.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    p.add_argument("--replies", type=int, default=2000, help="operator replies (%(default)s)")
    p.add_argument(
        "--conversations", type=int, default=2000, help="conversations they go to (%(default)s)"
    )
    p.add_argument(
        "--customers", type=int, default=2000, help="customers with an order (%(default)s)"
    )
    p.add_argument(
        "--messages", type=int, default=4000, help="order questions, bots on (%(default)s)"
    )
    p.add_argument(
        "--notices",
        type=int,
        default=10_000,
        help="PUT /orders notify:true; at most 5 per customer, one per status (%(default)s)",
    )
    p.add_argument("--connections", type=int, default=32, help="client connections (%(default)s)")
    p.add_argument(
        "--backends",
        type=backends_arg,
        default=DEFAULT_BACKENDS,
        metavar="LIST",
        help="topologies of the bots-on phases, from: " + ", ".join(BACKENDS) + " (default: "
        + ",".join(DEFAULT_BACKENDS) + "; pg_redis_1w adds the bare baseline)",
    )  # fmt: skip
    p.add_argument("--skip-replies", action="store_true", help="no operator-reply phase")
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy every hub process during the bot and notice phases (collapsed stacks "
        "in DIR, one file a process; needs py-spy in the venv)",
    )
    add_provider_wait_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.quick:
        defaults = parser().parse_args([])
        for key, small in QUICK.items():
            if getattr(args, key) == getattr(defaults, key):
                setattr(args, key, small)
    if min(args.replies, args.conversations, args.customers, args.messages, args.notices) < 1:
        parser().error("every count must be positive")
    if args.notices > len(NOTICE_STATUSES) * args.customers:
        parser().error(f"--notices: at most {len(NOTICE_STATUSES)} per customer")
    return run_and_report(bench, args, print_report, "hub-bench-replies-")


if __name__ == "__main__":
    sys.exit(main())
