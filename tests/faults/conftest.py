"""Fixtures for the fault tests: a hub with Telegram and Twilio on fakes, fast retries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.support.twilio import PUBLIC_URL, SMS_FROM

FAST_BACKOFF = 0.2


@pytest.fixture
def settings_overrides(fake_twilio: FakeTwilioAPI) -> dict[str, Any]:
    """Both webhook providers on their fakes, so one hub takes Telegram updates and SMS."""
    return {
        "public_url": PUBLIC_URL,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_sms_from": SMS_FROM,
        "twilio_api_url": fake_twilio.base_url,
    }


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> float:
    """Cap the in-process worker's backoff (1, 2, 4... s) so six tries take about a second;
    a provider's retry_after still wins, as in production."""
    monkeypatch.setattr("hub.queue.consumers.MAX_BACKOFF_SECONDS", FAST_BACKOFF)
    return FAST_BACKOFF


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        yield session
