"""Everything a hub process holds open: database, queue, broker, channels, secret key."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from dataclasses import dataclass, field

from hub.db import Database
from hub.domain import events
from hub.domain.events import Event
from hub.domain.messages import OutboundMessage
from hub.errors import ConfigurationError
from hub.migrate import migrate, schema_is_current
from hub.queue.database import DatabaseQueue
from hub.queue.port import QueueBackend
from hub.realtime import Broker, InProcessBroker, RedisBroker
from hub.registry import Channels, build_channels
from hub.runtime.secrets import load_secret_key
from hub.settings import Settings

WEBCHAT_OUTBOUND = "webchat.outbound"


@dataclass
class Hub:
    settings: Settings
    db: Database
    queue: QueueBackend
    broker: Broker
    channels: Channels
    secret_key: bytes
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    mail_server: asyncio.Server | None = None  # the SMTP listener, where this process runs it
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def push_webchat(self, message: OutboundMessage) -> None:
        await self.broker.publish(
            [
                Event(
                    WEBCHAT_OUTBOUND,
                    conversation_id=message.conversation_id,
                    data={"visitor_id": message.address, "message_id": message.message_id},
                )
            ]
        )


def consumer_name(role: str, settings: Settings) -> str:
    """Stable across a restart where possible, so a restarted process takes its leases back
    at once instead of waiting for them to expire: `hub run` owns its port on this host.
    Any other worker is new at each start anyway; a random part keeps two workers of one
    process apart (two consumers under one name would both own every partition)."""
    if role == "run":
        return f"run@{socket.gethostname()}:{settings.port}"
    return f"{role}@{socket.gethostname()}:{os.getpid()}-{secrets.token_hex(3)}"


def _queue_backend(settings: Settings, db: Database) -> QueueBackend:
    if settings.redis_url:
        from hub.queue.redis_streams import RedisStreamsQueue

        return RedisStreamsQueue(settings.redis_url)
    return DatabaseQueue(db)


async def open_hub(settings: Settings, *, run_migrations: bool = True) -> Hub:
    """`hub run` migrates; scale-out processes only check, so they never race each other."""
    db = Database(settings)
    if run_migrations:
        await migrate(db)
    elif not await schema_is_current(db):
        await db.close()
        raise ConfigurationError("the database schema is not up to date: run `hub migrate` first")
    broker: Broker = RedisBroker(settings.redis_url) if settings.redis_url else InProcessBroker()
    queue = _queue_backend(settings, db)
    await queue.start()
    await broker.start()
    secret_key = await load_secret_key(
        db, settings.secret_key.get_secret_value() if settings.secret_key else None
    )
    hub = Hub(settings, db, queue, broker, Channels(), secret_key)
    hub.channels = build_channels(settings, hub.push_webchat)
    return hub


async def close_hub(hub: Hub) -> None:
    hub.stopping.set()
    for task in hub.tasks:
        task.cancel()
    for task in hub.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await hub.channels.close()
    await hub.broker.close()
    await hub.queue.close()
    await hub.db.close()


__all__ = ["WEBCHAT_OUTBOUND", "Hub", "close_hub", "consumer_name", "events", "open_hub"]
