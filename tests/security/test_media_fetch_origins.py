"""Server-side request forgery through media URLs (SPEC §10): a signed Twilio webhook
names its `MediaUrlN`, but the hub fetches only from Twilio's own media origins, refuses
addresses that are not public, and follows no redirect off those origins. A refused
file leaves the message stored and the file marked unavailable (SPEC §4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.media_origins import (
    MediaOrigins,
    PublicOnlyResolver,
    RefusedAddress,
    guarded_session,
    refused,
)
from hub.models import Attachment
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilioAPI
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.attachments import PNG, inbound, photo_update, settled
from tests.support.twilio import post_form, twilio_settings, whatsapp


@pytest.fixture
async def twilio_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI, tmp_path: Path
) -> AsyncIterator[RunningHub]:
    settings = twilio_settings(backend_urls, fake_twilio.base_url, media_dir=tmp_path / "media")
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def send_media(running: RunningHub, phone: str, url: str) -> Attachment:
    """A signed WhatsApp message carrying `url`; its file once the fetch is settled."""
    fields = whatsapp(phone, "see the picture")
    fields |= {"NumMedia": "1", "MediaUrl0": url, "MediaContentType0": "text/plain"}
    assert (await post_form(running, "/webhooks/twilio/messages", fields))[0] == 200
    [file] = await eventually(lambda: settled(running), what="the fetch settled")
    message = await inbound(running, "whatsapp")
    assert message is not None and message.text == "see the picture"  # the message is kept
    return file


@pytest.mark.parametrize(
    "where",
    [
        "{hub}/metrics",  # the hub's own metrics, on loopback
        "http://127.0.0.1:9/2010-04-01/Accounts/{sid}/Messages/MM1/Media/ME1",
        "http://localhost:{port}/2010-04-01/Accounts/{sid}/Messages/MM1/Media/ME1",
        "{twilio}/2010-04-01/Accounts/AC{other}/Messages/MM1/Media/ME1",  # another account
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_a_media_url_off_twilio_is_refused_and_the_message_kept(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI, where: str
) -> None:
    """Before: a signed MediaUrl at the hub's /metrics was fetched and stored."""
    url = where.format(
        hub=twilio_hub.url,
        sid=ACCOUNT_SID,
        port=fake_twilio.base_url.rsplit(":", 1)[1],
        twilio=fake_twilio.base_url,
        other="2" * 32,
    )
    file = await send_media(twilio_hub, "+4915112340001", url)
    assert file.status == "unavailable" and file.storage_key is None
    assert "not this account's on Twilio" in (file.error or ""), file.error
    assert fake_twilio.media_requests == []


@pytest.mark.parametrize("target", ["{hub}/metrics", "http://169.254.169.254/latest/"])
async def test_a_redirect_off_twilio_media_hosts_is_not_followed(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI, target: str
) -> None:
    """Before: Twilio's redirect was followed anywhere, the hub's /metrics included."""
    url = fake_twilio.add_redirect(target.format(hub=twilio_hub.url))
    file = await send_media(twilio_hub, "+4915112340002", url)
    assert file.status == "unavailable" and file.storage_key is None
    assert "not at the provider's media origins" in (file.error or ""), file.error
    assert [ok for _, ok in fake_twilio.media_requests] == [True]


async def test_twilio_media_still_arrives_from_its_own_origin(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    file = await send_media(twilio_hub, "+4915112340003", fake_twilio.add_media(PNG, "image/png"))
    assert (file.status, file.size) == ("stored", len(PNG))


def test_only_the_providers_media_origins_are_allowed() -> None:
    twilio = MediaOrigins.for_api("https://api.twilio.com", https_suffixes=(".twiliocdn.com",))
    assert twilio.allows("https://api.twilio.com/2010-04-01/Accounts/AC1/Media/ME1")
    assert twilio.allows("https://mms.twiliocdn.com/AC1/abc")
    for url in (
        "http://mms.twiliocdn.com/AC1/abc",  # not https
        "https://mms.twiliocdn.com:8443/x",
        "https://twiliocdn.com.evil.example/x",
        "https://api.twilio.com@evil.example/x",
        "https://api.twilio.com:444/x",
        "https://10.0.0.1/x",
        "https://[::1]/x",
        "gopher://api.twilio.com/x",
    ):
        assert not twilio.allows(url), url
    fake = MediaOrigins.for_api("http://127.0.0.1:8081")
    assert fake.allows("http://127.0.0.1:8081/file/bot1/a.jpg")
    assert not fake.allows("http://127.0.0.1:8082/file/bot1/a.jpg")
    assert not fake.allows("https://127.0.0.1:8081/file/bot1/a.jpg")


async def test_names_that_resolve_to_private_addresses_are_refused() -> None:
    with pytest.raises(RefusedAddress):
        await PublicOnlyResolver(None).resolve("localhost", 80)
    with pytest.raises(RefusedAddress):
        await PublicOnlyResolver(("localhost", 8081)).resolve("localhost", 8082)
    assert await PublicOnlyResolver(("localhost", 8081)).resolve("localhost", 8081)


async def test_a_guarded_session_does_not_connect_to_a_loopback_name(hub: RunningHub) -> None:
    """At connection time: a name that resolves to loopback is refused, except the exact
    origin of the provider's API URL (the tests' fake)."""
    port = int(hub.url.rsplit(":", 1)[1])
    api_elsewhere = MediaOrigins.for_api("http://localhost:1")
    timeout = aiohttp.ClientTimeout(total=10)
    async with guarded_session(api_elsewhere, timeout) as session:
        with pytest.raises(aiohttp.ClientError) as caught:
            await session.get(f"http://localhost:{port}/metrics")
        assert refused(caught.value)
    async with guarded_session(MediaOrigins.for_api(f"http://localhost:{port}"), timeout) as ok:
        async with ok.get(f"http://localhost:{port}/healthz") as answer:
            assert answer.status in (200, 503)


async def test_a_telegram_file_download_is_not_redirected_elsewhere(
    hub: RunningHub, fake_telegram: FakeTelegramAPI, fake_twilio: FakeTwilioAPI
) -> None:
    """The Bot API file URL is the only place a Telegram file comes from: a redirect from
    it (here to another local server) is not followed."""
    elsewhere = fake_twilio.add_media(PNG, "image/png")
    fake_telegram.download_redirect = elsewhere
    assert await hub.post_telegram(photo_update(fake_telegram, "look")) == 200
    [photo] = await eventually(lambda: settled(hub), what="the fetch settled")
    assert photo.status == "unavailable" and photo.storage_key is None, photo
    assert fake_twilio.media_requests == []
    message = await inbound(hub, "telegram")
    assert message is not None and message.text == "look"
