"""HUB_PROVIDER_TIMEOUT_SECONDS: a provider that never answers fails the send retryably
within that time, instead of holding the outbound worker for the default 30 s."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.domain.messages import OutboundMessage
from hub.domain.types import Channel
from hub.errors import ProviderError
from hub.settings import Settings
from tests.factories import messages_of, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub
from tests.support.twilio import twilio_settings

TIMEOUT = 0.5  # seconds
HOLD = 3.0  # the fakes answer only this late: far past the timeout


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"provider_timeout_seconds": TIMEOUT}


def test_the_default_is_30_seconds() -> None:
    assert Settings(_env_file=None).provider_timeout_seconds == 30.0  # type: ignore[call-arg]


def outbound(channel: Channel, address: str) -> OutboundMessage:
    return OutboundMessage(
        message_id=1, conversation_id=1, channel=channel, address=address, text="hello?"
    )


async def test_a_telegram_send_gives_up_retryably_after_the_timeout(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    sender = hub.hub.channels.telegram
    assert sender is not None
    fake_telegram.hold_next("sendMessage", HOLD, accept=False)
    started = time.monotonic()
    with pytest.raises(ProviderError) as failed:
        await sender.send(outbound(Channel.TELEGRAM, "7301"))
    assert failed.value.retryable
    assert TIMEOUT * 0.9 <= time.monotonic() - started < TIMEOUT + 1.5


async def test_a_telegram_reply_held_by_the_provider_is_retried_and_sent(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    assert await hub.post_telegram(telegram_update(7302, "hi")) == 200
    [inbound] = await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    fake_telegram.hold_next("sendMessage", HOLD, accept=False)
    await operator_reply(hub, inbound.conversation_id, "are you there?")
    sent = await fake_telegram.wait_for_sent(lambda s: s.text == "are you there?", timeout=HOLD)
    first, second = fake_telegram.calls_of("sendMessage")
    assert second.at - first.at < HOLD  # the worker did not wait for the late answer
    assert sent.chat_id == 7302


@pytest.fixture
async def slow_twilio_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> AsyncIterator[RunningHub]:
    settings = twilio_settings(backend_urls, fake_twilio.base_url, provider_timeout_seconds=TIMEOUT)
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def test_a_twilio_send_gives_up_retryably_after_the_timeout(
    slow_twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    sender = slow_twilio_hub.hub.channels.senders[Channel.SMS]
    fake_twilio.hold_next(HOLD, accept=False)
    started = time.monotonic()
    with pytest.raises(ProviderError) as failed:
        await sender.send(outbound(Channel.SMS, "+14155550901"))
    assert failed.value.retryable
    assert TIMEOUT * 0.9 <= time.monotonic() - started < TIMEOUT + 1.5
