"""`hub worker --telegram-polling`: getUpdates instead of a webhook, into the same queue.

The offset is kept in the database, so a restart continues where it stopped; an update
fetched twice (a crash before the offset was saved) is de-duplicated like a webhook retry.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from hub.db import Database
from hub.domain.ports import UpdatePoller
from hub.errors import ProviderError
from hub.models import HubSetting
from hub.queue.inbound import accept_inbound
from hub.queue.port import QueueBackend

log = logging.getLogger(__name__)
OFFSET_KEY = "telegram_polling_offset"
LONG_POLL_SECONDS = 25


class TelegramPolling:
    """Long-polls the Bot API until the process stops; each batch durable before the offset
    moves on."""

    def __init__(self, db: Database, queue: QueueBackend, poller: UpdatePoller) -> None:
        self.db = db
        self.queue = queue
        self.poller = poller

    async def run(self, stopping: asyncio.Event) -> None:
        offset = await self._load_offset()
        while not stopping.is_set():
            try:
                messages, next_offset = await self.poller.poll(
                    offset, LONG_POLL_SECONDS, time.time()
                )
            except ProviderError as exc:
                log.warning("telegram polling failed, retrying: %s", exc.message)
                await asyncio.sleep(2)
                continue
            await accept_inbound(self.queue, messages)  # durable before the offset moves on
            if next_offset is not None and next_offset != offset:
                offset = next_offset
                await self._save_offset(offset)

    async def _load_offset(self) -> int | None:
        async with self.db.session() as session:
            value = await session.scalar(
                select(col(HubSetting.value)).where(col(HubSetting.key) == OFFSET_KEY)
            )
        return int(value) if value else None

    async def _save_offset(self, offset: int) -> None:
        dialect = sqlite if self.db.is_sqlite else postgresql
        async with self.db.session() as session:
            await session.execute(
                dialect.insert(HubSetting)
                .values(key=OFFSET_KEY, value=str(offset))
                .on_conflict_do_update(index_elements=["key"], set_={"value": str(offset)})
            )
            await session.commit()
