"""IMAP plumbing on aioimaplib: one session to a mailbox, behind `hub.domain.ports.MailboxSession`.

aioimaplib speaks the protocol; this module adds what a long-running poller needs from it:
every command under a timeout that also ends when the connection drops, news the server
reported outside IDLE remembered, and answers read into UIDs and raw mail. What to fetch,
what to queue and when to reconnect is the poller's (`hub.intake.imap_polling`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable
from itertools import pairwise
from typing import Any, Protocol, TypeVar

import aioimaplib

from hub.domain.ports import MailboxFailure, MailboxLoginRefused

T = TypeVar("T")

COMMAND_SECONDS = 30.0
_FETCHED = re.compile(rb"FETCH \(.*UID (\d+).*\{(\d+)\}$")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
# Untagged news of the selected mailbox: new mail, or flags changed (a mail unseen again).
_CHANGE = re.compile(rb"^\* \d+ (EXISTS|FETCH \(.*FLAGS)")


class MailboxAccount(Protocol):
    """Where to log in (hub.intake.imap_account.ImapAccount, read from HUB_IMAP_URL)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    @property
    def user(self) -> str: ...

    @property
    def password(self) -> str: ...

    @property
    def mailbox(self) -> str: ...

    @property
    def tls(self) -> bool: ...


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


class ImapSession:
    """One logged-in IMAP session; every call fails fast when the server goes away."""

    def __init__(self, account: MailboxAccount, idle_seconds: float = 25 * 60.0) -> None:
        self.account = account
        self.idle_seconds = idle_seconds  # RFC 2177: re-issue IDLE within 29 minutes
        self.lost = asyncio.Event()
        tls = ssl.create_default_context() if account.tls else None
        self.client = _Client(
            account.host,
            account.port,
            timeout=COMMAND_SECONDS,
            conn_lost_cb=lambda _exc: self.lost.set(),
            ssl_context=tls,
        )

    async def _call(self, step: Awaitable[T], timeout: float = COMMAND_SECONDS) -> T:
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
            raise MailboxFailure(
                "the server closed the connection"
                if self.lost.is_set()
                else f"no answer within {timeout:.0f} s"
            )
        try:
            return task.result()
        except aioimaplib.AioImapException as exc:
            raise MailboxFailure(str(exc) or type(exc).__name__) from exc

    async def _ok(self, step: Awaitable[aioimaplib.Response], what: str) -> aioimaplib.Response:
        response = await self._call(step)
        if response.result != "OK":
            detail = bytes(response.lines[-1]).decode(errors="replace") if response.lines else ""
            raise MailboxFailure(f"{what} answered {response.result} {detail}".strip())
        return response

    async def open(self) -> bool:
        account = self.account
        await self._call(self.client.wait_hello_from_server())
        try:
            await self._ok(self.client.login(account.user, account.password), "LOGIN")
        except MailboxFailure as exc:
            raise MailboxLoginRefused(str(exc)) from None
        # Capabilities may grow after login (RFC 3501 §6.2.3): ask again.
        await self._call(self.client.protocol.capability())
        await self._ok(self.client.select(f'"{account.mailbox}"'), "SELECT")
        return self.client.has_capability("IDLE")

    async def unseen(self) -> list[int]:
        found = await self._ok(self.client.uid_search("UNSEEN", charset=None), "SEARCH")
        return unseen_uids(found.lines)

    async def size(self, uid: int) -> int:
        answer = await self._ok(self.client.uid("fetch", str(uid), "(UID RFC822.SIZE)"), "FETCH")
        sizes = [_SIZE.search(bytes(line)) for line in answer.lines if isinstance(line, bytes)]
        return next((int(m.group(1)) for m in sizes if m), 0)

    async def fetch(self, uid: int) -> bytes | None:
        fetched = await self._ok(self.client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), "FETCH")
        return fetched_mail(fetched.lines, uid)

    async def mark_seen(self, uid: int) -> None:
        await self._ok(self.client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "STORE")

    async def noop(self) -> None:
        await self._ok(self.client.noop(), "NOOP")

    async def idle(self, stopping: asyncio.Event) -> None:
        client = self.client
        idling = await self._call(client.idle_start(timeout=self.idle_seconds))
        push = asyncio.ensure_future(client.wait_server_push(timeout=self.idle_seconds + 60))
        halt = asyncio.ensure_future(stopping.wait())
        gone = asyncio.ensure_future(self.lost.wait())
        try:
            await asyncio.wait({push, halt, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (push, halt, gone):
                task.cancel()
        if self.lost.is_set():
            raise MailboxFailure("the server closed the connection")
        client.idle_done()
        await self._call(idling)

    def take_news(self) -> bool:
        protocol = self.client.protocol
        news, protocol.changed = protocol.changed, False
        return bool(news)

    async def close(self) -> None:
        if not self.lost.is_set():
            with contextlib.suppress(Exception):
                if self.client.has_pending_idle():
                    self.client.idle_done()  # a server answers nothing else during IDLE
                await self._call(self.client.logout(), timeout=2.0)
        transport = self.client.protocol.transport
        if transport is not None:
            transport.close()
