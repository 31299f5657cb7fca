"""The external bot's queue: each customer message in a conversation with the bot is POSTed,
signed, to HUB_AGENT_BOT_URL (README "External bots").

The router writes the job in the message's own transaction (hub.actions.agent_bot
`do_note_for_bot`), so routing never waits for the bot: a slow or failing bot only delays
its own deliveries here. A delivery that is not answered 2xx (an error status, a timeout, a
refused connection, a redirect, which is never followed) is retried with backoff; after the
last try the conversation goes to a person. Whatever happens, the timeout chore hands off a
customer who waited HUB_AGENT_BOT_TIMEOUT without an answer: with Redis, whose enqueue
follows the commit, a crash in between loses an event but never the customer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import aiohttp

from hub import metrics
from hub.actions.agent_bot import bot_event, do_hand_off_unreachable
from hub.actions.unit import commit_and_publish
from hub.db import Database
from hub.domain.signing import SIGNATURE_HEADER, sign
from hub.queue.consumers import MAX_SEND_ATTEMPTS, Consumer, backoff, is_outage
from hub.queue.port import AGENT_BOT, Job, QueueBackend
from hub.realtime import Broker

log = logging.getLogger(__name__)

# One POST may take at most this long (and never longer than the handoff timeout).
MAX_REQUEST_SECONDS = 10.0
USER_AGENT = "support-hub-agent-bot/1"


@dataclass(frozen=True, slots=True)
class AgentBotTarget:
    """Where events go and how they are signed."""

    url: str
    secret: str
    timeout: float  # HUB_AGENT_BOT_TIMEOUT


class AgentBotConsumer(Consumer):
    """Delivers events concurrently across conversations and in order within one."""

    queue = AGENT_BOT
    batch_size = 50

    def __init__(
        self,
        backend: QueueBackend,
        name: str,
        db: Database,
        broker: Broker,
        target: AgentBotTarget,
        *,
        max_attempts: int = MAX_SEND_ATTEMPTS,
    ) -> None:
        super().__init__(backend, name)
        self.db = db
        self.broker = broker
        self.target = target
        self.max_attempts = max_attempts
        # Open while `run` runs (a test may hand one in to call `handle` directly).
        self.http: aiohttp.ClientSession | None = None

    def client(self) -> aiohttp.ClientSession:
        """A client for the bot: every request ends within MAX_REQUEST_SECONDS and the
        handoff timeout."""
        limit = min(MAX_REQUEST_SECONDS, self.target.timeout)
        return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit))

    async def run(self, stopping: asyncio.Event) -> None:
        async with self.client() as http:
            self.http = http
            try:
                await super().run(stopping)
            finally:
                self.http = None

    async def handle(self, jobs: list[Job]) -> None:
        groups: dict[int, list[tuple[Job, int]]] = defaultdict(list)
        for job in jobs:
            try:
                payload = json.loads(job.payload)
                message_id = int(payload["message_id"])
                conversation_id = int(payload["conversation_id"])
            except (ValueError, KeyError, TypeError) as exc:
                await self.backend.dead_letter(job, f"unreadable agent bot job: {exc!r}")
                continue
            groups[conversation_id].append((job, message_id))
        outcomes = await asyncio.gather(
            *(self._deliver_group(vid, group) for vid, group in groups.items()),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _deliver_group(self, conversation_id: int, group: list[tuple[Job, int]]) -> None:
        """One conversation's events one after the other; after a failed one, the rest wait
        with it (the bot never hears a later message before an earlier one)."""
        for index, (job, message_id) in enumerate(group):
            error = await self._deliver(job, message_id)
            if error is None:
                continue
            await self._failed(job, conversation_id, error)
            for later, _ in group[index + 1 :]:
                await self.backend.retry(later, backoff(job.attempts), "an earlier event failed")
            return

    async def _deliver(self, job: Job, message_id: int) -> str | None:
        """POST the event and ack it: None when done (delivered, or nothing left to tell),
        else the failed try's error."""
        async with self.db.session() as session:
            event = await bot_event(session, message_id)
        if event is None:
            await self.backend.ack(self.queue, [job])
            metrics.agent_bot_deliveries.labels("skipped").inc()
            return None
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        error = await self._post(body)
        if error is None:
            await self.backend.ack(self.queue, [job])
            metrics.agent_bot_deliveries.labels("delivered").inc()
        return error

    async def _post(self, body: bytes) -> str | None:
        assert self.http is not None, "the consumer posts only while it runs"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(self.target.secret, body, int(time.time())),
        }
        try:
            async with self.http.post(
                self.target.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return None
                if 300 <= response.status < 400:
                    return f"HTTP {response.status}: redirects are not followed"
                return f"HTTP {response.status}"
        except TimeoutError:
            return "no answer in time"
        except (aiohttp.ClientError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]

    async def _failed(self, job: Job, conversation_id: int, error: str) -> None:
        if job.attempts + 1 < self.max_attempts:
            delay = backoff(job.attempts)
            log.warning(
                "agent bot delivery failed (%s), retry in %.1fs",
                error,
                delay,
                extra={"conversation_id": conversation_id},
            )
            await self.backend.retry(job, delay, error)
            metrics.agent_bot_deliveries.labels("retried").inc()
            return
        log.error(
            "agent bot delivery failed for good: %s",
            error,
            extra={"conversation_id": conversation_id},
        )
        try:
            async with self.db.writing(), self.db.session() as session:
                await do_hand_off_unreachable(session, conversation_id, error)
                await commit_and_publish(session, self.backend, self.broker)
        except Exception as exc:
            if is_outage(exc):
                raise  # the job is still claimed: it is tried again once the database is back
            log.exception("handing off conversation %s failed", conversation_id)
        await self.backend.dead_letter(job, error)
        metrics.agent_bot_deliveries.labels("failed").inc()
