"""Outgoing webhooks never reach private addresses (SSRF): the URL's form when saved, the
address every name resolves to when connecting, and an IP literal before sending."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import ResolveResult
from sqlalchemy import select

from hub.domain.webhook_targets import check_target_url
from hub.errors import InvalidInput
from hub.models import WebhookDelivery, WebhookSubscription
from hub.queue.webhook_http import PublicOnlyResolver, RefusedAddress, WebhookSender
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.support import RunningHub, eventually
from tests.support.api import customer_writes


class FakeDNS:
    """Answers each name with the addresses the test gives it."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=0)
            for ip in self.answers[host]
        ]

    async def close(self) -> None:
        return None


def resolver(answers: dict[str, list[str]], allow_loopback: bool = False) -> PublicOnlyResolver:
    guarded = PublicOnlyResolver(allow_loopback)
    guarded._inner = FakeDNS(answers)  # type: ignore[assignment]
    return guarded


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.8/hook",
        "https://192.168.1.1/hook",
        "https://172.16.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "http://hooks.example.com/hook",
        "http://127.0.0.1:8080/hook",
        "https://user:secret@hooks.example.com/hook",
        "https://hooks.example.com:99999/hook",
        "javascript:alert(1)",
        "https://hooks.example.com/a b",
        "",
    ],
)
def test_a_url_that_is_not_public_https_is_refused_when_saved(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_target_url(url, allow_loopback=False)


def test_public_https_is_accepted_and_loopback_only_when_allowed() -> None:
    assert check_target_url(" https://hooks.example.com/in?x=1 ", allow_loopback=False) == (
        "https://hooks.example.com/in?x=1"
    )
    assert check_target_url("https://93.184.216.34/in", allow_loopback=False)
    assert check_target_url("http://127.0.0.1:8080/hook", allow_loopback=True)
    assert check_target_url("http://localhost:8080/hook", allow_loopback=True)
    with pytest.raises(InvalidInput):  # the dev setting opens loopback, not the LAN
        check_target_url("http://10.0.0.8/hook", allow_loopback=True)
    with pytest.raises(InvalidInput):
        check_target_url("http://hooks.example.com/hook", allow_loopback=True)


async def test_a_name_resolving_to_a_private_address_is_refused_at_connect() -> None:
    answers = {
        "public.example.com": ["93.184.216.34"],
        "intranet.example.com": ["10.1.2.3"],
        "mixed.example.com": ["93.184.216.34", "127.0.0.1"],
        "mapped.example.com": ["::ffff:192.168.0.1"],
        "metadata.example.com": ["169.254.169.254"],
    }
    found = await resolver(answers).resolve("public.example.com", 443)
    assert [r["host"] for r in found] == ["93.184.216.34"]
    for name in ("intranet.example.com", "mixed.example.com", "mapped.example.com"):
        with pytest.raises(RefusedAddress):
            await resolver(answers).resolve(name, 443)
    with pytest.raises(RefusedAddress):  # loopback allowed does not open link-local
        await resolver(answers, allow_loopback=True).resolve("metadata.example.com", 443)
    assert await resolver({"dev.test": ["127.0.0.1"]}, allow_loopback=True).resolve("dev.test")


async def test_the_sender_never_connects_to_a_name_that_turned_private() -> None:
    """Saved while public, the name now points at this machine: nothing reaches it, and
    the try is final (refused), not retried."""
    async with WebhookReceiver() as receiver:
        port = receiver.base_url.rsplit(":", 1)[1]
        sender = WebhookSender(timeout=2.0, allow_loopback=False)
        session = sender._client()
        session.connector._resolver = resolver({"hooks.shop.example": ["127.0.0.1"]})  # type: ignore[union-attr]
        try:
            result = await sender.post(
                f"https://hooks.shop.example:{port}/hook", "whsec_x", "message.created", "k", b"{}"
            )
        finally:
            await sender.close()
        assert result.status is None and not result.retryable and not result.delivered
        assert result.error is not None and "refused" in result.error
        assert receiver.received == []


async def test_a_stored_loopback_target_is_refused_at_send_time(hub: RunningHub) -> None:
    """A URL stored while the dev setting allowed loopback is not posted to once it is off."""
    assert not hub.settings.webhook_allow_loopback
    async with WebhookReceiver() as receiver:
        async with hub.hub.db.session() as session:
            session.add(
                WebhookSubscription(
                    url=receiver.url("/hook"), events="conversation.created", secret="whsec_t"
                )
            )
            await session.commit()
        await customer_writes(hub, 7401, "hello")

        async def failed() -> WebhookDelivery | None:
            async with hub.hub.db.session() as session:
                found = (await session.scalars(select(WebhookDelivery))).first()
            return found if found is not None and found.status == "failed" else None

        delivery = await eventually(failed, what="the delivery refused")
        assert delivery.attempts == 1 and delivery.last_status_code is None
        assert delivery.last_error is not None and "refused" in delivery.last_error
        assert receiver.received == []
