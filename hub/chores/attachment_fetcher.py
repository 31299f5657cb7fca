"""The worker's attachment fetcher: pending files are fetched after their message is stored.

Claims due rows (a lease in the database, so several workers share the work and a crash
only delays a file), fetches each from its channel, checks size and type, stores the bytes
and ends the row. A provider that fails is retried with backoff; after the last try the
file is `unavailable` with the reason, and its message was never held back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from hub.actions.attachments import ATTACHMENTS_PENDING, Fetch, claim_due, do_finish, do_retry_later
from hub.actions.unit import take_events
from hub.db import Database
from hub.domain.media import (
    AttachmentStatus,
    FetchedFile,
    FileTooLarge,
    MediaSource,
    decide_type,
    mail_attachments,
)
from hub.domain.types import Channel
from hub.errors import ProviderError
from hub.media.store import MediaStore
from hub.models import MessageSource
from hub.queue.consumers import is_outage
from hub.queue.port import OUTBOUND, QueueBackend
from hub.realtime import Broker

log = logging.getLogger(__name__)

MAX_FETCH_ATTEMPTS = 4
BACKOFF_SECONDS = 0.5  # 0.5, 1, 2: a provider hiccup, not an outage, is what this rides out
IDLE_POLL_SECONDS = 2.0  # work queued by another process is seen within this
BATCH = 8


class AttachmentFetcher:
    def __init__(
        self,
        db: Database,
        broker: Broker,
        queue: QueueBackend,
        store: MediaStore,
        sources: Mapping[Channel, MediaSource],
        *,
        limit_bytes: int,
        allowed_types: frozenset[str],
    ) -> None:
        self.db, self.broker, self.queue, self.store = db, broker, queue, store
        self.sources = sources
        self.limit = limit_bytes
        self.allowed = allowed_types
        self._wake = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while not stopping.is_set():
                try:
                    if await self.run_once():
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("attachment fetcher: batch failed, will retry")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL_SECONDS)
                self._wake.clear()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        async with self.broker.subscribe() as events:
            while True:
                event = await events.get()
                if event.name == ATTACHMENTS_PENDING:
                    self._wake.set()

    async def run_once(self) -> int:
        """Fetch one batch of due files; how many were claimed."""
        async with self.db.session() as session:
            async with self.db.writing():
                claimed = await claim_due(session, BATCH)
                await session.commit()
        if claimed:
            await asyncio.gather(*(self._fetch_one(item) for item in claimed))
        return len(claimed)

    async def _fetch_one(self, item: Fetch) -> None:
        """One try of one file. Any error that is not an outage of the database is a failed
        try of this file (retried with backoff, then `unavailable` with the error): a file
        that fails after its fetch would otherwise come back each lease, forever."""
        try:
            await self._try_one(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_outage(exc):
                raise
            log.exception("attachment %s: failed unexpectedly", item.id)
            await self._failed(item, ProviderError(f"unexpected error: {exc!r}", retryable=True))

    async def _failed(self, item: Fetch, exc: ProviderError) -> None:
        if exc.retryable and item.attempts < MAX_FETCH_ATTEMPTS:
            delay = max(BACKOFF_SECONDS * 2 ** (item.attempts - 1), exc.retry_after or 0)
            async with self.db.session() as session, self.db.writing():
                await do_retry_later(session, item.id, delay * random.uniform(0.9, 1.1), str(exc))
                await session.commit()
            return
        await self._finish(item, AttachmentStatus.UNAVAILABLE, error=exc.message[:2000])

    async def _try_one(self, item: Fetch) -> None:
        try:
            fetched = await self._fetch(item)
        except FileTooLarge as exc:
            await self._finish(item, AttachmentStatus.TOO_LARGE, size=exc.size, error=str(exc))
            return
        except ProviderError as exc:
            await self._failed(item, exc)
            return
        if len(fetched.data) > self.limit:
            await self._finish(item, AttachmentStatus.TOO_LARGE, size=len(fetched.data))
            return
        content_type, reason = decide_type(
            fetched.data,
            fetched.content_type or item.content_type,
            fetched.filename or item.filename,
            self.allowed,
        )
        if content_type is None:
            await self._finish(item, AttachmentStatus.REFUSED, size=len(fetched.data), error=reason)
            return
        key = await self.store.put(fetched.data)
        await self._finish(
            item,
            AttachmentStatus.STORED,
            storage_key=key,
            content_type=content_type,
            size=len(fetched.data),
        )

    async def _fetch(self, item: Fetch) -> FetchedFile:
        channel = Channel(item.channel)
        if channel is Channel.EMAIL:
            return await self._mail_part(item)
        source = self.sources.get(channel)
        if source is None:
            raise ProviderError(f"the {channel} channel is not enabled", retryable=False)
        try:
            return await source.fetch(item.ref, self.limit)
        except (TimeoutError, OSError) as exc:
            raise ProviderError(f"the provider is unreachable: {exc!r}", retryable=True) from None

    async def _mail_part(self, item: Fetch) -> FetchedFile:
        """A mail's files are inside the original kept with it: part N of it."""
        async with self.db.session() as session:
            source = await session.get(MessageSource, item.message_id)
        if source is None:
            raise ProviderError("the original mail is not kept", retryable=False)
        raw = source.raw if isinstance(source.raw, bytes) else str(source.raw).encode("utf-8")
        mail = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(mail, EmailMessage)
        parts = mail_attachments(mail)
        index = int(item.ref.removeprefix("mime:") or "-1")
        if not 0 <= index < len(parts):
            raise ProviderError("the attachment is not in the original mail", retryable=False)
        part = parts[index]
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if len(data) > self.limit:
            raise FileTooLarge(len(data))
        return FetchedFile(data, part.get_content_type(), part.get_filename())

    async def _finish(
        self,
        item: Fetch,
        status: str,
        *,
        storage_key: str | None = None,
        content_type: str | None = None,
        size: int | None = None,
        error: str | None = None,
    ) -> None:
        async with self.db.session() as session:
            async with self.db.writing():
                job = await do_finish(
                    session,
                    item.id,
                    status,
                    storage_key=storage_key,
                    content_type=content_type,
                    size=size,
                    error=error,
                    limit_bytes=self.limit,
                )
                await session.commit()
            events = take_events(session)
        if job is not None:
            await self.queue.enqueue(OUTBOUND, [job])
        await self.broker.publish(events)
