"""Hostile-input benchmark: does the hub stay responsive while strangers send the worst?

Starts the hub as bench/ingest.py does (``hub run`` on the embedded default; with
``--pg``, also on PostgreSQL + Redis), with the email channel's SMTP listener and the bots
on, then runs phases one after the other. In each phase two probes run for the whole
phase: ``GET /healthz`` and a valid Telegram webhook, each every PROBE_EVERY seconds;
their latencies give p50/p99/max per phase and target. The phases (loopback only, every
loop bounded):

- ``idle``: nothing else, the baseline;
- ``quadratic mail``: mails whose one quoted-printable line "On a a a ..." made
  mail-parser-reply run for seconds to minutes, over SMTP;
- ``9 MB mail``: one plain mail just under the listener's 10 MiB limit;
- ``long web chat``: 10 visitors sending two 10,000-character messages each;
- ``deep JSON``: Telegram webhooks nested 10,000 deep and with 5,000-digit update ids.

    .venv/bin/python bench/hostile.py
    .venv/bin/python bench/hostile.py --pg --json out.json

This is a measurement, not a test: it prints figures and a verdict against SPEC §10's
"under 1 s", and exits 0 either way unless the hub failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import quopri
import random
import string
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib

# Run as a file, this script sees bench/ first on sys.path; bench.lib and hub live at the
# repository's root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lib.load import SECRET, SECRET_HEADER, WEBHOOK_PATH, update_body
from bench.lib.metrics import percentile
from bench.lib.processes import HOST, free_port
from bench.lib.report import print_table
from bench.lib.stack import HubStack, backend_missing, start_hub_stack

MAILBOX = "support@bench.test"
PROBE_EVERY = 0.05  # seconds between two probes of one target
GOAL_P99 = 1.0  # seconds: SPEC §10
IDLE_SECONDS = 3.0
PROBE_BASE = 8_000_000  # Telegram user ids of the probe's updates
TEXT_CHARS = 10_000


# --------------------------------------------------------------------------- the inputs


def quadratic_mail(n: int, words: int) -> bytes:
    line = "On " + "a " * words
    return (
        f"From: Slow {n} <slow{n}@customer.test>\r\nTo: {MAILBOX}\r\nSubject: slow {n}\r\n"
        f"Message-ID: <slow-{n}-{time.time_ns()}@customer.test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode() + quopri.encodestring(line.encode())


def big_mail(megabytes: float) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Big <big@customer.test>"
    mail["To"] = MAILBOX
    mail["Subject"] = "a big one"
    line = "hello world this is a line of a very long plain mail\n"
    mail.set_content(line * int(megabytes * 1024 * 1024 / len(line)))
    return mail.as_bytes()


def long_text(seed: int) -> str:
    rng = random.Random(seed)
    words = (
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
        for _ in range(TEXT_CHARS)
    )
    return " ".join(words)[:TEXT_CHARS]


def deep_bodies(count: int) -> list[bytes]:
    shapes = [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"update_id":' + b"7" * 5000 + b"}",
        b'{"update_id":1,"message":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001,
    ]
    return [shapes[n % len(shapes)] for n in range(count)]


# --------------------------------------------------------------------------- probes


class Probes:
    """`/healthz` and a valid webhook, each every PROBE_EVERY s, until stopped."""

    def __init__(self, session: aiohttp.ClientSession, base: str, first_seq: int) -> None:
        self.session, self.base, self.seq = session, base, first_seq
        self.latencies: dict[str, list[float]] = {"healthz": [], "webhook": []}
        self.errors: dict[str, int] = {"healthz": 0, "webhook": 0}

    async def _probe(self, target: str, call: Callable[[], Awaitable[int]], stop: float) -> None:
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                status = await call()
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            except asyncio.CancelledError:
                # Still waiting when the phase ended: a frozen hub must not hide its worst
                # answers. Counted with the time waited so far (a lower bound), and as an
                # error once that is past the goal.
                waited = time.monotonic() - started
                self.latencies[target].append(waited)
                self.errors[target] += waited >= GOAL_P99
                raise
            took = time.monotonic() - started
            self.latencies[target].append(took)
            if status != 200:
                self.errors[target] += 1
            await asyncio.sleep(max(0.0, PROBE_EVERY - took))

    async def _healthz(self) -> int:
        async with self.session.get(self.base + "/healthz") as response:
            await response.read()
            return response.status

    async def _webhook(self) -> int:
        self.seq += 1
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        body = update_body(self.seq, 50)
        async with self.session.post(
            self.base + WEBHOOK_PATH, data=body, headers=headers
        ) as response:
            await response.read()
            return response.status

    async def during(self, attack: Awaitable[dict[str, Any]], max_seconds: float) -> dict[str, Any]:
        """Probe while `attack` runs (at most `max_seconds`); the attack's own figures too."""
        stop = time.monotonic() + max_seconds
        attack_task = asyncio.ensure_future(attack)
        probes = [
            asyncio.create_task(self._probe("healthz", self._healthz, stop)),
            asyncio.create_task(self._probe("webhook", self._webhook, stop)),
        ]
        try:
            outcome = await asyncio.wait_for(attack_task, max_seconds)
        except TimeoutError:
            outcome = {"timed_out": True}
        for task in probes:
            task.cancel()
        for task in probes:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return outcome

    def take(self) -> dict[str, Any]:
        out = {}
        for target, values in self.latencies.items():
            ordered = sorted(values)
            out[target] = {
                "n": len(ordered),
                "p50": percentile(ordered, 0.50),
                "p99": percentile(ordered, 0.99),
                "max": ordered[-1] if ordered else None,
                "errors": self.errors[target],
            }
            values.clear()
            self.errors[target] = 0
        return out


# --------------------------------------------------------------------------- attacks


async def pause(seconds: float) -> dict[str, Any]:
    await asyncio.sleep(seconds)
    return {}


async def idle() -> dict[str, Any]:
    return await pause(IDLE_SECONDS)


async def send_mails(port: int, mails: list[bytes]) -> dict[str, Any]:
    """Each mail over its own SMTP session, all at once; how long until each got 250."""

    async def one(raw: bytes, n: int) -> float:
        started = time.monotonic()
        await aiosmtplib.send(
            raw,
            sender=f"sender{n}@customer.test",
            recipients=[MAILBOX],
            hostname=HOST,
            port=port,
            timeout=120,
        )
        return time.monotonic() - started

    took = await asyncio.gather(*(one(raw, n) for n, raw in enumerate(mails)))
    return {"mails": len(mails), "bytes": sum(map(len, mails)), "slowest_250_s": max(took)}


async def web_chat_texts(base: str, visitors: int, each: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:

        async def visitor(n: int) -> int:
            async with session.ws_connect(base + "/webchat/ws") as ws:
                await ws.send_json({"type": "hello"})
                await ws.receive_json(timeout=30)
                for m in range(each):
                    frame = {"type": "message", "text": long_text(n * 100 + m), "client_id": f"{m}"}
                    await ws.send_json(frame)
                acks = 0
                deadline = time.monotonic() + 60
                while acks < each and time.monotonic() < deadline:
                    frame = await ws.receive_json(timeout=60)
                    acks += frame.get("type") == "ack"
                return acks

        acked = await asyncio.gather(*(visitor(n) for n in range(visitors)))
    return {"messages": visitors * each, "acked": sum(acked)}


async def deep_json(base: str, count: int) -> dict[str, Any]:
    statuses: dict[int, int] = {}
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as session:

        async def post(body: bytes) -> None:
            async with session.post(base + WEBHOOK_PATH, data=body, headers=headers) as r:
                await r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1

        await asyncio.gather(*(post(body) for body in deep_bodies(count)))
    return {"requests": count, "statuses": statuses}


# --------------------------------------------------------------------------- one backend


async def measure(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    smtp_port = free_port()
    extra_env = {
        "HUB_EMAIL_ADDRESS": MAILBOX,
        "HUB_SMTP_URL": "smtp://127.0.0.1:9",  # replies fail fast: inbound is measured
        "HUB_SMTP_LISTEN": f"{HOST}:{smtp_port}",
    }
    home = tmp / backend
    home.mkdir()
    phases: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            hub: HubStack = await start_hub_stack(
                backend, stack, home, session, extra_env, bots=True
            )
            probes = Probes(session, hub.base, PROBE_BASE)
            plan: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
                ("idle", idle),
                (
                    "quadratic mail",
                    lambda: send_mails(
                        smtp_port,
                        [quadratic_mail(n, args.quadratic_words) for n in range(args.mails)],
                    ),
                ),
                ("9 MB mail", lambda: send_mails(smtp_port, [big_mail(9.0)])),
                ("long web chat", lambda: web_chat_texts(hub.base, 10, 2)),
                ("deep JSON", lambda: deep_json(hub.base, args.deep)),
            ]
            for name, attack in plan:
                if args.phases and name not in args.phases and name != "idle":
                    continue
                print(f"[{backend}] {name} ...", file=sys.stderr, flush=True)
                outcome = await probes.during(attack(), args.phase_seconds)
                # The hub works through what it accepted after the sender got its answer:
                # keep probing a little so that work is measured too.
                await probes.during(pause(args.tail_seconds), args.tail_seconds + 1)
                phases[name] = {"attack": outcome, **probes.take()}
    return {"backend": backend, "phases": phases}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def print_report(results: list[dict[str, Any]]) -> None:
    head = ["backend", "phase", "target", "n", "p50 ms", "p99 ms", "max ms", "errors*", "p99<1s"]
    rows = [head]
    for result in results:
        for phase, figures in result["phases"].items():
            for target in ("healthz", "webhook"):
                f = figures[target]
                ok = f["p99"] is not None and f["p99"] < GOAL_P99
                rows.append(
                    [
                        result["backend"],
                        phase,
                        target,
                        str(f["n"]),
                        _ms(f["p50"]),
                        _ms(f["p99"]),
                        _ms(f["max"]),
                        str(f["errors"]),
                        "yes" if ok else "NO",
                    ]
                )
    print_table(rows, indent="")
    print("* errors: probes answered non-200, failed, or unanswered after 1 s at the phase's end")
    print()
    for result in results:
        for phase, figures in result["phases"].items():
            if figures["attack"]:
                print(f"{result['backend']} / {phase}: {json.dumps(figures['attack'])}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pg", action="store_true", help="also on PostgreSQL + Redis (`hub run`)")
    p.add_argument("--mails", type=int, default=3, help="quadratic mails sent at once")
    p.add_argument("--quadratic-words", type=int, default=16_000, help="'a ' words on the line")
    p.add_argument("--deep", type=int, default=300, help="deep or huge JSON webhooks")
    p.add_argument("--phase-seconds", type=float, default=120.0, help="cap on one phase")
    p.add_argument("--tail-seconds", type=float, default=10.0, help="probing after a phase")
    p.add_argument("--json", type=Path, help="write the figures here too")
    p.add_argument(
        "--phases",
        type=lambda v: [x.strip() for x in v.split(",")],
        help="only these phases (comma-separated names as printed), after idle",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    backends = ["embedded"] + (["postgres_redis"] if args.pg else [])
    results = []
    with tempfile.TemporaryDirectory(prefix="hub-hostile-") as tmp:
        for backend in backends:
            missing = backend_missing(backend)
            if missing:
                print(f"skipping {backend}: {missing}", file=sys.stderr)
                continue
            results.append(asyncio.run(measure(backend, args, Path(tmp))))
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
