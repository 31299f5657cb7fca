"""Outbound replies against a failing provider: 500, 429 with retry_after, timeouts, dropped
connections. Each reply ends sent or `failed` with the provider's error, never `queued`.

What the hub can and cannot promise: a provider that never accepted the request (an error,
a connection dropped before it answered, a late 504) sees the reply once after the retries.
A provider that *did* accept it but whose answer was lost (timeout, connection cut
mid-answer) looks exactly like a failure to the hub, which sends again: neither Telegram's
sendMessage nor Twilio's Messages API takes an idempotency key, so such a reply reaches the
customer twice. The tests pin that down (at-least-once), rather than pretend otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from hub.domain.types import Channel
from hub.queue.consumers import MAX_SEND_ATTEMPTS
from tests.factories import messages_of, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, eventually, operator_reply
from tests.support.faults import all_replies_final
from tests.support.twilio import post_form, sms

CLIENT_TIMEOUT = 0.5  # seconds; the fakes hold a request 3x longer
HOLD = 1.5


@dataclass
class Case:
    name: str
    inject: Callable[[], None]
    accepted: int  # how many times the provider ends up with the reply
    status: str = "sent"
    error: str | None = None  # expected in the failed reply's error


async def run_cases(
    running: RunningHub,
    conversation_id: int,
    cases: list[Case],
    accepted_of: Callable[[str], int],
) -> None:
    """One reply per case, the fault injected just before it; sequential, so each fault
    hits its own reply."""
    for case in cases:
        case.inject()
        started = time.monotonic()
        text = f"case {case.name}"
        message_id = await operator_reply(running, conversation_id, text)
        [outcome] = await all_replies_final(running.hub, [message_id], timeout=20)
        assert outcome.status == case.status, (case.name, outcome)
        if case.error is not None:
            assert case.error in (outcome.error or ""), (case.name, outcome.error)
        assert accepted_of(text) == case.accepted, case.name
        print(f"{case.name}: {outcome.status} in {time.monotonic() - started:.2f}s")


def telegram_cases(fake: FakeTelegramAPI) -> list[Case]:
    send = "sendMessage"
    return [
        Case("500 twice", lambda: fake.fail_next(send, 500, count=2), 1),
        Case("429 retry_after=1", lambda: fake.fail_next(send, 429, retry_after=1), 1),
        Case("dropped before answering", lambda: fake.drop_connections(1, send), 1),
        Case("late 504 (timeout)", lambda: fake.hold_next(send, HOLD, accept=False), 1),
        # The provider accepted, the answer was lost: the hub cannot know and sends again.
        Case("cut mid-answer", lambda: fake.drop_connections(1, send, after_accept=True), 2),
        Case("accepted, answer late", lambda: fake.hold_next(send, HOLD, accept=True), 2),
        Case(
            "500 on every try",
            lambda: fake.fail_next(send, 500, count=MAX_SEND_ATTEMPTS),
            0,
            status="failed",
            error="Internal Server Error",
        ),
    ]


@pytest.mark.usefixtures("fast_retries")
async def test_telegram_replies_survive_provider_faults_or_fail_visibly(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    assert await hub.post_telegram(telegram_update(7101, "hi")) == 200
    [inbound] = await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    sender = hub.hub.channels.telegram
    assert sender is not None
    sender.timeout = CLIENT_TIMEOUT

    def accepted(text: str) -> int:
        return sum(1 for m in fake_telegram.sent if m.text == text)

    await run_cases(hub, inbound.conversation_id, telegram_cases(fake_telegram), accepted)

    # retry_after is honoured: the second try came no sooner than the provider asked.
    tries = [c.at for c in fake_telegram.calls_of("sendMessage") if "429" in c.fields["text"]]
    assert len(tries) == 2 and tries[1] - tries[0] >= 0.95
    # The last failure was tried exactly MAX_SEND_ATTEMPTS times, then given up.
    last = [c for c in fake_telegram.calls_of("sendMessage") if "every try" in c.fields["text"]]
    assert len(last) == MAX_SEND_ATTEMPTS


@pytest.mark.usefixtures("fast_retries")
async def test_twilio_replies_survive_provider_faults_or_fail_visibly(
    hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    assert (await post_form(hub, "/webhooks/twilio/messages", sms("+14155550701", "hi")))[0] == 200
    [inbound] = await eventually(lambda: messages_of(hub.hub, channel="sms"))
    sender = hub.hub.channels.senders[Channel.SMS]
    sender._twilio()  # type: ignore[attr-defined]  # builds its HTTP client
    sender._http.timeout = CLIENT_TIMEOUT  # type: ignore[attr-defined]

    def accepted(text: str) -> int:
        return sum(1 for c in fake_twilio.sent if c.body == text)

    def fail(status: int, times: int = 1) -> Callable[[], None]:
        return lambda: [fake_twilio.fail_next(status) for _ in range(times)] and None

    cases = [
        Case("500 twice", fail(500, 2), 1),
        Case("429", fail(429), 1),
        Case("dropped before answering", fake_twilio.drop_next, 1),
        Case("late 504 (timeout)", lambda: fake_twilio.hold_next(HOLD, accept=False), 1),
        Case("cut mid-answer", lambda: fake_twilio.drop_next(after_accept=True), 2),
        Case("accepted, answer late", lambda: fake_twilio.hold_next(HOLD, accept=True), 2),
        Case("503 on every try", fail(503, MAX_SEND_ATTEMPTS), 0, "failed", "20500"),
    ]
    await run_cases(hub, inbound.conversation_id, cases, accepted)
    assert len([c for c in fake_twilio.calls if c.body == "case 503 on every try"]) == 6
