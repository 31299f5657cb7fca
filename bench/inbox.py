"""Inbox benchmark: the conversation list and a thread at 100,000 conversations and
1,000,000 messages, on SQLite and on PostgreSQL, and live push to an open inbox.

Per backend, on loopback only:

1. ``hub migrate`` on a fresh database, then a seed written straight into the tables
   (executemany on SQLite, COPY on PostgreSQL; tqdm shows progress): customers with one
   identity each, 100,000 conversations over the last 90 days (most resolved, about 11 %
   open), 1,000,000 messages (4 to 16 a conversation), labels, resolutions;
2. ``hub run`` as a subprocess (bots off), an operator signed in to the inbox (cookie
   session) and an API token;
3. server time, measured as the loopback round trip of sequential requests (one at a time,
   after a warm-up), p50/p95/max over ``--requests`` each: the inbox list (default view, a
   channel filter, a search), a thread page, the reports page and the REST equivalents;
4. live push: ``--push`` Telegram updates posted one at a time to ``/webhooks/telegram``;
   each is timed from the POST to its ``message.created`` notice on an open
   ``/inbox/events`` stream (p50/p99);
5. with ``--explain``: the SQL the hub runs for the list, the filter, the search and a
   thread, captured in-process, with its query plan (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).

    .venv/bin/python bench/inbox.py                         # both backends, ~10 min
    .venv/bin/python bench/inbox.py --backends sqlite --explain
    .venv/bin/python bench/inbox.py --backends postgres --pg-url postgresql://u@host/db
    .venv/bin/python bench/inbox.py --conversations 10000 --messages 100000   # quick look

Everything this script starts is stopped on exit; a PostgreSQL given by ``--pg-url`` must
hold an empty database (the seed fills it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from tqdm import tqdm

# Run as a file, this script sees bench/ first on sys.path; bench.lib, hub and tests.servers
# (PostgreSQL on loopback) live at the repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lib.load import SECRET, SECRET_HEADER, WEBHOOK_PATH
from bench.lib.metrics import tree_cpu
from bench.lib.processes import HOST, free_port, hub_cli, hub_exe, spawn, stop_process
from bench.lib.report import machine
from bench.lib.stack import hub_env, wait_healthy
from hub.sandbox.telegram_updates import telegram_update

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"
EMAIL = "bench@inbox.test"
CHANNELS = ("telegram", "whatsapp", "sms", "email", "webchat")
CHANNEL_WEIGHTS = (40, 25, 10, 15, 10)
LABELS = ("billing", "vip", "returns", "delivery")
SEARCH_WORD = "refund"  # in about 1 % of messages
GOAL_MS = 100.0
GOAL_PUSH_P99_MS = 250.0
WORDS = (
    "order parcel delivery courier tracking address warehouse payment invoice size colour "
    "return exchange discount coupon store pickup today tomorrow yesterday week status please "
    "thanks hello where when why late cancel change phone email number card bank receipt "
    "shoes jacket dress shirt box damaged missing wrong arrived shipped waiting help question "
    "answer support manager call back again still nothing update soon sorry great fine okay"
).split()


# --------------------------------------------------------------------------- the seed


@dataclass(frozen=True)
class Volume:
    conversations: int
    messages: int
    operators: int = 10

    @property
    def customers(self) -> int:
        return max(1, self.conversations * 7 // 10)


def message_counts(volume: Volume) -> list[int]:
    """4..16 messages a conversation (mean 10), adjusted to the exact total asked for."""
    rng = random.Random(7)
    counts = [rng.randint(4, 16) for _ in range(volume.conversations)]
    diff = volume.messages - sum(counts)
    i = 0
    while diff:
        step = 1 if diff > 0 else -1
        if counts[i] + step >= 2:
            counts[i] += step
            diff -= step
        i = (i + 1) % len(counts)
    return counts


def identity_address(channel: str, customer_id: int) -> str:
    return {
        "telegram": str(8_000_000 + customer_id),
        "whatsapp": f"+1555{customer_id:07d}",
        "sms": f"+1556{customer_id:07d}",
        "email": f"c{customer_id}@bench.test",
        "webchat": f"v{customer_id}",
    }[channel]


@dataclass
class Rows:
    """Every table's rows as tuples, in the column order of COLUMNS, made in one pass."""

    operators: list[tuple[Any, ...]]
    customers: list[tuple[Any, ...]]
    identities: list[tuple[Any, ...]]
    conversations: list[tuple[Any, ...]]
    labels: list[tuple[Any, ...]]
    resolutions: list[tuple[Any, ...]]

    def before_messages(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """Each table and its rows, in an order foreign keys accept; messages come after."""
        return [
            ("operators", self.operators),
            ("customers", self.customers),
            ("identities", self.identities),
            ("conversations", self.conversations),
            ("conversation_labels", self.labels),
            ("conversation_resolutions", self.resolutions),
        ]


COLUMNS = {
    "operators": ("id", "email", "name", "role", "locale", "created_at"),
    "customers": (
        "id", "name", "locale", "last_inbound_channel", "created_at", "last_activity_at",
    ),
    "identities": (
        "id", "customer_id", "channel", "address", "display_name", "verified",
        "sees_whole_thread", "opted_out", "created_at",
    ),
    "conversations": (
        "id", "customer_id", "status", "channel", "assignee_id", "bot_active", "bot_unanswered",
        "last_message_text", "last_message_at", "snooze_until", "created_at",
    ),
    "conversation_labels": ("conversation_id", "label"),
    "conversation_resolutions": ("id", "conversation_id", "operator_id", "resolved_at"),
    "messages": (
        "id", "conversation_id", "customer_id", "direction", "sender_type", "operator_id",
        "channel", "text", "private", "status", "external_id", "dedupe_key", "address",
        "automated", "created_at",
    ),
}  # fmt: skip


def plan(volume: Volume, now: datetime) -> tuple[Rows, list[int]]:
    """Everything but the messages, which are streamed (see `messages`)."""
    rng = random.Random(42)
    start = now - timedelta(days=90)
    ops = [
        (i, f"agent{i}@bench.test", f"Agent {i:02d}", "agent", "en", start)
        for i in range(1, volume.operators + 1)
    ]
    customer_channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS, k=volume.customers)
    customers = [
        (i, f"Customer {i}", "en", customer_channel[i - 1], start, now)
        for i in range(1, volume.customers + 1)
    ]
    identities = [
        (i, i, ch, identity_address(ch, i), f"Customer {i}", True, False, False, start)
        for i, ch in ((i, customer_channel[i - 1]) for i in range(1, volume.customers + 1))
    ]
    counts = message_counts(volume)
    span = (now - start - timedelta(hours=2)) / volume.conversations
    conversations: list[tuple[Any, ...]] = []
    labels: list[tuple[int, str]] = []
    resolutions: list[tuple[int, int, int | None, datetime]] = []
    last_of_customer: dict[int, int] = {}
    for i in range(1, volume.conversations + 1):
        last_of_customer[(i - 1) % volume.customers + 1] = i
    for i in range(1, volume.conversations + 1):
        customer = (i - 1) % volume.customers + 1
        created = start + span * (i - 1)
        last = created + timedelta(minutes=3 * (counts[i - 1] - 1))
        # Only a customer's latest conversation may still be open (the one messages join).
        roll = rng.random()
        if last_of_customer[customer] != i or roll < 0.84:
            status = "resolved"
        elif roll < 0.95:
            status = "open"
        else:
            status = "pending"
        assignee = rng.randint(1, volume.operators) if rng.random() < 0.7 else None
        conversations.append(
            (
                i, customer, status, customer_channel[customer - 1], assignee,
                status == "resolved" or assignee is None, 0, f"last message of {i}", last, None,
                created,
            )
        )  # fmt: skip
        if rng.random() < 0.1:
            labels.append((i, rng.choice(LABELS)))
        if status == "resolved":
            resolutions.append((len(resolutions) + 1, i, assignee, last + timedelta(minutes=5)))
    return Rows(ops, customers, identities, conversations, labels, resolutions), counts


def messages(rows: Rows, counts: list[int]) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(99)
    message_id = 0
    for conversation, count in zip(rows.conversations, counts, strict=True):
        cid, customer, _, channel, assignee, *_rest = conversation
        created = conversation[-1]
        address = identity_address(channel, customer)
        for j in range(count):
            message_id += 1
            words = rng.choices(WORDS, k=rng.randint(5, 18))
            if rng.random() < 0.01:
                words.insert(rng.randrange(len(words)), SEARCH_WORD)
            when = created + timedelta(minutes=3 * j, seconds=rng.randint(0, 59))
            if j % 2 == 0:
                key = f"bench:{message_id}"
                yield (
                    message_id, cid, customer, "inbound", "customer", None, channel,
                    " ".join(words), False, "received", key, key, address, False, when,
                )  # fmt: skip
                continue
            human = assignee is not None and j > 1
            private = human and rng.random() < 0.02
            yield (
                message_id, cid, customer, "outbound", "operator" if human else "bot",
                assignee if human else None, channel, " ".join(words), private,
                "received" if private else "delivered", None, None,
                None if private else address, False, when,
            )  # fmt: skip


def chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _migration(name: str) -> Any:
    path = REPO / "migrations" / "versions" / name
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLAlchemy's SQLite format: naive UTC, microseconds
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def seed_sqlite(path: Path, volume: Volume, now: datetime) -> None:
    """executemany in one transaction; the FTS insert trigger is off during the load and the
    index is rebuilt in one pass after it (the same end state, much faster)."""
    rows, counts = plan(volume, now)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    fts = _migration("0002_inbox.py").SQLITE_FTS
    db.execute("DROP TRIGGER messages_fts_insert")
    for table, data in rows.before_messages():
        _sqlite_insert(db, table, data)
    with tqdm(total=volume.messages, desc="sqlite messages", unit="msg") as bar:
        for batch in chunks(messages(rows, counts), 20_000):
            _sqlite_insert(db, "messages", batch)
            bar.update(len(batch))
    db.commit()
    print("rebuilding the full-text index…", file=sys.stderr)
    db.execute(fts[1])  # the insert trigger, as migration 0002 made it
    db.execute(fts[-1])  # INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')
    db.commit()
    db.close()


def _sqlite_insert(db: sqlite3.Connection, table: str, data: list[tuple[Any, ...]]) -> None:
    columns = COLUMNS[table]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    db.executemany(sql, ([_sqlite_value(v) for v in row] for row in data))


async def seed_postgres(url: str, volume: Volume, now: datetime) -> None:
    """COPY per table; the GIN full-text index is dropped for the load and rebuilt after it."""
    import asyncpg

    rows, counts = plan(volume, now)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP INDEX IF EXISTS ix_messages_text_fts")
        for table, data in rows.before_messages():
            await conn.copy_records_to_table(table, records=data, columns=COLUMNS[table])
        with tqdm(total=volume.messages, desc="postgres messages", unit="msg") as bar:
            for batch in chunks(messages(rows, counts), 50_000):
                await conn.copy_records_to_table(
                    "messages", records=batch, columns=COLUMNS["messages"]
                )
                bar.update(len(batch))
        print("rebuilding the full-text index, analyzing…", file=sys.stderr)
        await conn.execute(_migration("0002_inbox.py").POSTGRES_FTS)
        for table in ("operators", "customers", "identities", "conversations", "messages"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('conversation_resolutions', 'id'), "
            "greatest(1, (SELECT count(*) FROM conversation_resolutions)))"
        )
        # What autovacuum does after a bulk load: statistics, the visibility map, and the
        # GIN pending lists flushed (COPY leaves the trigram indexes' new entries there, and
        # the planner then prefers sequential scans to them; ANALYZE alone does not flush).
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# --------------------------------------------------------------------------- the hub


def inbox_env(database_url: str, port: int) -> dict[str, str]:
    """A benchmarked hub's environment, with a secret key for the inbox's signed cookies."""
    return hub_env(port, database_url) | {"HUB_SECRET_KEY": "bench-secret-key-bench-secret-key"}


async def sign_in(http: aiohttp.ClientSession, base: str) -> None:
    async with http.get(base + "/inbox/login") as r:
        await r.read()
    token = next((m.value for m in http.cookie_jar if m.key == "hub_login_csrf"), "")
    form = {"email": EMAIL, "password": PASSWORD, "csrf": token, "next": "/inbox"}
    async with http.post(base + "/inbox/login", data=form, allow_redirects=False) as r:
        if r.status != 303:
            raise RuntimeError(f"inbox sign-in answered {r.status}")


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]

    return {"n": len(ordered), "p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": ordered[-1]}


async def timed(
    http: aiohttp.ClientSession,
    urls: list[str],
    headers: dict[str, str] | None = None,
    warm: bool = True,
    servers: list[int] | None = None,
) -> dict[str, float]:
    """Sequential GETs (after 3 untimed ones); milliseconds from send to the last byte, and
    the servers' CPU milliseconds per request."""
    for url in urls[:3] if warm else []:
        async with http.get(url, headers=headers) as r:
            await r.read()
    cpu_before = tree_cpu(servers or [])
    times = []
    for url in urls:
        started = time.perf_counter()
        async with http.get(url, headers=headers, allow_redirects=False) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"GET {url} answered {r.status}")
        times.append((time.perf_counter() - started) * 1000)
    cpu_ms = (tree_cpu(servers or []) - cpu_before) * 1000 / len(urls)
    return {**summary(times), "cpu_ms": cpu_ms}


async def measure_requests(
    http: aiohttp.ClientSession,
    base: str,
    token: str,
    volume: Volume,
    n: int,
    servers: list[int],
) -> dict[str, dict[str, float]]:
    rng = random.Random(5)
    ids = [rng.randint(1, volume.conversations) for _ in range(n)]
    api = {"Authorization": f"Bearer {token}"}
    cases: list[tuple[str, list[str], dict[str, str] | None]] = [
        ("inbox list, default (open)", [base + "/inbox"] * n, None),
        ("inbox list, channel=whatsapp", [base + "/inbox?channel=whatsapp"] * n, None),
        ("inbox list, assignee=me, all", [base + "/inbox?status=all&assignee=me"] * n, None),
        (f"inbox list, search '{SEARCH_WORD}'", [base + f"/inbox?q={SEARCH_WORD}"] * n, None),
        ("inbox thread page", [f"{base}/inbox/conversations/{i}" for i in ids], None),
        ("reports page, 30 days (cached)", [base + "/inbox/reports"] * n, None),
        ("API conversations", [base + "/api/v1/conversations"] * n, api),
        (
            "API conversations ?channel=whatsapp",
            [base + "/api/v1/conversations?channel=whatsapp"] * n,
            api,
        ),
        (
            f"API conversations ?q={SEARCH_WORD}",
            [base + f"/api/v1/conversations?q={SEARCH_WORD}"] * n,
            api,
        ),
        ("API conversation", [f"{base}/api/v1/conversations/{i}" for i in ids], api),
        ("API messages", [f"{base}/api/v1/conversations/{i}/messages" for i in ids], api),
    ]
    # Each period and channel once: every one is computed, none comes from the cache.
    cold = [
        f"{base}/inbox/reports?days={d}&channel={c}" for d in (7, 30, 90) for c in ("", *CHANNELS)
    ]
    results = {
        "reports page, uncached (each period × channel)": await timed(
            http, cold, warm=False, servers=servers
        )
    }
    for name, urls, headers in cases:
        results[name] = await timed(http, urls, headers, servers=servers)
        r = results[name]
        print(f"  {name:44} p50 {r['p50']:7.1f} ms, cpu {r['cpu_ms']:6.1f} ms", file=sys.stderr)
    return results


def push_update(seq: int, user_id: int, first_id: int) -> dict[str, Any]:
    """Update `seq` of the push phase, numbered from `first_id` (new to this run)."""
    return telegram_update(
        first_id + seq,
        user_id,
        f"bench push {seq}",
        first_name=f"Customer {user_id}",
        date=int(time.time()),
    )


async def measure_push(
    http: aiohttp.ClientSession, base: str, rows: Rows, count: int
) -> dict[str, float]:
    """One update at a time: POST → the `message.created` notice on an open SSE stream."""
    telegram = [int(i[3]) for i in rows.identities if i[2] == "telegram"]
    arrivals: asyncio.Queue[float] = asyncio.Queue()
    connected = asyncio.Event()

    async def listen() -> None:
        async with http.get(base + "/inbox/events", timeout=aiohttp.ClientTimeout()) as r:
            async for line in r.content:
                if line.startswith(b": connected"):
                    connected.set()
                if line.startswith(b"data: ") and b'"message.created"' in line:
                    arrivals.put_nowait(time.perf_counter())

    listener = asyncio.ensure_future(listen())
    try:
        await asyncio.wait_for(connected.wait(), 10)
        headers = {SECRET_HEADER: SECRET}
        latencies = []
        # Ids new to this run: on a reused database (--data-dir) the same ids as last time
        # would be dropped as duplicates, and no notice would come.
        first_id = time.time_ns() // 1000
        for seq in range(count + 5):
            update = push_update(seq, telegram[seq % len(telegram)], first_id)
            started = time.perf_counter()
            async with http.post(base + WEBHOOK_PATH, json=update, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"webhook answered {r.status}")
            arrived = await asyncio.wait_for(arrivals.get(), 10)
            if seq >= 5:  # the first few warm the path up
                latencies.append((arrived - started) * 1000)
        return summary(latencies)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


# --------------------------------------------------------------------------- query plans


async def explain(database_url: str, volume: Volume) -> list[dict[str, Any]]:
    """The SQL the hub runs for the list, a filter, a search and a thread, with its plan."""
    from sqlalchemy import event

    from hub.db import Database
    from hub.queries import conversations as queries
    from hub.settings import Settings

    db = Database(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    cases = {
        "list, default (open)": queries.ConversationFilter(status="open"),
        "list, channel=whatsapp": queries.ConversationFilter(channel="whatsapp"),
        f"list, search '{SEARCH_WORD}'": queries.ConversationFilter(q=SEARCH_WORD),
    }
    out = []
    sqlite = database_url.startswith("sqlite")
    async with db.session() as session:
        for name, where in cases.items():
            captured.clear()
            started = time.perf_counter()
            await queries.list_conversations(session, where, after=None, limit=51)
            # The list's own query is the last: a search on SQLite first counts its hits.
            out.append({"name": name, "ms": (time.perf_counter() - started) * 1000,
                        "sql": captured[-1][0], "params": captured[-1][1]})  # fmt: skip
        captured.clear()
        started = time.perf_counter()
        await queries.list_messages(session, volume.conversations // 2, after_id=None, limit=1000)
        out.append({"name": "thread messages", "ms": (time.perf_counter() - started) * 1000,
                    "sql": captured[0][0], "params": captured[0][1]})  # fmt: skip
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
        for case in out:
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS off) "
            result = await session.connection()
            rows = await result.exec_driver_sql(prefix + case["sql"], case["params"])
            case["plan"] = [" ".join(str(c) for c in row) for row in rows]
            case["params"] = repr(case["params"])
    await db.close()
    return out


# --------------------------------------------------------------------------- one backend


async def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    volume = Volume(args.conversations, args.messages)
    now = datetime.now(UTC)
    with contextlib.ExitStack() as stack:
        db_file = (args.data_dir or tmp) / "hub.db"
        postmaster = 0
        if backend == "sqlite":
            database_url = f"sqlite:///{db_file}"
        elif args.pg_url:
            database_url = args.pg_url
        else:
            from tests.servers import start_postgres

            server = start_postgres(tmp / "servers")
            stack.callback(server.stop)
            database_url = server.url
            postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        port = free_port()
        env = inbox_env(database_url, port)
        reuse = backend == "sqlite" and args.data_dir is not None and db_file.exists()
        started = time.monotonic()
        if reuse:
            # The seed's times are relative to when it ran: keep `now` for the pushes only.
            # Migrations added since it was seeded are applied to it (a no-op otherwise).
            print(f"reusing {db_file} as seeded before", file=sys.stderr)
            hub_cli(env, tmp, "migrate")
        else:
            hub_cli(env, tmp, "migrate")
            if backend == "sqlite":
                seed_sqlite(db_file, volume, now)
            else:
                await seed_postgres(database_url, volume, now)
            hub_cli(env, tmp, "operator", "create", "--email", EMAIL, "--name", "Bench",
                    "--role", "admin", "--password", PASSWORD)  # fmt: skip
        seeded_in = time.monotonic() - started
        token = hub_cli(env, tmp, "token", "create", "--email", EMAIL).strip().splitlines()[-1]
        plans = await explain(database_url, volume) if args.explain else []
        proc = spawn([*hub_exe(), "run"], tmp / f"hub-{backend}.log", cwd=tmp, env=env)
        stack.callback(stop_process, proc)
        base = f"http://{HOST}:{port}"
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            await wait_healthy(http, base, proc, time.monotonic())
            await sign_in(http, base)
            print(f"{backend}: measuring requests…", file=sys.stderr)
            servers = [proc.pid, *([postmaster] if postmaster else [])]
            requests = await measure_requests(http, base, token, volume, args.requests, servers)
            print(f"{backend}: measuring live push…", file=sys.stderr)
            rows, _ = plan(volume, now)
            push = await measure_push(http, base, rows, args.push)
    return {"seed_seconds": seeded_in, "requests": requests, "push": push, "plans": plans}


# --------------------------------------------------------------------------- report


def print_report(results: dict[str, Any], args: argparse.Namespace) -> None:
    backends = list(results["backends"])
    print(
        f"\nInbox benchmark: {args.conversations:,} conversations, {args.messages:,} messages; "
        f"{args.requests} sequential requests each (ms, loopback round trip; in brackets the "
        "servers' CPU ms per request)"
    )
    header = f"{'request':48}" + "".join(f"{b + ' p50/p95/max (cpu)':>34}" for b in backends)
    print(header)
    names = list(next(iter(results["backends"].values()))["requests"])
    for name in names:
        cells = []
        for b in backends:
            s = results["backends"][b]["requests"][name]
            mark = "" if s["p95"] <= GOAL_MS else " MISS"
            cells.append(
                f"{s['p50']:.1f} / {s['p95']:.1f} / {s['max']:.1f} ({s['cpu_ms']:.1f}){mark}".rjust(
                    34
                )
            )
        print(f"{name:48}" + "".join(cells))
    print("\nLive push, webhook POST → SSE notice (ms):")
    for b in backends:
        p = results["backends"][b]["push"]
        verdict = "PASS" if p["p99"] <= GOAL_PUSH_P99_MS else "MISS"
        print(f"  {b:10} n={p['n']} p50 {p['p50']:.1f}  p99 {p['p99']:.1f}  max {p['max']:.1f}  "
              f"(goal p99 ≤ {GOAL_PUSH_P99_MS:.0f}: {verdict})")  # fmt: skip
    for b in backends:
        r = results["backends"][b]
        print(f"  {b}: seeded in {r['seed_seconds']:.0f} s")
        for case in r["plans"]:
            print(f"\n[{b}] {case['name']}: {case['ms']:.1f} ms in-process\n{case['sql']}")
            print("  " + "\n  ".join(case["plan"]))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    p.add_argument("--conversations", type=int, default=100_000)
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=50, help="timed requests per case")
    p.add_argument("--push", type=int, default=300, help="messages timed webhook → SSE")
    p.add_argument("--pg-url", help="an empty PostgreSQL database instead of starting one")
    p.add_argument("--explain", action="store_true", help="print the SQL and its query plans")
    p.add_argument(
        "--data-dir",
        type=Path,
        help="keep the SQLite database here; an existing one is reused (migrated, not seeded)",
    )
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(backends) <= {"sqlite", "postgres"} or not backends:
        print("--backends takes sqlite, postgres or both", file=sys.stderr)
        return 2
    if args.messages < args.conversations * 2:
        print("--messages must be at least twice --conversations", file=sys.stderr)
        return 2
    results: dict[str, Any] = {"machine": machine(), "backends": {}}
    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as tmp:
        for backend in backends:
            folder = Path(tmp) / backend
            folder.mkdir()
            results["backends"][backend] = asyncio.run(run_backend(backend, args, folder))
    print_report(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
