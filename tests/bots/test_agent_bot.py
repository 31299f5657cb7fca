"""The external bot (agent bot API) end to end: Telegram webhook → router → signed event to
a fake shop bot on loopback → the bot answers through the REST API with its token → the
reply reaches the fake Bot API; and the handoffs: asked for, after a silent or failing bot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.agent_bot import do_create_bot_token, event_job
from hub.domain.messages import InboundMessage, Routed
from hub.domain.types import Channel
from hub.models import AgentBotWait, Conversation, Message
from hub.queue.agent_bot import AgentBotConsumer, AgentBotTarget
from hub.queue.port import AGENT_BOT, Job, NewJob, QueueBackend
from tests.factories import count, messages_of
from tests.fakes.agent_bot import FakeAgentBot
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes
from tests.support.orders import bot_answer, put_order, sent_to

BOT_SECRET = "shop-bot-signing-key"


@pytest.fixture
def agent_bot_timeout() -> float:
    """Long enough never to fire in the tests of a working bot; the timeout tests shorten it."""
    return 30.0


@pytest.fixture
async def fake_bot() -> AsyncIterator[FakeAgentBot]:
    async with FakeAgentBot(BOT_SECRET) as bot:
        yield bot


@pytest.fixture
def settings_overrides(fake_bot: FakeAgentBot, agent_bot_timeout: float) -> dict[str, Any]:
    # The built-in bots are on (HUB_BOTS defaults to 1): they must stand aside by themselves.
    return {
        "bots": True,
        "agent_bot_url": fake_bot.url,
        "agent_bot_secret": BOT_SECRET,
        "agent_bot_timeout": agent_bot_timeout,
    }


@pytest.fixture
async def bot(hub: RunningHub, fake_bot: FakeAgentBot) -> FakeAgentBot:
    async with hub.hub.db.session() as session:
        fake_bot.token = await do_create_bot_token(session)
        await session.commit()
    fake_bot.hub_url = hub.url
    return fake_bot


async def conversation(running: RunningHub, conversation_id: int) -> Conversation:
    async with running.hub.db.session() as session:
        found = await session.get(Conversation, conversation_id)
    assert found is not None
    return found


async def handoff_note(running: RunningHub, conversation_id: int) -> Message | None:
    notes = [
        m
        for m in await messages_of(running.hub, conversation_id=conversation_id)
        if m.sender_type == "system" and m.private and "handoff" in m.text
    ]
    return notes[-1] if notes else None


def delivered_count(metrics_text: str) -> float:
    """The `delivered` outcome of the external bot's delivery counter, 0 before the first."""
    prefix = 'hub_agent_bot_deliveries_total{outcome="delivered"} '
    for line in metrics_text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


async def test_the_bot_hears_a_signed_event_and_its_answer_reaches_telegram(
    hub: RunningHub, bot: FakeAgentBot, fake_telegram: FakeTelegramAPI, api: Api
) -> None:
    async with hub.http.get(f"{hub.url}/metrics") as response:
        delivered_before = delivered_count(await response.text())
    asked = await customer_writes(hub, 7001, "hello, is anyone there?", first_name="Olga")
    answer = await bot_answer(fake_telegram, 7001)
    assert answer.text == "echo: hello, is anyone there?"
    [event] = bot.events
    assert event.signed and event.headers["Content-Type"] == "application/json"
    assert event.body["event"] == "message.created"
    assert event.body["conversation"]["id"] == asked.conversation_id
    assert event.body["conversation"]["bot_active"] is True
    assert event.body["message"] == {
        "id": asked.id,
        "conversation_id": asked.conversation_id,
        "direction": "inbound",
        "sender_type": "customer",
        "channel": "telegram",
        "text": "hello, is anyone there?",
        "created_at": event.body["message"]["created_at"],
    }
    assert event.body["customer"]["id"] == asked.customer_id
    assert event.body["customer"]["name"].startswith("Olga")
    thread = await api.get(f"/conversations/{asked.conversation_id}/messages")
    [reply] = [m for m in thread["items"] if m["direction"] == "outbound"]
    assert reply["sender_type"] == "bot" and reply["text"] == answer.text
    assert (await conversation(hub, asked.conversation_id)).bot_active  # still the bot's

    async def metrics() -> str | None:
        async with hub.http.get(f"{hub.url}/metrics") as response:
            text = await response.text()
        # Counted once the bot's 200 is back, which may come after its answer went out. The
        # counter is the process's: earlier tests in this process counted theirs too.
        return text if delivered_count(text) > delivered_before else None

    assert 'hub_queue_depth{queue="agentbot"}' in await eventually(metrics, what="counted")


async def test_the_built_in_bots_stay_silent_while_the_external_bot_is_the_bot(
    hub: RunningHub, bot: FakeAgentBot, fake_telegram: FakeTelegramAPI, api: Api
) -> None:
    await put_order(api, "1042", 7002, "shipped", tracking_url="https://t.example/1042")
    first = await customer_writes(hub, 7002, "where is my order 1042", language_code="en")
    await bot_answer(fake_telegram, 7002)
    await customer_writes(hub, 7002, "operator please", language_code="en")
    await bot_answer(fake_telegram, 7002, after=1)
    # The built-in order-status and handoff bots would have answered both by now (they
    # answer in the router's own turn, before the next message is routed).
    assert sent_to(fake_telegram, 7002)[-2:] == [
        "echo: where is my order 1042",
        "echo: operator please",
    ]
    bots = [
        m
        for m in await messages_of(hub.hub, conversation_id=first.conversation_id)
        if m.sender_type == "bot"
    ]
    assert [m.text for m in bots] == ["echo: where is my order 1042", "echo: operator please"]
    assert (await conversation(hub, first.conversation_id)).bot_active


async def test_the_bot_hands_off_to_a_person(hub: RunningHub, bot: FakeAgentBot, api: Api) -> None:
    bot.behaviour = "handoff"
    asked = await customer_writes(hub, 7003, "I want my money back")
    note = await eventually(lambda: handoff_note(hub, asked.conversation_id), what="handoff")
    assert "asked about a refund" in note.text
    shown = await api.get(f"/conversations/{asked.conversation_id}")
    assert shown["bot_active"] is False and shown["status"] == "open"
    assert bot.answers[0][0] == 200  # the handoff call itself
    # The conversation is a person's now: the bot can neither read nor answer it.
    status, body = await bot.call(
        "POST", f"/conversations/{asked.conversation_id}/messages", {"text": "hi"}
    )
    assert status == 403 and body["error"]["code"] == "not_with_bot"
    status, _ = await bot.call("GET", f"/conversations/{asked.conversation_id}/messages")
    assert status == 403


# Long enough for the first event to reach the bot before the timeout, also on a busy machine.
@pytest.mark.parametrize("agent_bot_timeout", [1.5])
@pytest.mark.parametrize("behaviour", ["fail", "silent", "redirect", "hang"])
async def test_a_bot_that_does_not_answer_hands_off_after_the_timeout(
    hub: RunningHub, bot: FakeAgentBot, api: Api, fake_telegram: FakeTelegramAPI, behaviour: Any
) -> None:
    bot.behaviour = behaviour
    asked = await customer_writes(hub, 7004, "hello?")
    note = await eventually(lambda: handoff_note(hub, asked.conversation_id), what="handoff")
    assert "did not answer within 1.5 s" in note.text
    # The customer hears that a person will answer (the built-in handoff text, in Russian).
    told = await bot_answer(fake_telegram, 7004)
    assert "сотрудник" in (told.text or "")
    shown = await api.get(f"/conversations/{asked.conversation_id}")
    assert shown["bot_active"] is False and shown["status"] == "open"
    assert bot.signed_events() and bot.followed_redirects == 0
    # The next message goes straight to the team: no event for the bot.
    await customer_writes(hub, 7004, "still there?")
    assert [e.body["message"]["text"] for e in bot.events] == ["hello?"] * len(bot.events)


async def test_the_bot_token_opens_only_the_bots_routes(
    hub: RunningHub, bot: FakeAgentBot, api: Api
) -> None:
    bot.behaviour = "silent"
    asked = await customer_writes(hub, 7005, "hi")
    vid = asked.conversation_id
    assert (await bot.call("GET", f"/conversations/{vid}"))[0] == 200
    assert (await bot.call("GET", f"/conversations/{vid}/messages"))[0] == 200
    for method, path, body in [
        ("GET", "/conversations", None),
        ("GET", "/customers", None),
        ("GET", f"/customers/{asked.customer_id}", None),
        ("POST", f"/conversations/{vid}/assign", {"operator_id": api.operator_id}),
        ("POST", f"/conversations/{vid}/status", {"status": "resolved"}),
        ("POST", f"/conversations/{vid}/labels", {"labels": ["x"]}),
        ("PUT", "/orders/1", {"customer": {"telegram_id": 1}, "status": "created"}),
        ("GET", "/canned-responses", None),
    ]:
        status, answer = await bot.call(method, path, body)
        assert (status, answer["error"]["code"]) == (403, "bot_token"), (method, path)
    # An operator cannot hand off in the bot's name; a made-up bot token is no token.
    status, _, _ = await api.call("POST", f"/conversations/{vid}/handoff", {})
    assert status == 403
    forged = FakeAgentBot(BOT_SECRET, hub_url=hub.url, token="hubbot_made-up")
    forged._http = bot._http
    assert (await forged.call("GET", f"/conversations/{vid}"))[0] == 401
    shown = await api.get(f"/conversations/{vid}")
    assert shown["bot_active"] is True and shown["status"] == "open"


async def test_the_openapi_document_names_the_bot_routes(hub: RunningHub) -> None:
    async with hub.http.get(f"{hub.url}/api/v1/openapi.json") as response:
        document = await response.json()
    handoff = document["paths"]["/api/v1/conversations/{id}/handoff"]["post"]
    assert handoff["security"] == [{"bearer": []}, {"agentBot": []}]
    assert "HandoffBody" in handoff["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    listing = document["paths"]["/api/v1/conversations"]["get"]
    assert listing["security"] == [{"bearer": []}]
    assert "agentBot" in document["components"]["securitySchemes"]


@pytest.mark.parametrize("agent_bot_timeout", [0.6])
async def test_a_hanging_bot_never_holds_up_routing(hub: RunningHub, bot: FakeAgentBot) -> None:
    bot.behaviour = "hang"
    await customer_writes(hub, 7006, "first")
    # While the bot sits on the first event, every other customer is routed as usual.
    others = [await customer_writes(hub, 7100 + n, f"meanwhile {n}") for n in range(3)]
    assert len({m.conversation_id for m in others}) == 3
    for message in others:
        await eventually(lambda m=message: handoff_note(hub, m.conversation_id), what="handoff")


class RecordingQueue:
    """Stands in for the queue backend where the consumer is called directly: records what
    it does with its jobs, and passes on what it queues (the handoff text's send)."""

    name = "recording"

    def __init__(self, real: QueueBackend) -> None:
        self.real = real
        self.acked: list[str] = []
        self.retried: list[tuple[str, str]] = []
        self.dead: list[tuple[str, str]] = []

    async def ack(self, queue: str, jobs: list[Job]) -> None:
        self.acked += [job.id for job in jobs]

    async def retry(self, job: Job, delay: float, error: str, payload: str | None = None) -> None:
        self.retried.append((job.id, error))

    async def dead_letter(self, job: Job, error: str) -> None:
        self.dead.append((job.id, error))

    async def enqueue_within(self, session: AsyncSession, queue: str, jobs: list[NewJob]) -> bool:
        return await self.real.enqueue_within(session, queue, jobs)

    async def enqueue(self, queue: str, jobs: list[NewJob]) -> None:
        await self.real.enqueue(queue, jobs)


def delivery_of(message: Message, attempts: int) -> Job:
    """The job the router queued for `message`, as it is on its `attempts`+1-th try."""
    inbound = InboundMessage(Channel.TELEGRAM, message.address or "", message.dedupe_key or "", "")
    job = event_job(Routed(inbound, message.id or 0, message.conversation_id, 1))
    return Job(f"job-{attempts}", AGENT_BOT, 0, job.payload, attempts, 0.0)


@pytest.mark.parametrize("behaviour", ["fail", "redirect"])
async def test_a_delivery_that_fails_for_good_hands_the_conversation_to_a_person(
    hub: RunningHub, bot: FakeAgentBot, api: Api, fake_telegram: FakeTelegramAPI, behaviour: Any
) -> None:
    bot.behaviour = behaviour
    asked = await customer_writes(hub, 7007, "are you a robot?")
    queue = RecordingQueue(hub.hub.queue)
    target = AgentBotTarget(bot.url, BOT_SECRET, timeout=30.0)
    consumer = AgentBotConsumer(queue, "test", hub.hub.db, hub.hub.broker, target, max_attempts=3)  # type: ignore[arg-type]
    async with consumer.client() as consumer.http:
        await consumer.handle([delivery_of(asked, attempts=0)])
        assert queue.retried and not queue.dead  # a try left: again later
        assert (await conversation(hub, asked.conversation_id)).bot_active
        await consumer.handle([delivery_of(asked, attempts=2)])
    [(_, error)] = queue.dead
    expected = "HTTP 500" if behaviour == "fail" else "redirects are not followed"
    assert expected in error and bot.followed_redirects == 0
    note = await handoff_note(hub, asked.conversation_id)
    assert note is not None and "could not be reached" in note.text and expected in note.text
    assert "сотрудник" in ((await bot_answer(fake_telegram, 7007)).text or "")
    shown = await api.get(f"/conversations/{asked.conversation_id}")
    assert shown["bot_active"] is False and shown["status"] == "open"
    # Once a person has it, a late delivery is dropped, not sent: the bot has nothing to do.
    before = len(bot.events)
    async with consumer.client() as consumer.http:
        await consumer.handle([delivery_of(asked, attempts=0)])
    assert len(bot.events) == before and queue.acked == ["job-0"]


async def nobody_waits(running: RunningHub) -> bool:
    return await count(running.hub, AgentBotWait) == 0


@pytest.mark.parametrize("agent_bot_timeout", [2.0])
@pytest.mark.parametrize("person", ["replies", "resolves"])
async def test_a_conversation_a_person_took_meanwhile_is_left_alone_by_the_timeout(
    hub: RunningHub, bot: FakeAgentBot, api: Api, person: str
) -> None:
    bot.behaviour = "silent"
    asked = await customer_writes(hub, 7008, "hello")
    vid = asked.conversation_id
    assert not await nobody_waits(hub)
    if person == "replies":
        await api.ok("POST", f"/conversations/{vid}/messages", {"text": "Anna here"}, 201)
    else:
        await api.ok("POST", f"/conversations/{vid}/status", {"status": "resolved"})
    await eventually(lambda: nobody_waits(hub), what="the wait timed out")
    assert await handoff_note(hub, vid) is None
    shown = await api.get(f"/conversations/{vid}")
    expected = (False, "open") if person == "replies" else (True, "resolved")
    assert (shown["bot_active"], shown["status"]) == expected
