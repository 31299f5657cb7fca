"""A unit of work: changes commit together; their sends are queued and their events
published only once they are committed (Zulip's `queue_event_on_commit`).

An action records what must follow its change on the session: `record` an event,
`defer_send` a reply. One `commit_and_publish` then commits, enqueues and publishes, in that
order: a job never names an uncommitted row and nobody hears of a change that rolled back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.webhook_outbox import stage_webhooks
from hub.db import Database
from hub.domain.events import Event
from hub.models import Message
from hub.queue.outbound import OutboundJob
from hub.queue.port import OUTBOUND, WEBHOOKS, NewJob, QueueBackend
from hub.realtime import Broker

_EVENTS = "hub.events"
_SENDS = "hub.sends"
_JOBS = "hub.jobs"


def record(session: AsyncSession, event: Event) -> None:
    session.info.setdefault(_EVENTS, []).append(event)


def defer_send(session: AsyncSession, message: Message) -> None:
    """Queue the send of this stored reply once the session commits."""
    assert message.id is not None, "flush the message before deferring its send"
    defer_send_of(session, message.id, message.conversation_id)


def defer_send_of(session: AsyncSession, message_id: int, conversation_id: int) -> None:
    """`defer_send` for a reply stored with a Core insert: no model is built for it."""
    job = OutboundJob(message_id=message_id, conversation_id=conversation_id)
    session.info.setdefault(_SENDS, []).append(job)


def defer_job(session: AsyncSession, queue: str, job: NewJob) -> None:
    """Queue `job` on `queue` once the session commits (in its transaction where the queue
    lives in the database), like `defer_send` for replies."""
    session.info.setdefault(_JOBS, []).append((queue, job))


def take_jobs(session: AsyncSession) -> dict[str, list[NewJob]]:
    by_queue: dict[str, list[NewJob]] = {}
    for queue, job in session.info.pop(_JOBS, []):
        by_queue.setdefault(queue, []).append(job)
    return by_queue


def take_events(session: AsyncSession) -> list[Event]:
    events: list[Event] = session.info.pop(_EVENTS, [])
    return events


def take_sends(session: AsyncSession) -> list[OutboundJob]:
    sends: list[OutboundJob] = session.info.pop(_SENDS, [])
    return sends


def discard(session: AsyncSession) -> None:
    """Forget what a rolled-back change recorded."""
    take_events(session)
    take_sends(session)
    take_jobs(session)


async def commit_and_publish(session: AsyncSession, queue: QueueBackend, broker: Broker) -> None:
    """Commit, then enqueue the deferred sends and jobs, then publish the recorded events.

    The database queue takes the sends inside the transaction (they commit with their rows
    or not at all). Redis cannot: its enqueue follows the commit, and a crash in between
    leaves a reply queued in the database only, which the outbound consumer's sweep for
    stranded replies queues again (at-least-once, docs/RELIABILITY.md). Called inside a
    `Database.writing()` turn this is safe too: neither path takes that turn again.

    Outgoing webhook deliveries are written first, in the same transaction as the change
    they tell of (hub.actions.webhook_outbox), and queued like the sends; a Redis job lost
    to a crash is queued again by the webhook consumer's sweep."""
    try:
        hooks = await stage_webhooks(session, session.info.get(_EVENTS, []))
    except BaseException:
        discard(session)
        raise
    jobs = [job.queued() for job in take_sends(session)]
    within = bool(jobs) and await queue.enqueue_within(session, OUTBOUND, jobs)
    others = take_jobs(session)
    if hooks:
        others.setdefault(WEBHOOKS, []).extend(hooks)
    later = {
        name: batch
        for name, batch in others.items()
        if not await queue.enqueue_within(session, name, batch)
    }
    try:
        await session.commit()
    except BaseException:
        discard(session)
        raise
    events = take_events(session)
    try:
        if jobs and not within:
            await queue.enqueue(OUTBOUND, jobs)
        for name, batch in later.items():
            await queue.enqueue(name, batch)
    finally:  # the change is committed: the inbox hears of it even if Redis is away
        await broker.publish(events)


@asynccontextmanager
async def unit_of_work(
    db: Database, queue: QueueBackend, broker: Broker
) -> AsyncIterator[AsyncSession]:
    async with db.session() as session:
        try:
            yield session
        except BaseException:
            discard(session)
            raise
        await commit_and_publish(session, queue, broker)
