"""Outbound benchmark: operator replies through the REST API to a fake Telegram Bot API.

Per backend (the topologies of bench/ingest.py), on loopback only:

1. the fake Bot API of the tests (``tests/fakes/telegram_api.py``) listens in this process and
   the hub starts with ``HUB_TELEGRAM_API_URL`` pointing at it (bots off);
2. ``--conversations`` Telegram customers write in through ``/webhooks/telegram`` (one
   conversation each), an admin and an API token are made with ``hub operator create`` and
   ``hub token create``;
3. warm-up replies (not measured: connections and caches warm up), then
   ``--replies`` operator replies are posted to ``POST /api/v1/conversations/{id}/messages``
   as fast as the API takes them, over ``--connections`` connections from a separate
   process, and the script waits until the fake provider has received every one;
4. figures: replies accepted by the API per second, sends reaching the provider per second
   (first POST to last receipt), POST-to-provider-receipt p50/p99, hub CPU per reply, and the
   final status of every reply read back through the API (each must end ``sent``);
5. with ``--throttle F`` (default 0.1): the same again while the provider answers a fraction F
   of sendMessage calls with 429 and ``retry_after`` (``--retry-after``), to show throughput
   and latency under throttling and that nothing is lost.

    .venv/bin/python bench/outbound.py
    .venv/bin/python bench/outbound.py --backends embedded,pg_redis_2w --replies 5000 --json o.json
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

# Run as a file, this script sees bench/ first on sys.path; bench.lib, hub and tests (the
# fake Bot API, PostgreSQL and Redis on loopback) live at the repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lib.load import WEBHOOK_PATH, LoadSpec, run_load
from bench.lib.metrics import (
    CpuWatch,
    cpu_seconds,
    hwm_mb,
    percentile,
    servers_cpu_seconds,
    total_mb,
    wait_quiet,
)
from bench.lib.posting import answer_status, post_each, shared
from bench.lib.processes import hub_cli, in_own_process
from bench.lib.report import (
    add_provider_wait_arguments,
    cpu_ms_cell,
    machine,
    machine_line,
    print_table,
    run_and_report,
)
from bench.lib.scrape import counter_totals, wait_routed
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

EMAIL = "bench@outbound.test"
FIRST_SEQ = 1_000


class ThrottlingTelegramAPI(FakeTelegramAPI):
    """The tests' fake Bot API, answering a random `fraction` of sendMessage calls with
    429 + retry_after (Telegram's flood control) through its own fault injection."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.fraction = 0.0
        self.retry_after = 1
        # Not seeded: the number of calls per batch is fixed, so a seeded sequence would hand
        # the same draws (a streak of 429s, say) to whichever reply is last in flight each run.
        self._rng = random.Random()

    def _take_fault(self, method: str) -> Any:
        if method == "sendMessage" and self.fraction and self._rng.random() < self.fraction:
            self.fail_next("sendMessage", 429, retry_after=self.retry_after)
        return super()._take_fault(method)


# --------------------------------------------------------------------------- the API poster


@dataclass
class PostSpec:
    base: str
    token: str
    conversation_ids: list[int]
    count: int
    connections: int
    tag: str  # reply i has the text f"{tag} {i}": how the provider's receipt is matched


async def post_replies(spec: PostSpec) -> dict[str, Any]:
    """POST `count` replies round-robin over the conversations, as fast as answered."""
    headers = {"Authorization": f"Bearer {spec.token}"}
    connector = aiohttp.TCPConnector(limit=spec.connections, limit_per_host=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(60), headers=headers
    ) as session:

        def post(index: int) -> Awaitable[str]:
            conversation = spec.conversation_ids[index % len(spec.conversation_ids)]
            url = f"{spec.base}/api/v1/conversations/{conversation}/messages"
            return answer_status(session.post(url, json={"text": f"{spec.tag} {index}"}))

        tally = await post_each(spec.count, spec.connections, shared(post))
    figures = tally.figures("201")
    return {
        "replies": spec.count,
        **{k: figures[k] for k in ("accepted", "errors", "statuses")},
        "posted_at": tally.sent_at,  # time.monotonic(): system-wide on Linux, comparable here
        **{k: figures[k] for k in ("first_post", "last_answer", "elapsed", "accepted_per_s")},
        "api_p50": figures["p50"],
        "api_p99": figures["p99"],
        "poster_cpu": figures["cpu"],
    }


async def run_poster(spec: PostSpec) -> dict[str, Any]:
    """The poster in its own process (spawn): the fake provider keeps this event loop."""
    return await in_own_process(post_replies, spec, "poster_process_cpu", "poster")


# --------------------------------------------------------------------------- the hub side


async def outbound_counts(session: aiohttp.ClientSession, bases: list[str]) -> dict[str, float]:
    """hub_outbound_sent_total / hub_outbound_failed_total summed over every process."""
    names = {"sent": "hub_outbound_sent_total", "failed": "hub_outbound_failed_total"}
    return await counter_totals(session, bases, names)


async def api_get(session: aiohttp.ClientSession, url: str, token: str) -> Any:
    async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        resp.raise_for_status()
        return await resp.json()


async def api_token(hub: HubStack, tmp: Path) -> str:
    """An admin and an API token for it, made with the hub's CLI as an operator would."""
    await asyncio.to_thread(
        hub_cli, hub.env, tmp, "operator", "create", "--email", EMAIL, "--name", "Bench",
        "--role", "admin",
    )  # fmt: skip
    stdout = await asyncio.to_thread(hub_cli, hub.env, tmp, "token", "create", "--email", EMAIL)
    return stdout.strip().splitlines()[-1]


async def conversation_ids(session: aiohttp.ClientSession, base: str, token: str) -> list[int]:
    ids: list[int] = []
    cursor: str | None = ""
    while cursor is not None:
        url = f"{base}/api/v1/conversations?limit=200" + (f"&cursor={cursor}" if cursor else "")
        page = await api_get(session, url, token)
        ids += [int(c["id"]) for c in page["items"]]
        cursor = page["next_cursor"]
    return sorted(ids)


async def reply_statuses(
    session: aiohttp.ClientSession, base: str, token: str, ids: list[int], tag: str
) -> Counter[str]:
    """Final status of every reply whose text starts with `tag`, read back through the API."""
    statuses: Counter[str] = Counter()
    pending = list(ids)

    async def reader() -> None:
        while pending:
            conversation = pending.pop()
            cursor: str | None = ""
            while cursor is not None:
                url = f"{base}/api/v1/conversations/{conversation}/messages?limit=200"
                page = await api_get(session, url + (f"&cursor={cursor}" if cursor else ""), token)
                for message in page["items"]:
                    if (message.get("text") or "").startswith(tag + " "):
                        statuses[message["status"]] += 1
                cursor = page["next_cursor"]

    await asyncio.gather(*(reader() for _ in range(8)))
    return statuses


class Receipts:
    """Reads the fake provider's call log: first successful sendMessage per reply index."""

    def __init__(self, fake: FakeTelegramAPI, tag: str) -> None:
        self.fake, self.prefix = fake, tag + " "
        self.offset = len(fake.calls)
        self.first_ok: dict[int, float] = {}
        self.throttled = 0  # 429 answers
        self.throttled_by_index: Counter[int] = Counter()
        self.other_failures = 0
        self.duplicates = 0  # a reply the provider accepted twice

    def scan(self) -> int:
        calls = self.fake.calls
        for call in calls[self.offset :]:
            text = call.fields.get("text")
            if call.method != "sendMessage" or not isinstance(text, str):
                continue
            if not text.startswith(self.prefix):
                continue
            if call.status == 429:
                self.throttled += 1
                self.throttled_by_index[int(text.rsplit(" ", 1)[1])] += 1
            elif call.status != 200:
                self.other_failures += 1
            else:
                index = int(text.rsplit(" ", 1)[1])
                if index in self.first_ok:
                    self.duplicates += 1
                else:
                    self.first_ok[index] = call.at
        self.offset = len(calls)
        return len(self.first_ok)


async def wait_received(
    receipts: Receipts,
    session: aiohttp.ClientSession,
    hub: HubStack,
    target: int,
    failed_before: float,
    stall_limit: float,
) -> tuple[bool, float]:
    """Until the provider has every reply (or the hub counted the rest failed), or nothing
    moves for stall_limit s. Returns (complete, failed during the phase)."""
    last, last_move = -1.0, time.monotonic()
    while True:
        received = receipts.scan()
        failed = (await outbound_counts(session, hub.metrics))["failed"] - failed_before
        if received + failed >= target:
            return True, failed
        now = time.monotonic()
        if received + failed != last:
            last, last_move = received + failed, now
        elif now - last_move > stall_limit:
            return False, failed
        await asyncio.sleep(0.05)


async def measure_batch(
    hub: HubStack,
    fake: ThrottlingTelegramAPI,
    session: aiohttp.ClientSession,
    token: str,
    ids: list[int],
    tag: str,
    args: argparse.Namespace,
    verify: bool = True,
) -> dict[str, Any]:
    """One batch of replies: post, wait for the provider, read every status back."""
    receipts = Receipts(fake, tag)
    failed_before = (await outbound_counts(session, hub.metrics))["failed"]
    spec = PostSpec(hub.base, token, ids, args.replies, args.connections, tag)
    watch = CpuWatch(*hub.pids, servers=hub.server_pids)
    per_proc = [cpu_seconds(p) for p in hub.pids]
    servers_before = servers_cpu_seconds(hub.server_pids)
    posted = await run_poster(spec)
    complete, failed = await wait_received(
        receipts, session, hub, posted["accepted"], failed_before, args.stall_limit
    )
    per_proc = [cpu_seconds(p) - before for p, before in zip(hub.pids, per_proc, strict=True)]
    cpu = sum(per_proc)
    servers_cpu = servers_cpu_seconds(hub.server_pids) - servers_before
    cores = watch.done(posted["poster_process_cpu"])
    posted_at = posted.pop("posted_at")
    waits = sorted(at - posted_at[i] for i, at in receipts.first_ok.items())
    slowest = sorted(
        (
            (at - posted_at[i], receipts.throttled_by_index[i])
            for i, at in receipts.first_ok.items()
        ),
        reverse=True,
    )[:5]
    last_receipt = max(receipts.first_ok.values(), default=posted["first_post"])
    span = max(1e-9, last_receipt - posted["first_post"])
    first_receipt = min(receipts.first_ok.values(), default=last_receipt)
    statuses = await reply_statuses(session, hub.base, token, ids, tag) if verify else Counter()
    received = len(receipts.first_ok)
    return {
        **posted,
        **cores,
        "throttle_fraction": fake.fraction,
        "received": received,
        "all_received": complete and received == posted["accepted"],
        "failed_metric": failed,
        "throttled_429": receipts.throttled,
        "other_provider_failures": receipts.other_failures,
        "duplicates": receipts.duplicates,
        "sends_per_s": received / span,
        "provider_window_per_s": received / max(1e-9, last_receipt - first_receipt),
        "e2e_seconds": span,
        "post_to_provider_p50": percentile(waits, 0.50),
        "post_to_provider_p99": percentile(waits, 0.99),
        "post_to_provider_max": waits[-1] if waits else None,
        "slowest": [{"seconds": w, "answered_429": n} for w, n in slowest],
        "hub_cpu_cores": cpu / span,
        "hub_cpu_ms_per_reply": cpu * 1000 / received if received else None,
        # [web or run, worker...]: where a reply's CPU goes when the halves are separate
        "process_cpu_ms_per_reply": [c * 1000 / received for c in per_proc] if received else [],
        "servers_cpu_cores": servers_cpu / span,
        "servers_cpu_ms_per_reply": servers_cpu * 1000 / received
        if received and hub.server_pids
        else None,
        "final_statuses": dict(statuses),
        "not_sent": sum(v for k, v in statuses.items() if k not in ("sent", "delivered")),
    }


async def measure(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    tmp = tmp / backend
    tmp.mkdir()
    out: dict[str, Any] = {"backend": backend, "description": BACKENDS[backend]}
    fake = ThrottlingTelegramAPI(BOT_TOKEN)
    fake.retry_after = args.retry_after
    await fake.start()
    env = {"HUB_TELEGRAM_API_URL": fake.base_url}
    try:
        async with running_hub(backend, tmp, env) as (hub, session):
            out["processes"] = len(hub.pids)
            out["healthy_s"] = hub.healthy_s
            n = args.conversations
            print(f"{backend}: seeding {n:,} conversations ...", file=sys.stderr, flush=True)
            seed = LoadSpec(hub.base + WEBHOOK_PATH, FIRST_SEQ, n, 16, n)
            seeded = await run_load(seed, inline=False)
            if seeded["accepted"] != n:
                raise RuntimeError(f"seeding: {seeded['statuses']}")
            _, _, complete = await wait_routed(session, hub.metrics, n)
            if not complete:
                raise RuntimeError("seeding: not every update was routed")
            token = await api_token(hub, tmp)
            ids = await conversation_ids(session, hub.base, token)
            if len(ids) != n:
                raise RuntimeError(f"expected {n} conversations, the API lists {len(ids)}")

            warm = argparse.Namespace(**{**vars(args), "replies": args.warmup})
            await measure_batch(hub, fake, session, token, ids, "warm-up", warm, verify=False)
            await wait_quiet(hub.pids, limit=args.idle_limit)
            out["idle_rss_mb"] = total_mb(hub.pids)

            print(f"{backend}: {args.replies:,} replies ...", file=sys.stderr, flush=True)
            out["plain"] = await measure_batch(hub, fake, session, token, ids, "reply", args)
            if args.throttle > 0:
                print(
                    f"{backend}: {args.replies:,} replies, {args.throttle:.0%} answered 429 ...",
                    file=sys.stderr,
                    flush=True,
                )
                fake.fraction = args.throttle
                await wait_quiet(hub.pids, limit=args.idle_limit)
                out["throttled"] = await measure_batch(
                    hub, fake, session, token, ids, "throttled", args
                )
                fake.fraction = 0.0
            out["peak_rss_mb"] = total_mb(hub.pids, hwm_mb)
    finally:
        await fake.stop()
    return out


# --------------------------------------------------------------------------- report


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def _counts(statuses: dict[str, int]) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in statuses.items()) or "none"


def _cpu_cell(batch: dict[str, Any]) -> str:
    return cpu_ms_cell(batch["hub_cpu_ms_per_reply"], batch["process_cpu_ms_per_reply"])


def _others_cell(batch: dict[str, Any]) -> str:
    """Cores busy with neither the hub, PostgreSQL/Redis, the poster nor this process."""
    return f"{batch['others_cores']:.2f}"


def _servers_cell(batch: dict[str, Any]) -> str:
    value = batch["servers_cpu_ms_per_reply"]
    return "" if value is None else f"{value:.2f}"


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    done = {k: v for k, v in results["backends"].items() if "skipped" not in v}
    batches = [("plain", "")] + (
        [("throttled", f", {results['config']['throttle']:.0%} 429")]
        if results["config"]["throttle"] > 0
        else []
    )
    rows = [["figure", *done]]
    rows.append(["hub processes", *(str(r["processes"]) for r in done.values())])
    for key, label in batches:
        spec: list[tuple[str, Any]] = [
            ("API accepted replies/s", lambda b: f"{b['accepted_per_s']:,.0f}"),
            ("sends/s reaching the provider", lambda b: f"{b['sends_per_s']:,.0f}"),
            ("POST to provider p50 / p99",
             lambda b: f"{_ms(b['post_to_provider_p50'])} / {_ms(b['post_to_provider_p99'])}"),
            ("API answer p50 / p99", lambda b: f"{_ms(b['api_p50'])} / {_ms(b['api_p99'])}"),
            ("hub CPU ms per reply (web + workers)", _cpu_cell),
            ("PostgreSQL + Redis CPU ms per reply", _servers_cell),
            ("other processes on the machine, cores", _others_cell),
            ("final status", lambda b: _counts(b["final_statuses"])),
            ("API errors / failed / 429 answered",
             lambda b: f"{b['errors']} / {b['failed_metric']:.0f} / {b['throttled_429']}"),
        ]  # fmt: skip
        rows += [[name + label, *(cell(r[key]) for r in done.values())] for name, cell in spec]
    rows.append(["idle RSS (sum)", *(f"{r['idle_rss_mb']:,.0f} MB" for r in done.values())])
    rows.append(
        ["peak RSS (sum of VmHWM)", *(f"{r['peak_rss_mb']:,.0f} MB" for r in done.values())]
    )
    return rows


def print_report(results: dict[str, Any]) -> None:
    m, cfg = results["machine"], results["config"]
    print()
    print(machine_line(m))
    print(
        f"load: {cfg['replies']:,} replies per batch over {cfg['conversations']:,} Telegram "
        f"conversations, {cfg['connections']} connections, poster in its own process; fake Bot "
        f"API (tests/fakes/telegram_api.py) in the orchestrator; throttled batch: "
        f"{cfg['throttle']:.0%} of sendMessage answered 429 retry_after={cfg['retry_after']}"
    )
    for name, result in results["backends"].items():
        if "skipped" in result:
            print(f"{name}: skipped, {result['skipped']}")
    rows = summary_rows(results)
    if len(rows[0]) < 2:
        return
    print()
    print_table(rows)
    for name, result in results["backends"].items():
        for key in ("plain", "throttled"):
            batch = result.get(key)
            if batch and (not batch["all_received"] or batch["not_sent"] or batch["duplicates"]):
                print(
                    f"  {name} {key}: received {batch['received']:,} of {batch['accepted']:,}, "
                    f"{batch['not_sent']} not sent, {batch['duplicates']} duplicates"
                )


# --------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": machine(),
        "config": {
            k: vars(args)[k]
            for k in ("replies", "conversations", "connections", "throttle", "retry_after")
        }
        | {"warmup": args.warmup, "backends": args.backends},
        "backends": {},
    }
    results["backends"] = await each_backend(args.backends, lambda b: measure(b, args, tmp))
    return results


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/outbound.py",
        description="Outbound throughput: operator replies posted through the REST API, sent "
        "by the hub to a fake Telegram Bot API on loopback; API replies/s, provider sends/s, "
        "POST-to-provider latency, and every reply's final status.",
        epilog=backends_help()
        + " Only loopback addresses are used; every process started is stopped on exit.",
    )
    p.add_argument("--replies", type=int, default=2000, help="replies per batch (%(default)s)")
    p.add_argument(
        "--conversations",
        type=int,
        default=2000,
        help="Telegram conversations seeded through the webhook; replies go round-robin "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--backends",
        type=backends_arg,
        default=["embedded"],
        metavar="LIST",
        help="comma-separated, from: " + ", ".join(BACKENDS) + " (default: embedded; "
        "ingest's default set: " + ",".join(DEFAULT_BACKENDS) + ")",
    )
    p.add_argument("--connections", type=int, default=16, help="API connections (%(default)s)")
    p.add_argument(
        "--throttle",
        type=float,
        default=0.1,
        metavar="F",
        help="a second batch with this fraction of sendMessage answered 429; 0: no such batch "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--retry-after", type=int, default=1, help="retry_after of those 429s (%(default)s s)"
    )
    p.add_argument("--warmup", type=int, default=100, help="unmeasured replies first")
    add_provider_wait_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if min(args.replies, args.conversations, args.connections, args.warmup) < 1:
        parser().error("--replies, --conversations, --connections, --warmup must be positive")
    if not 0 <= args.throttle < 1:
        parser().error("--throttle is a fraction in [0, 1)")
    return run_and_report(bench, args, print_report, "hub-bench-outbound-")


if __name__ == "__main__":
    sys.exit(main())
