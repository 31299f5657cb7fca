"""IMAP polling (`HUB_IMAP_URL`): unseen mail in the support mailbox in, durably queued.

Each unseen mail is fetched with `BODY.PEEK[]` (which leaves it unseen), handed to the same
ingest path as the SMTP listener (`parse_mail` → `accept_inbound`), and only then marked
`\\Seen`. A crash between the two leaves it unseen: it is fetched and queued again next
time, and the router stores it once (unique channel + Message-ID, or the hash of the mail
when it has no Message-ID). Mail the listener would refuse (not addressed to
`HUB_EMAIL_ADDRESS`, no usable sender, over its size limit) is not queued and stays unseen
for a person to see.

The server says when mail arrives where it can (IDLE, re-issued every 25 min, RFC 2177);
otherwise the mailbox is checked every `HUB_IMAP_POLL_SECONDS`. A lost connection is
retried with exponential backoff (1 s doubling to 60 s), reset once a login succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import time
from collections.abc import Awaitable
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from itertools import pairwise
from typing import Any, TypeVar

import aioimaplib

from hub.domain.addresses import normalise_email
from hub.errors import InvalidInput
from hub.imap_account import ImapAccount
from hub.mail_listener import MAX_MAIL_BYTES, ParseMail
from hub.queue.inbound import accept_inbound
from hub.queue.port import QueueBackend

log = logging.getLogger(__name__)
T = TypeVar("T")

COMMAND_SECONDS = 30.0
IDLE_SECONDS = 25 * 60.0
RETRY_FIRST, RETRY_MAX = 1.0, 60.0
# Headers that name who a mail was for; Delivered-To & co. cover Bcc and forwarding.
RECIPIENT_HEADERS = (
    "To",
    "Cc",
    "Delivered-To",
    "X-Original-To",
    "X-Delivered-To",
    "Envelope-To",
    "Resent-To",
    "Resent-Cc",
)
_FETCHED = re.compile(rb"FETCH \(.*UID (\d+).*\{(\d+)\}$")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
# Untagged news of the selected mailbox: new mail, or flags changed (a mail unseen again).
_CHANGE = re.compile(rb"^\* \d+ (EXISTS|FETCH \(.*FLAGS)")


class ImapFailure(Exception):
    """The server refused a command or went away; the poller reconnects."""


class LoginRefused(ImapFailure):
    """Wrong user or password: retried with backoff, logged as an error."""


def addressed_to(raw: bytes, mailbox: str) -> bool:
    headers = BytesHeaderParser().parsebytes(raw)
    values = [str(v) for name in RECIPIENT_HEADERS for v in headers.get_all(name, [])]
    return any(normalise_email(addr) == mailbox for _, addr in getaddresses(values) if addr)


def unseen_uids(lines: list[Any]) -> list[int]:
    """UIDs from a UID SEARCH answer; untagged lines such as `3 EXISTS` are not results."""
    uids: list[int] = []
    for line in lines[:-1]:
        words = bytes(line).removeprefix(b"SEARCH").split()
        if words and all(w.isdigit() for w in words):
            uids += [int(w) for w in words]
    return sorted(set(uids))


def fetched_mail(lines: list[Any], uid: int) -> bytes | None:
    """The literal of `UID n FETCH (UID n BODY[] {size})`, exactly as sent."""
    for line, following in pairwise(lines):
        match = _FETCHED.search(bytes(line)) if isinstance(line, bytes) else None
        if match and int(match.group(1)) == uid and isinstance(following, bytearray):
            return bytes(following)
    return None


class _Protocol(aioimaplib.IMAP4ClientProtocol):
    """Remembers that the server reported news outside IDLE. aioimaplib drops an `EXISTS`
    that arrives during another command (say, mail delivered while we SEARCH), and the
    server does not repeat it in the IDLE that follows: without this, such a mail would
    wait for the next one."""

    changed = False

    def _untagged_response(self, line: bytes) -> Any:
        if _CHANGE.match(line):
            self.changed = True
        return super()._untagged_response(line)


class _Client(aioimaplib.IMAP4):
    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Any = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        running = loop or asyncio.get_running_loop()
        self.protocol = _Protocol(running, conn_lost_cb)
        self._client_task = running.create_task(
            running.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )


class Connection:
    """One logged-in IMAP session; every call fails fast when the server goes away."""

    def __init__(self, account: ImapAccount) -> None:
        self.account = account
        self.lost = asyncio.Event()
        tls = ssl.create_default_context() if account.tls else None
        self.client = _Client(
            account.host,
            account.port,
            timeout=COMMAND_SECONDS,
            conn_lost_cb=lambda _exc: self.lost.set(),
            ssl_context=tls,
        )

    async def call(self, step: Awaitable[T], timeout: float = COMMAND_SECONDS) -> T:
        task = asyncio.ensure_future(step)
        gone = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({task, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if task.cancelled():
            raise ImapFailure(
                "the server closed the connection"
                if self.lost.is_set()
                else f"no answer within {timeout:.0f} s"
            )
        return task.result()

    async def ok(self, step: Awaitable[aioimaplib.Response], what: str) -> aioimaplib.Response:
        response = await self.call(step)
        if response.result != "OK":
            detail = bytes(response.lines[-1]).decode(errors="replace") if response.lines else ""
            raise ImapFailure(f"{what} answered {response.result} {detail}".strip())
        return response

    async def open(self) -> bool:
        """Connect, log in, select the mailbox; True when the server can IDLE."""
        account = self.account
        await self.call(self.client.wait_hello_from_server())
        try:
            await self.ok(self.client.login(account.user, account.password), "LOGIN")
        except ImapFailure as exc:
            raise LoginRefused(str(exc)) from None
        # Capabilities may grow after login (RFC 3501 §6.2.3): ask again.
        await self.call(self.client.protocol.capability())
        await self.ok(self.client.select(f'"{account.mailbox}"'), "SELECT")
        return self.client.has_capability("IDLE")

    def take_news(self) -> bool:
        """True once after the server reported a change outside IDLE."""
        protocol = self.client.protocol
        news, protocol.changed = protocol.changed, False
        return bool(news)

    async def close(self) -> None:
        if not self.lost.is_set():
            with contextlib.suppress(Exception):
                if self.client.has_pending_idle():
                    self.client.idle_done()  # a server answers nothing else during IDLE
                await self.call(self.client.logout(), timeout=2.0)
        transport = self.client.protocol.transport
        if transport is not None:
            transport.close()


class MailboxPoller:
    """Keeps one IMAP session to the support mailbox until `stopping` is set."""

    def __init__(
        self,
        account: ImapAccount,
        mailbox_address: str,
        parse: ParseMail,
        queue: QueueBackend,
        *,
        poll_seconds: float = 60.0,
    ) -> None:
        self.account = account
        self.mailbox_address = mailbox_address.lower()
        self.parse = parse
        self.queue = queue
        self.poll_seconds = poll_seconds
        self.skipped: set[int] = set()  # UIDs left unseen on purpose, this session

    async def run(self, stopping: asyncio.Event) -> None:
        delay = RETRY_FIRST
        while not stopping.is_set():
            connection = Connection(self.account)
            logged_in = False
            try:
                idle = await connection.open()
                logged_in = True
                log.info(
                    "IMAP mailbox open",
                    extra={"mailbox": self.account.describe(), "idle": idle},
                )
                await self._watch(connection, idle, stopping)
            except LoginRefused as exc:
                log.error("IMAP login refused for %s: %s", self.account.describe(), exc)
            except (ImapFailure, OSError, TimeoutError, aioimaplib.AioImapException) as exc:
                log.warning("IMAP %s: %s", self.account.describe(), exc or type(exc).__name__)
            except Exception:
                log.exception("IMAP polling failed; the mail stays unseen and is fetched again")
            finally:
                await connection.close()
            if stopping.is_set():
                return
            if logged_in:
                delay = RETRY_FIRST
            log.info("IMAP reconnecting in %.0f s", delay)
            if await _wait(stopping, delay):
                return
            delay = min(delay * 2, RETRY_MAX)

    async def _watch(self, connection: Connection, idle: bool, stopping: asyncio.Event) -> None:
        self.skipped.clear()
        while not stopping.is_set():
            connection.take_news()
            await self.fetch_unseen(connection)
            if connection.take_news():
                continue  # mail arrived while we looked: look again before waiting
            if idle:
                await self._idle(connection, stopping)
            else:
                await _wait(stopping, self.poll_seconds, connection.lost)
                if connection.lost.is_set():
                    raise ImapFailure("the server closed the connection")
                if not stopping.is_set():
                    await connection.ok(connection.client.noop(), "NOOP")

    async def fetch_unseen(self, connection: Connection) -> int:
        """Queue every unseen mail, each marked seen once durable; returns how many."""
        client = connection.client
        found = await connection.ok(client.uid_search("UNSEEN", charset=None), "SEARCH")
        queued = 0
        for uid in unseen_uids(found.lines):
            if uid in self.skipped:
                continue
            if await self._too_large(connection, uid):
                self.skipped.add(uid)
                continue
            fetched = await connection.ok(
                client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), "FETCH"
            )
            raw = fetched_mail(fetched.lines, uid)
            if raw is None:
                continue  # expunged meanwhile
            if not await self._queue(uid, raw):
                self.skipped.add(uid)
                continue
            await connection.ok(client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "STORE")
            queued += 1
        return queued

    async def _too_large(self, connection: Connection, uid: int) -> bool:
        """The listener's size limit, checked before the mail is downloaded."""
        answer = await connection.ok(
            connection.client.uid("fetch", str(uid), "(UID RFC822.SIZE)"), "FETCH"
        )
        sizes = [_SIZE.search(bytes(line)) for line in answer.lines if isinstance(line, bytes)]
        size = next((int(m.group(1)) for m in sizes if m), 0)
        if size > MAX_MAIL_BYTES:
            log.warning(
                "IMAP mail %d is %d bytes, over the %d limit: left unseen",
                uid,
                size,
                MAX_MAIL_BYTES,
            )
            return True
        return False

    async def _queue(self, uid: int, raw: bytes) -> bool:
        """Durably queued, or False for mail the SMTP listener would have refused."""
        if not addressed_to(raw, self.mailbox_address):
            log.warning(
                "IMAP mail %d is not addressed to %s: left unseen", uid, self.mailbox_address
            )
            return False
        try:
            message = await self.parse(raw, None, time.time())
        except InvalidInput as exc:
            log.warning("IMAP mail %d refused: %s; left unseen", uid, exc.message)
            return False
        await accept_inbound(self.queue, [message])
        return True

    async def _idle(self, connection: Connection, stopping: asyncio.Event) -> None:
        """Wait in IDLE until the server reports a change (or 25 min pass), then end it."""
        client = connection.client
        idling = await connection.call(client.idle_start(timeout=IDLE_SECONDS))
        push = asyncio.ensure_future(client.wait_server_push(timeout=IDLE_SECONDS + 60))
        halt = asyncio.ensure_future(stopping.wait())
        gone = asyncio.ensure_future(connection.lost.wait())
        try:
            await asyncio.wait({push, halt, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, halt, gone):
                task.cancel()
        if connection.lost.is_set():
            raise ImapFailure("the server closed the connection")
        client.idle_done()
        await connection.call(idling)


async def _wait(stopping: asyncio.Event, seconds: float, also: asyncio.Event | None = None) -> bool:
    """Sleep up to `seconds`; True when `stopping` (or `also`) was set meanwhile."""
    events = [stopping, *([also] if also else [])]
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return any(e.is_set() for e in events)
