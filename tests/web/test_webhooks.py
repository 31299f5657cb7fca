"""Outgoing webhooks end to end: an admin subscribes a receiver on loopback, customers and
operators do things through the real endpoints, and the receiver gets signed events whose
data is what the REST API answers; failing targets are retried, logged, never followed."""

from __future__ import annotations

import time
import typing
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from hub.domain.events import WEBHOOK_EVENTS
from hub.web.api.webhook_schemas import PAYLOADS, WebhookEventName
from tests.fakes.webhook_receiver import SLOW, Received, WebhookReceiver
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes, make_api


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Loopback targets allowed (the receiver runs here), short waits between tries.
    return {
        "webhook_allow_loopback": True,
        "webhook_retry_seconds": 0.05,
        "webhook_timeout_seconds": 0.5,
        "webhook_max_attempts": 3,
    }


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as fake:
        yield fake


@pytest.fixture
async def admin(hub: RunningHub) -> Api:
    return await make_api(hub, "root@shop.test", "Root", role="admin")


async def subscribe(admin: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body = {"url": url, "events": events or list(WEBHOOK_EVENTS)}
    return dict(await admin.ok("POST", "/webhooks", body, 201))


async def arrived(
    receiver: WebhookReceiver, path: str, event: str, count: int = 1
) -> list[Received]:
    async def probe() -> list[Received] | None:
        found = receiver.events(path, event)
        return found if len(found) >= count else None

    return await eventually(probe, what=f"{count} {event} at {path}")


def check_delivery(received: Received, secret: str) -> dict[str, Any]:
    """Signed with the subscription's secret, headers agree with the body, and the body is
    what the OpenAPI document's schema for that event says."""
    assert received.signed_by(secret, int(time.time()))
    assert not received.signed_by("whsec_someone-else", int(time.time()))
    verify = readme_verify()
    header = received.headers["X-Hub-Signature"]
    assert verify(secret, received.body, header)
    assert not verify(secret, received.body + b" ", header)
    body = received.json
    assert received.headers["X-Hub-Event"] == body["event"]
    assert received.headers["X-Hub-Delivery"] == body["id"]
    assert received.headers["Content-Type"] == "application/json"
    PAYLOADS[body["event"]].model_validate(body)
    assert body["created_at"].endswith("Z")
    return body


def readme_verify() -> Callable[[str, bytes, str], bool]:
    """The receiver's check the README gives, run as written."""
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    section = readme.split("### Outgoing webhooks", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(snippet, scope)
    return typing.cast(Callable[[str, bytes, str], bool], scope["verify"])


def test_event_names_match_the_documented_ones() -> None:
    assert tuple(typing.get_args(WebhookEventName)) == WEBHOOK_EVENTS == tuple(PAYLOADS)


async def test_an_admin_subscribes_and_sees_the_secret_once(
    hub: RunningHub, api: Api, admin: Api, receiver: WebhookReceiver
) -> None:
    created = await subscribe(admin, receiver.url("/hook"), ["message.created"])
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    assert created["events"] == ["message.created"] and created["enabled"] is True
    listed = await admin.get("/webhooks")
    assert [w["id"] for w in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0] and created["secret"] not in str(listed)
    assert listed["items"][0]["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}

    rotated = await admin.ok("POST", f"/webhooks/{created['id']}/rotate-secret", {})
    assert rotated["secret"] != created["secret"]
    assert rotated["secret"] not in str(await admin.get("/webhooks"))
    change = {"url": receiver.url("/other"), "events": ["order.notified"], "enabled": False}
    off = await admin.ok("PUT", f"/webhooks/{created['id']}", change)
    assert (off["url"], off["events"], off["enabled"]) == (change["url"], ["order.notified"], False)
    assert "secret" not in off
    bad = {**change, "url": "https://192.168.1.10/hook"}
    assert (await admin.call("PUT", f"/webhooks/{created['id']}", bad))[0] == 422

    # Agents may not see or change where the shop's conversations go.
    for method, path, body in (
        ("GET", "/webhooks", None),
        ("POST", f"/webhooks/{created['id']}/rotate-secret", {}),
        ("DELETE", f"/webhooks/{created['id']}", None),
    ):
        status, error, _ = await api.call(method, path, body)
        assert status == 403 and error["error"]["code"] == "forbidden"
    status, _, _ = await api.call("POST", "/webhooks", {"url": receiver.url("/x"), "events": []})
    assert status in (403, 422)

    for bad in (
        {"url": "ftp://hooks.example.com/x", "events": ["message.created"]},
        {"url": "http://hooks.example.com/x", "events": ["message.created"]},  # not https
        {"url": "https://10.1.2.3/x", "events": ["message.created"]},
        {"url": "https://169.254.169.254/latest", "events": ["message.created"]},
        {"url": "https://user:pw@hooks.example.com/x", "events": ["message.created"]},
        {"url": "https://hooks.example.com/x", "events": ["message.sent"]},
        {"url": "https://hooks.example.com/x", "events": []},
        {"url": "https://hooks.example.com/x"},
        {"url": "not a url", "events": ["message.created"]},
    ):
        status, error, _ = await admin.call("POST", "/webhooks", bad)
        assert status in (400, 422), (bad, status, error)

    deleted = await admin.ok("DELETE", f"/webhooks/{created['id']}")
    assert deleted["id"] == created["id"]
    assert (await admin.get("/webhooks"))["items"] == []
    assert (await admin.call("DELETE", f"/webhooks/{created['id']}"))[0] == 404
    assert (await admin.call("GET", "/webhooks/999/attempts"))[0] == 404


async def test_a_team_tool_hears_messages_replies_resolves_merges_and_order_notices(
    hub: RunningHub, api: Api, admin: Api, receiver: WebhookReceiver
) -> None:
    hook = await subscribe(admin, receiver.url("/hook"))
    secret = hook["secret"]
    only_orders = await subscribe(admin, receiver.url("/orders"), ["order.notified"])

    # A customer writes: the conversation opens, the message is told.
    inbound = await customer_writes(hub, 7101, "where is my parcel?")
    [opened] = await arrived(receiver, "/hook", "conversation.created")
    conversation = check_delivery(opened, secret)["data"]["conversation"]
    assert conversation["id"] == inbound.conversation_id and conversation["bot_active"] is True
    [told] = await arrived(receiver, "/hook", "message.created")
    data = check_delivery(told, secret)["data"]
    messages = await api.get(f"/conversations/{inbound.conversation_id}/messages")
    assert data["message"] == messages["items"][0]  # the REST API's own object
    assert data["message"]["sender_type"] == "customer"
    assert data["conversation"]["customer"]["id"] == inbound.customer_id

    # An operator replies: the reply is told, and the conversation left the bot.
    reply = await api.ok(
        "POST", f"/conversations/{inbound.conversation_id}/messages", {"text": "On its way!"}, 201
    )
    replies = await arrived(receiver, "/hook", "message.created", 2)
    sent = check_delivery(replies[1], secret)["data"]
    assert sent["message"]["id"] == reply["id"] and sent["message"]["sender_type"] == "operator"
    assert sent["message"]["text"] == "On its way!" and sent["conversation"]["bot_active"] is False

    # Resolved: told as such (and as an update), with the conversation as the API shows it.
    await api.ok("POST", f"/conversations/{inbound.conversation_id}/status", {"status": "resolved"})
    [resolved] = await arrived(receiver, "/hook", "conversation.resolved")
    shown = await api.get(f"/conversations/{inbound.conversation_id}")
    assert check_delivery(resolved, secret)["data"]["conversation"] == shown
    assert shown["status"] == "resolved"
    updates = await arrived(receiver, "/hook", "conversation.updated")
    assert all(check_delivery(u, secret) for u in updates)

    # Two customers merged: the survivor, with both identities, and the merged id.
    other = await customer_writes(hub, 7102, "me again, other account")
    await api.ok("POST", f"/customers/{inbound.customer_id}/merge", {"other_id": other.customer_id})
    [merged] = await arrived(receiver, "/hook", "customer.merged")
    data = check_delivery(merged, secret)["data"]
    assert data["merged_customer_id"] == other.customer_id
    assert data["customer"]["id"] == inbound.customer_id
    assert {i["address"] for i in data["customer"]["identities"]} >= {"7101", "7102"}

    # The shop ships an order and the customer is told: both subscriptions hear of it.
    order = {"customer": {"telegram_id": "7101"}, "status": "processing"}
    await api.ok("PUT", "/orders/5501", order, 201)
    await api.ok("PUT", "/orders/5501", {**order, "status": "shipped", "notify": True})
    for path in ("/hook", "/orders"):
        [notice] = await arrived(receiver, path, "order.notified")
        key = secret if path == "/hook" else only_orders["secret"]
        data = check_delivery(notice, key)["data"]
        assert data["order"]["number"] == "5501" and data["order"]["status"] == "shipped"
        assert data["message"]["sender_type"] == "system" and "5501" in data["message"]["text"]
    assert {r.event for r in receiver.on("/orders")} == {"order.notified"}

    # Every delivery has its own id; the log shows each try with its status and time.
    ids = [r.json["id"] for r in receiver.received]
    assert len(ids) == len(set(ids))
    log = await admin.get(f"/webhooks/{hook['id']}/attempts")
    assert log["items"] and all(t["status_code"] == 200 for t in log["items"])
    assert {t["delivery_id"] for t in log["items"]} <= set(ids)


async def test_failing_targets_are_retried_logged_and_never_followed(
    hub: RunningHub, api: Api, admin: Api, receiver: WebhookReceiver
) -> None:
    receiver.answers = {"/flaky": [500, 200], "/slow": [SLOW], "/moved": [302], "/gone": [404]}
    hooks = {
        path: await subscribe(admin, receiver.url(path), ["conversation.created"])
        for path in ("/flaky", "/slow", "/moved", "/gone", "/fine")
    }
    await customer_writes(hub, 7201, "hello")

    async def settled() -> dict[str, Any] | None:
        listed = {w["url"]: w["deliveries"] for w in (await admin.get("/webhooks"))["items"]}
        done = all(d["pending"] == 0 for d in listed.values())
        return listed if done else None

    counts = await eventually(settled, what="every delivery delivered or failed")
    assert counts[receiver.url("/fine")]["delivered"] == 1
    assert counts[receiver.url("/flaky")]["delivered"] == 1
    for path in ("/slow", "/moved", "/gone"):
        assert counts[receiver.url(path)]["failed"] == 1, path
    # Retried up to the limit (3 here) after a 500, a timeout and a redirect; 404 is final.
    assert [len(receiver.on(p)) for p in ("/flaky", "/slow", "/moved", "/gone")] == [2, 3, 3, 1]
    assert receiver.on("/followed") == []  # the redirect was never followed
    # Each retry is the same delivery: same id and body, signed again.
    assert len({r.body for r in receiver.on("/moved")}) == 1

    async def log(path: str) -> list[dict[str, Any]]:
        return list((await admin.get(f"/webhooks/{hooks[path]['id']}/attempts"))["items"])

    flaky = await log("/flaky")
    assert [(t["attempt"], t["status_code"]) for t in flaky] == [(2, 200), (1, 500)]
    slow = await log("/slow")
    assert [t["status_code"] for t in slow] == [None] * 3
    assert all("timed out" in t["error"] and t["duration_ms"] >= 400 for t in slow)
    moved = await log("/moved")
    assert all(t["status_code"] == 302 and "not followed" in t["error"] for t in moved)
    assert [t["status_code"] for t in await log("/gone")] == [404]


async def test_a_conversation_folded_by_a_merge_is_told_resolved_into_the_survivor(
    hub: RunningHub, api: Api, admin: Api, receiver: WebhookReceiver
) -> None:
    hook = await subscribe(admin, receiver.url("/hook"), ["conversation.resolved"])
    older = await customer_writes(hub, 7701, "first account")
    newer = await customer_writes(hub, 7702, "second account")
    await api.ok("POST", f"/customers/{older.customer_id}/merge", {"other_id": newer.customer_id})
    [folded] = await arrived(receiver, "/hook", "conversation.resolved")
    conversation = check_delivery(folded, hook["secret"])["data"]["conversation"]
    assert conversation["id"] == newer.conversation_id and conversation["status"] == "resolved"
    assert conversation["merged_into"] == older.conversation_id


async def test_a_disabled_or_deleted_subscription_hears_nothing(
    hub: RunningHub, admin: Api, receiver: WebhookReceiver
) -> None:
    off = await subscribe(admin, receiver.url("/off"), ["conversation.created"])
    await admin.ok(
        "PUT",
        f"/webhooks/{off['id']}",
        {"url": off["url"], "events": off["events"], "enabled": False},
    )
    gone = await subscribe(admin, receiver.url("/gone"), ["conversation.created"])
    await admin.ok("DELETE", f"/webhooks/{gone['id']}")
    await subscribe(admin, receiver.url("/on"), ["conversation.created"])
    await customer_writes(hub, 7301, "hi")
    await arrived(receiver, "/on", "conversation.created")
    assert receiver.on("/off") == [] and receiver.on("/gone") == []


async def test_openapi_documents_the_webhook_routes_and_payloads(hub: RunningHub, api: Api) -> None:
    _, doc, _ = await api.call("GET", "/openapi.json", token=None)
    assert set(doc["webhooks"]) == set(WEBHOOK_EVENTS)
    schemas = doc["components"]["schemas"]
    for name, model in PAYLOADS.items():
        ref = doc["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]
        assert ref["schema"]["$ref"] == f"#/components/schemas/{model.__name__}"
        assert set(schemas[model.__name__]["required"]) == {"id", "event", "created_at", "data"}
    headers = {p["name"] for p in doc["webhooks"]["message.created"]["post"]["parameters"]}
    assert headers == {"X-Hub-Signature", "X-Hub-Event", "X-Hub-Delivery"}
    assert {"post", "get"} <= set(doc["paths"]["/api/v1/webhooks"])
