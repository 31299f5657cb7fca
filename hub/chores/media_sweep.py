"""The worker's orphan-file sweep: media-store files no attachment names are removed.

A web chat upload (hub/web/webchat/upload.py) and an operator's file (hub/web/inbox/
attachments.py) are stored before the message that carries them; a visitor who never sends
theirs, or a reply that fails validation, leaves a file nothing refers to. Files put more
than GRACE_SECONDS ago that no attachment row names are deleted, every SWEEP_SECONDS, by
each worker (a delete is idempotent): an unattached upload is gone within the hour (SPEC
§10), so uploads a stranger never sends cannot fill the disk. The grace outlasts an upload
id (20 min, hub.web.webchat.files.UPLOAD_SECONDS) with 20 min to spare for a queue
backlog: a file is named by its attachment row only once the inbound message carrying it
was routed.
The media store alone knows where files are (hub.media.store).
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.chores.periodic import every
from hub.db import Database
from hub.media.store import MediaStore
from hub.models import Attachment

log = logging.getLogger(__name__)

GRACE_SECONDS = 40 * 60.0
SWEEP_SECONDS = 10 * 60.0  # so an orphan lives at most GRACE + SWEEP = 50 min
BATCH = 500  # keys per IN (...) query


async def named_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Those of `keys` an attachment row names."""
    rows = await session.scalars(
        select(col(Attachment.storage_key)).where(col(Attachment.storage_key).in_(keys)).distinct()
    )
    return {key for key in rows if key is not None}


class MediaSweeper:
    """Removes orphan files every `interval` seconds until the process stops."""

    def __init__(
        self,
        db: Database,
        store: MediaStore,
        *,
        grace: float = GRACE_SECONDS,
        interval: float = SWEEP_SECONDS,
    ) -> None:
        self.db, self.store, self.grace, self.interval = db, store, grace, interval

    async def run(self, stopping: asyncio.Event) -> None:
        await every(self.interval, self.run_once, stopping, "media sweep")

    async def run_once(self, now: float | None = None) -> int:
        """Delete the orphans put before `now` - grace; how many were deleted."""
        cutoff = (time.time() if now is None else now) - self.grace
        old = await self.store.keys_put_before(cutoff)
        removed = 0
        for start in range(0, len(old), BATCH):
            batch = old[start : start + BATCH]
            async with self.db.session() as session:
                named = await named_keys(session, batch)
            for key in batch:
                if key not in named and await self.store.delete_if_put_before(key, cutoff):
                    removed += 1
        if removed:
            log.info("media sweep: %d file(s) no message refers to removed", removed)
        return removed
