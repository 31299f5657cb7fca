"""A unit of work: changes commit together, and their events are published after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.domain.events import Event
from hub.realtime import Broker

_EVENTS = "hub.events"


def record(session: AsyncSession, event: Event) -> None:
    session.info.setdefault(_EVENTS, []).append(event)


def take_events(session: AsyncSession) -> list[Event]:
    events: list[Event] = session.info.pop(_EVENTS, [])
    return events


@asynccontextmanager
async def unit_of_work(db: Database, broker: Broker) -> AsyncIterator[AsyncSession]:
    async with db.session() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            take_events(session)
            raise
        events = take_events(session)
    await broker.publish(events)
