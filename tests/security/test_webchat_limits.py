"""Web chat limits a new identity cannot escape (SPEC §10): a `hello` without a token
mints a visitor for free, so messages, new chats, open sockets and uploads are also
budgeted per client address and in total; behind a trusted proxy the address is the one
X-Forwarded-For names, and from anyone else that header changes nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.models import Message
from hub.web.client_address import budget_key, forwarded_client
from hub.web.keys import WEBCHAT_LIMITS
from hub.web.webchat.limits import SlidingWindow, UploadQuota, WebchatLimits
from hub.web.webchat.socket import CLOSE_RATE_LIMITED
from tests.conftest import make_settings
from tests.factories import count
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.attachments import PNG
from tests.support.webchat import open_chat, receive, stored_files, upload

LIMIT = 256 * 1024


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {
        "media_dir": tmp_path / "media",
        "max_attachment_bytes": LIMIT,
        "trusted_proxies": "127.0.0.1",
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits_of(running: RunningHub) -> WebchatLimits:
    return running.runner.app[WEBCHAT_LIMITS]


async def chat_from(
    running: RunningHub, address: str | None, token: str | None = None
) -> aiohttp.ClientWebSocketResponse:
    """A socket whose (trusted) proxy says it comes from `address`; its hello sent."""
    headers = {"X-Forwarded-For": address} if address else {}
    ws = await running.http.ws_connect(f"{running.url}/webchat/ws", headers=headers)
    await ws.send_json({"type": "hello", "visitor_token": token} if token else {"type": "hello"})
    return ws


async def refused(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The rate_limited frame, then the close with 4429."""
    error = await receive(ws, "error")
    assert error["code"] == "rate_limited" and error["retry_after"] >= 1, error
    closing = await ws.receive(timeout=10)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == CLOSE_RATE_LIMITED
    return error


async def test_new_visitors_from_one_address_share_its_message_budget(hub: RunningHub) -> None:
    """Before: 25 fresh visitors from one address sent 500 messages in 5 s."""
    per_address = limits_of(hub).messages.per_address.limit
    sockets = [(await open_chat(hub))[0] for _ in range(25)]
    for n, ws in enumerate(sockets):
        for m in range(3):  # well inside each visitor's own budget
            await ws.send_json({"type": "message", "text": f"{n}/{m}", "client_id": f"c{m}"})
    outcomes: list[str] = []
    for ws in sockets:
        for _ in range(3):
            frame = await ws.receive_json(timeout=10)
            while frame["type"] not in ("ack", "error"):
                frame = await ws.receive_json(timeout=10)
            outcomes.append(frame["type"] if frame["type"] == "ack" else frame["code"])
    assert outcomes.count("ack") == per_address < 75
    assert outcomes.count("rate_limited") == 75 - per_address
    assert await count(hub.hub, Message) == per_address
    for ws in sockets:
        await ws.close()


async def test_the_total_message_budget_holds_across_addresses_and_frees_up(
    hub: RunningHub,
) -> None:
    limits, clock = limits_of(hub), Clock()
    limits.messages.clock = clock
    limits.messages.in_total = SlidingWindow(4, 10.0)
    sockets = [await chat_from(hub, f"203.0.113.{n}") for n in range(1, 6)]
    for ws in sockets:
        await receive(ws, "welcome")
    for n, ws in enumerate(sockets[:4]):
        await ws.send_json({"type": "message", "text": f"from {n}", "client_id": "a"})
        await receive(ws, "ack")
    await sockets[4].send_json({"type": "message", "text": "fifth", "client_id": "a"})
    assert (await receive(sockets[4], "error"))["code"] == "rate_limited"
    clock.now += 10.0  # the window slid: the same message now goes through
    await sockets[4].send_json({"type": "message", "text": "fifth", "client_id": "a"})
    await receive(sockets[4], "ack")
    assert await count(hub.hub, Message) == 5
    for ws in sockets:
        await ws.close()


async def test_new_chats_per_address_are_limited_but_returning_visitors_get_in(
    hub: RunningHub,
) -> None:
    per_address = limits_of(hub).new_visitors.per_address.limit
    token = ""
    for _ in range(per_address):
        ws = await chat_from(hub, "198.51.100.7")
        token = (await receive(ws, "welcome"))["visitor_token"]
        await ws.close()
    await refused(await chat_from(hub, "198.51.100.7"))
    ws = await chat_from(hub, "198.51.100.7", token)  # a valid token is not a new chat
    await receive(ws, "welcome")
    await ws.close()
    ws = await chat_from(hub, "198.51.100.8")  # another client behind the same proxy
    await receive(ws, "welcome")
    await ws.close()


async def test_a_forged_forwarded_for_from_an_untrusted_peer_changes_nothing(
    settings_overrides: dict[str, Any], backend_urls: dict[str, Any]
) -> None:
    settings = make_settings(
        **backend_urls, **{**settings_overrides, "trusted_proxies": ""}, port=0
    )
    running = await start_hub(settings)
    try:
        limits = limits_of(running)
        limits.new_visitors.per_address = SlidingWindow(3, 600.0)
        for n in range(3):
            ws = await chat_from(running, f"192.0.2.{n}")
            await receive(ws, "welcome")
            await ws.close()
        await refused(await chat_from(running, "192.0.2.99"))
    finally:
        await stop_hub(running)


def test_the_client_is_read_from_the_right_of_the_forwarded_chain() -> None:
    proxies = make_settings(trusted_proxies="10.0.0.0/8, 127.0.0.1").trusted_proxy_networks
    assert forwarded_client("127.0.0.1", ["6.6.6.6, 203.0.113.5"], proxies) == "203.0.113.5"
    assert forwarded_client("127.0.0.1", ["203.0.113.5, 10.1.2.3"], proxies) == "203.0.113.5"
    assert forwarded_client("192.0.2.1", ["203.0.113.5"], proxies) == "192.0.2.1"
    assert forwarded_client("127.0.0.1", [], proxies) == "127.0.0.1"
    assert forwarded_client("127.0.0.1", ["not-an-ip"], proxies) == "127.0.0.1"


async def test_ipv6_clients_of_one_64_share_a_budget(hub: RunningHub) -> None:
    limits_of(hub).new_visitors.per_address = SlidingWindow(2, 600.0)
    for suffix in ("1", "2"):
        ws = await chat_from(hub, f"2001:db8:1:2::{suffix}")
        await receive(ws, "welcome")
        await ws.close()
    await refused(await chat_from(hub, "2001:db8:1:2:ffff::3"))  # same /64: no fresh budget
    ws = await chat_from(hub, "2001:db8:1:3::1")  # another /64
    await receive(ws, "welcome")
    await ws.close()
    assert budget_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert budget_key("::1") == "::1" and budget_key("192.0.2.1") == "192.0.2.1"


async def test_open_sockets_per_visitor_are_limited(hub: RunningHub) -> None:
    first, welcome = await open_chat(hub)
    token = welcome["visitor_token"]
    per_visitor = limits_of(hub).sockets.per_visitor
    more = [(await open_chat(hub, token))[0] for _ in range(per_visitor - 1)]
    await refused(await chat_from(hub, None, token))
    await first.close()
    visitor_key = f"v:{token.rpartition('.')[0]}"

    async def place_freed() -> bool:
        return limits_of(hub).sockets.counts.get(visitor_key) == per_visitor - 1

    await eventually(place_freed, what="the closed socket's place free again")
    again, _ = await open_chat(hub, token)
    for ws in (*more, again):
        await ws.close()


async def test_open_sockets_per_address_are_limited_before_any_hello(hub: RunningHub) -> None:
    limits_of(hub).sockets.per_address = 3
    headers = {"X-Forwarded-For": "198.51.100.20"}
    silent = [await hub.http.ws_connect(f"{hub.url}/webchat/ws", headers=headers) for _ in range(3)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused_upgrade:
        await hub.http.ws_connect(f"{hub.url}/webchat/ws", headers=headers)
    assert refused_upgrade.value.status == 429
    other = await chat_from(hub, "198.51.100.21")  # another client is not affected
    await receive(other, "welcome")
    await silent[0].close()

    async def place_freed() -> bool:
        return limits_of(hub).sockets.counts.get("a:198.51.100.20") == 2

    await eventually(place_freed, what="the closed socket's place free again")
    again = await chat_from(hub, "198.51.100.20")
    await receive(again, "welcome")
    for ws in (*silent[1:], other, again):
        await ws.close()


async def test_uploads_from_one_address_stay_within_its_storage_quota(hub: RunningHub) -> None:
    """Before: 10 visitors put 200 MB of uploads on disk in 3.3 s."""
    quota_files = 4  # hub.web.webchat.limits.upload_quota: four files of the largest size
    statuses = []
    for n in range(quota_files + 1):
        _, welcome = await open_chat(hub)  # a new identity for every file
        body = PNG + bytes([n]) * (LIMIT - len(PNG) - 1024)
        status, answer, headers = await upload(hub, welcome["visitor_token"], body, "big.png")
        statuses.append((status, answer.get("error", {}).get("code")))
    assert statuses[:quota_files] == [(201, None)] * quota_files
    assert statuses[quota_files] == (429, "quota_exceeded")
    assert int(headers["Retry-After"]) > 0
    assert len(stored_files(hub)) == quota_files


async def test_uploads_per_address_are_limited_whatever_the_visitor(hub: RunningHub) -> None:
    per_address = limits_of(hub).uploads.per_address.limit
    per_visitor = limits_of(hub).uploads.per_visitor.limit
    tokens = [(await open_chat(hub))[1]["visitor_token"] for _ in range(3)]
    codes = []
    for n in range(per_address + 1):
        token = tokens[n // per_visitor]
        status, _, _ = await upload(hub, token, PNG + n.to_bytes(2, "big"), "a.png")
        codes.append(status)
    assert codes == [201] * per_address + [429]


async def test_an_upload_streams_to_disk_instead_of_memory(hub: RunningHub) -> None:
    """The first part of a file is on disk while the rest is still on its way."""
    _, welcome = await open_chat(hub)
    boundary = "limits-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="visitor_token"\r\n\r\n'
        f"{welcome['visitor_token']}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="slow.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    first, rest = PNG + b"a" * 100_000, b"b" * 10_000
    incoming = hub.settings.media_dir / ".incoming"

    def partial_size() -> int:
        parts = list(incoming.glob(".part-*")) if incoming.exists() else []
        return sum(p.stat().st_size for p in parts)

    async def on_disk() -> bool:
        return partial_size() > 0

    tail = rest + f"\r\n--{boundary}--\r\n".encode()
    body = head + first + rest + tail
    host, port = hub.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /webchat/upload HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + head
        + first
        + rest  # more than one read: the reader holds one back, to find a split boundary
    )
    await writer.drain()
    await eventually(on_disk, what="the first bytes on disk while the rest is on its way")
    writer.write(tail)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    stored = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert stored["size"] == len(first) + 2 * len(rest)
    assert partial_size() == 0  # the temporary file became the stored one


async def test_a_chunked_upload_over_the_limit_leaves_nothing_on_disk(hub: RunningHub) -> None:
    _, welcome = await open_chat(hub)
    token = welcome["visitor_token"]

    async def body() -> AsyncIterator[bytes]:
        yield (
            '--b\r\nContent-Disposition: form-data; name="visitor_token"\r\n\r\n'
            f"{token}\r\n--b\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
        ).encode() + PNG
        for _ in range(LIMIT // 8192 + 2):
            yield b"x" * 8192
        yield b"\r\n--b--\r\n"

    async with hub.http.post(
        f"{hub.url}/webchat/upload",
        data=body(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ) as answer:
        assert answer.status == 413
    assert stored_files(hub) == []


async def test_new_chats_in_total_are_limited_across_addresses(hub: RunningHub) -> None:
    limits_of(hub).new_visitors.in_total = SlidingWindow(2, 600.0)
    for n in range(2):
        ws = await chat_from(hub, f"192.0.2.{10 + n}")
        await receive(ws, "welcome")
        await ws.close()
    await refused(await chat_from(hub, "192.0.2.12"))


async def test_the_total_upload_quota_holds_across_addresses_and_frees_up(
    hub: RunningHub,
) -> None:
    clock = Clock()
    limits_of(hub).quota = UploadQuota(10 * LIMIT, 2 * LIMIT, 1200.0, clock)
    tokens = []
    for n in range(3):
        ws = await chat_from(hub, f"203.0.113.{20 + n}")
        tokens.append((f"203.0.113.{20 + n}", (await receive(ws, "welcome"))["visitor_token"]))
        await ws.close()

    async def send(n: int) -> int:
        address, token = tokens[n]
        body = PNG + bytes([n]) * (LIMIT * 9 // 10)
        headers = {"X-Forwarded-For": address}
        return (await upload(hub, token, body, "a.png", headers=headers))[0]

    assert [await send(0), await send(1), await send(2)] == [201, 201, 429]
    clock.now += 1200.0  # the counted uploads' ids have expired
    assert await send(2) == 201


async def test_an_upload_cut_off_midway_leaves_nothing_and_frees_its_quota(
    hub: RunningHub,
) -> None:
    _, welcome = await open_chat(hub)
    head = (
        '--b\r\nContent-Disposition: form-data; name="visitor_token"\r\n\r\n'
        f"{welcome['visitor_token']}\r\n--b\r\n"
        'Content-Disposition: form-data; name="file"; filename="cut.png"\r\n\r\n'
    ).encode() + PNG
    host, port = hub.url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /webchat/upload HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {len(head) + 200_000}\r\n\r\n".encode()
        + head
        + b"x" * 150_000
    )
    await writer.drain()
    incoming = hub.settings.media_dir / ".incoming"

    async def receiving() -> bool:
        return incoming.exists() and any(incoming.iterdir())

    await eventually(receiving, what="the upload being received")
    writer.close()
    await writer.wait_closed()

    async def cleaned_up() -> bool:
        quota = limits_of(hub).quota
        return stored_files(hub) == [] and quota is not None and not quota.entries

    await eventually(cleaned_up, what="the partial file removed and its quota released")
