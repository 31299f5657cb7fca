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
The IMAP protocol itself is `adapters.imap`, reached through `hub.domain.ports.MailboxSession`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from hub.domain.addresses import normalise_email
from hub.domain.ports import MailboxFailure, MailboxLoginRefused, MailboxSession, OpenMailbox
from hub.errors import InvalidInput
from hub.intake.imap_account import ImapAccount
from hub.intake.mail_listener import MAX_MAIL_BYTES, ParseMail
from hub.queue.inbound import accept_inbound
from hub.queue.port import QueueBackend

log = logging.getLogger(__name__)
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


def addressed_to(raw: bytes, mailbox: str) -> bool:
    headers = BytesHeaderParser().parsebytes(raw)
    values = [str(v) for name in RECIPIENT_HEADERS for v in headers.get_all(name, [])]
    return any(normalise_email(addr) == mailbox for _, addr in getaddresses(values) if addr)


class MailboxPoller:
    """Keeps one IMAP session to the support mailbox until `stopping` is set."""

    def __init__(
        self,
        account: ImapAccount,
        open_mailbox: OpenMailbox,
        mailbox_address: str,
        parse: ParseMail,
        queue: QueueBackend,
        *,
        poll_seconds: float = 60.0,
    ) -> None:
        self.account = account
        self.open_mailbox = open_mailbox
        self.mailbox_address = mailbox_address.lower()
        self.parse = parse
        self.queue = queue
        self.poll_seconds = poll_seconds
        self.skipped: set[int] = set()  # UIDs left unseen on purpose, this session

    async def run(self, stopping: asyncio.Event) -> None:
        delay = RETRY_FIRST
        while not stopping.is_set():
            connection = self.open_mailbox()
            logged_in = False
            try:
                idle = await connection.open()
                logged_in = True
                log.info(
                    "IMAP mailbox open",
                    extra={"mailbox": self.account.describe(), "idle": idle},
                )
                await self._watch(connection, idle, stopping)
            except MailboxLoginRefused as exc:
                log.error("IMAP login refused for %s: %s", self.account.describe(), exc)
            except (MailboxFailure, OSError, TimeoutError) as exc:
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

    async def _watch(self, connection: MailboxSession, idle: bool, stopping: asyncio.Event) -> None:
        self.skipped.clear()
        while not stopping.is_set():
            connection.take_news()
            await self.fetch_unseen(connection)
            if connection.take_news():
                continue  # mail arrived while we looked: look again before waiting
            if idle:
                await connection.idle(stopping)
            else:
                await _wait(stopping, self.poll_seconds, connection.lost)
                if connection.lost.is_set():
                    raise MailboxFailure("the server closed the connection")
                if not stopping.is_set():
                    await connection.noop()

    async def fetch_unseen(self, connection: MailboxSession) -> int:
        """Queue every unseen mail, each marked seen once durable; returns how many."""
        queued = 0
        for uid in await connection.unseen():
            if uid in self.skipped:
                continue
            if await self._too_large(connection, uid):
                self.skipped.add(uid)
                continue
            raw = await connection.fetch(uid)
            if raw is None:
                continue  # expunged meanwhile
            if not await self._queue(uid, raw):
                self.skipped.add(uid)
                continue
            await connection.mark_seen(uid)
            queued += 1
        return queued

    async def _too_large(self, connection: MailboxSession, uid: int) -> bool:
        """The listener's size limit, checked before the mail is downloaded."""
        size = await connection.size(uid)
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
