"""REST API /api/v1 through real HTTP: customers write on Telegram, operators use the API."""

from __future__ import annotations

import asyncio
import typing
from typing import Any

from hub.domain.types import Channel, ConversationStatus
from hub.web.api import api_routes
from hub.web.api.auth import LoginLimiter
from hub.web.api.schemas import ChannelName, StatusName
from hub.web.keys import LOGIN_LIMITER
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, concrete_path, eventually
from tests.support.api import PASSWORD, Api, customer_writes, make_api
from tests.support.inbox import walk_pages

ROUTES = api_routes(LoginLimiter())


def test_schema_names_match_the_domain() -> None:
    assert set(typing.get_args(ChannelName)) == {c.value for c in Channel}
    assert set(typing.get_args(StatusName)) == {s.value for s in ConversationStatus}


async def test_missing_or_bad_token_is_401(hub: RunningHub, api: Api) -> None:
    for route in ROUTES:
        if not route.auth:
            continue
        path = concrete_path(route.path)
        for token in (None, "hub_not-a-real-token", ""):
            status, data, _ = await api.call(route.method, path, {}, token=token)
            assert status == 401, (route.method, path, token, data)
            assert data["error"]["code"] == "unauthorized"
        basic = {"Authorization": "Basic YW5uYTpwYXNz"}
        status, _, _ = await api.call(route.method, path, {}, token=None, headers=basic)
        assert status == 401


async def test_login_gives_a_token_that_opens_the_api(hub: RunningHub, api: Api) -> None:
    status, data, _ = await api.call(
        "POST", "/auth/login", {"email": "ANNA@shop.test", "password": PASSWORD}, token=None
    )
    assert status == 200 and data["token"].startswith("hub_")
    status, listed, _ = await api.call("GET", "/conversations", token=data["token"])
    assert status == 200 and listed == {"items": [], "next_cursor": None}
    for wrong in (
        {"email": api.email, "password": "nope nope"},
        {"email": "x@y.test", "password": PASSWORD},
    ):
        status, error, _ = await api.call("POST", "/auth/login", wrong, token=None)
        assert status == 401 and error["error"]["code"] == "unauthorized"
        assert PASSWORD not in str(error)


async def test_login_is_rate_limited(hub: RunningHub, api: Api) -> None:
    hub.runner.app[LOGIN_LIMITER].clock = lambda: 1000.0  # frozen: no wait runs out
    wrong = {"email": api.email, "password": "not the password"}
    for _ in range(5):
        assert (await api.call("POST", "/auth/login", wrong, token=None))[0] == 401
    status, data, headers = await api.call("POST", "/auth/login", wrong, token=None)
    assert status == 429 and data["error"]["code"] == "rate_limited"
    assert 0 < int(headers["Retry-After"]) <= 900
    # The right password does not get through while this account waits at this address.
    right = {"email": api.email, "password": PASSWORD}
    assert (await api.call("POST", "/auth/login", right, token=None))[0] == 429
    # Another account from this address has the address's own, larger budget (10).
    other = {"email": "someone@shop.test", "password": "whatever1"}
    assert (await api.call("POST", "/auth/login", other, token=None))[0] == 401
    # Tokens already given keep working.
    assert (await api.call("GET", "/conversations"))[0] == 200


BOT_ROUTES = {
    ("/api/v1/conversations/{id}", "get"),
    ("/api/v1/conversations/{id}/messages", "get"),
    ("/api/v1/conversations/{id}/messages", "post"),
    ("/api/v1/conversations/{id}/handoff", "post"),
}


async def test_openapi_lists_every_route_with_schemas(hub: RunningHub, api: Api) -> None:
    status, doc, _ = await api.call("GET", "/openapi.json", token=None)
    assert status == 200 and doc["openapi"].startswith("3.1")
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    expected = {
        ("POST", "/api/v1/auth/login"),
        ("GET", "/api/v1/conversations"),
        ("GET", "/api/v1/conversations/{id}"),
        ("GET", "/api/v1/conversations/{id}/messages"),
        ("POST", "/api/v1/conversations/{id}/messages"),
        ("POST", "/api/v1/conversations/{id}/assign"),
        ("POST", "/api/v1/conversations/{id}/status"),
        ("POST", "/api/v1/conversations/{id}/labels"),
        ("POST", "/api/v1/conversations/{id}/team"),
        ("POST", "/api/v1/conversations/{id}/priority"),
        ("POST", "/api/v1/conversations/{id}/handoff"),
        ("GET", "/api/v1/customers"),
        ("GET", "/api/v1/customers/{id}"),
        ("POST", "/api/v1/customers/{id}/merge"),
        ("POST", "/api/v1/customers/{id}/identities/{identity_id}/confirm"),
        ("POST", "/api/v1/customers/{id}/suggestions/{suggestion_id}/dismiss"),
        ("PUT", "/api/v1/orders/{number}"),
        ("GET", "/api/v1/orders/{number}"),
        ("GET", "/api/v1/canned-responses"),
        ("POST", "/api/v1/canned-responses"),
        ("GET", "/api/v1/teams"),
        ("GET", "/api/v1/attachments/{id}"),
        ("GET", "/api/v1/macros"),
        ("POST", "/api/v1/conversations/{id}/macros/{macro_id}"),
        ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"),
        ("DELETE", "/api/v1/webhooks/{id}"),
        ("PUT", "/api/v1/webhooks/{id}"),
        ("POST", "/api/v1/webhooks/{id}/rotate-secret"),
        ("GET", "/api/v1/webhooks/{id}/attempts"),
    }
    assert listed == expected == {(r.method, r.full_path) for r in ROUTES}
    schemas = doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in refs(v)]
        return [r for v in node for r in refs(v)] if isinstance(node, list) else []

    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert op["summary"] and op["operationId"]
            success = [s for s in op["responses"] if s.startswith("2")]
            binary = path == "/api/v1/attachments/{id}"  # the file's bytes, not JSON
            assert success and all(
                "$ref" in op["responses"][s]["content"]["application/json"]["schema"]
                if not binary
                else op["responses"][s]["content"]["*/*"]["schema"]["format"] == "binary"
                for s in success
            )
            for status_code, answer in op["responses"].items():
                if status_code.startswith("4"):
                    assert answer["content"]["application/json"]["schema"]["$ref"].endswith(
                        "/Error"
                    )
            if method in ("post", "put"):
                assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"]
            secured = path != "/api/v1/auth/login"
            assert (op["security"][:1] == [{"bearer": []}]) is secured
            # The external bot's token opens only its few routes (tests/bots/test_agent_bot.py).
            assert ({"agentBot": []} in op["security"]) is ((path, method) in BOT_ROUTES)
            assert ("401" in op["responses"]) and ("{id}" not in path or "404" in op["responses"])
    assert set(schemas["ConversationOut"]["required"]) == {
        "id",
        "status",
        "customer",
        "channel",
        "assignee_id",
        "labels",
        "bot_active",
        "merged_into",
        "team_id",
        "priority",
        "last_message_at",
        "created_at",
    }
    assert {"error", "external_id"} <= set(schemas["MessageOut"]["required"])
    assert set(schemas["OrderOut"]["required"]) == {
        "number",
        "status",
        "items",
        "total",
        "currency",
        "tracking_url",
        "pickup_point",
        "customer_id",
        "history",
        "updated_at",
    }
    assert set(schemas["Error"]["properties"]) == {"error"}
    assert "ReplyBody" in schemas and "OrderBody" in schemas and "LoginBody" in schemas
    assert {p["name"] for p in doc["paths"]["/api/v1/conversations"]["get"]["parameters"]} >= {
        "status",
        "channel",
        "assignee",
        "label",
        "q",
        "cursor",
        "limit",
    }


async def test_reply_leaves_on_the_customers_last_channel(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    inbound = await customer_writes(hub, 5001, "my parcel is late")
    path = f"/conversations/{inbound.conversation_id}"
    conversation = await api.get(path)
    assert conversation["channel"] == "telegram" and conversation["bot_active"] is True
    assert conversation["customer"] == {"id": inbound.customer_id, "name": "Ivan Petrov"}

    reply = await api.ok("POST", f"{path}/messages", {"text": "Sorry! Checking now."}, 201)
    assert reply["direction"] == "outbound" and reply["sender_type"] == "operator"
    assert reply["channel"] == "telegram" and reply["private"] is False
    assert reply["status"] == "queued" and reply["error"] is None
    assert reply["conversation_id"] == inbound.conversation_id
    assert reply["created_at"].endswith(("Z", "+00:00"))
    await fake_telegram.wait_for_sent(
        lambda s: s.chat_id == 5001 and s.text == "Sorry! Checking now."
    )

    async def sent() -> dict[str, Any] | None:
        items = (await api.get(f"{path}/messages"))["items"]
        mine = [m for m in items if m["id"] == reply["id"]]
        return mine[0] if mine and mine[0]["status"] == "sent" else None

    assert (await eventually(sent, what="reply sent"))["external_id"]
    assert (await api.get(path))["bot_active"] is False  # the operator took over

    note = await api.ok("POST", f"{path}/messages", {"text": "VIP, be nice", "private": True}, 201)
    assert note["private"] is True and note["status"] == "received"
    listed = (await api.get(f"{path}/messages"))["items"]
    assert [m["text"] for m in listed if m["direction"] == "inbound"] == ["my parcel is late"]
    assert listed[-1]["id"] == note["id"]
    assert all(s.text != "VIP, be nice" for s in fake_telegram.sent)

    status, error, _ = await api.call("POST", f"{path}/messages", {"text": "hi", "channel": "sms"})
    assert status == 422 and "sms" in error["error"]["message"]


async def test_unknown_ids_in_any_form_are_404(hub: RunningHub, api: Api) -> None:
    inbound = await customer_writes(hub, 5002, "hello there")
    real = inbound.conversation_id
    assert (await api.call("GET", f"/conversations/{real}"))[0] == 200
    forms = [
        "abc",
        "99999999999999999999",
        "-1",
        "0",
        f"0{real}",
        "1.0",
        "%20",
        "2147483648",
        "1e3",
    ]
    for form in forms:
        for method, path, body in (
            ("GET", f"/conversations/{form}", None),
            ("GET", f"/conversations/{form}/messages", None),
            ("POST", f"/conversations/{form}/messages", {"text": "x"}),
            ("POST", f"/conversations/{form}/assign", {"operator_id": None}),
            ("POST", f"/conversations/{form}/status", {"status": "resolved"}),
            ("POST", f"/conversations/{form}/labels", {"labels": []}),
            ("GET", f"/customers/{form}", None),
            ("POST", f"/customers/{form}/merge", {"other_id": inbound.customer_id}),
        ):
            status, data, _ = await api.call(method, path, body)
            assert status == 404, (method, path, status, data)
            assert data["error"]["code"] == "not_found"
    for path in ("/conversations/2147483647", "/customers/2147483647", "/orders/NOPE-1"):
        assert (await api.call("GET", path))[0] == 404
    status, _, _ = await api.call("GET", "/orders/" + "9" * 65)
    assert status == 404
    status, _, _ = await api.call("POST", "/conversations/abc/messages", {"no": "text"})
    assert status == 404
    status, data, _ = await api.call(
        "POST", f"/customers/{inbound.customer_id}/merge", {"other_id": 2147483647}
    )
    assert status == 404


async def test_bad_bodies_and_queries_are_400_or_422_never_500(hub: RunningHub, api: Api) -> None:
    inbound = await customer_writes(hub, 5003, "question")
    path = f"/conversations/{inbound.conversation_id}"
    for raw in (b"", b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"[" * 5000):
        status, data, _ = await api.call("POST", f"{path}/messages", raw=raw)
        assert status == 400, (raw[:10], data)
    bad = [
        (f"{path}/messages", {}),
        (f"{path}/messages", {"text": ""}),
        (f"{path}/messages", {"text": 5}),
        (f"{path}/messages", {"text": "x", "channel": "pigeon"}),
        (f"{path}/messages", {"text": "x", "private": "yes"}),
        (f"{path}/assign", {}),
        (f"{path}/assign", {"operator_id": "me"}),
        (f"{path}/assign", {"operator_id": 999_999}),
        (f"{path}/assign", {"operator_id": 2**40}),
        (f"/customers/{inbound.customer_id}/merge", {"other_id": 2**40}),
        (f"{path}/status", {"status": "closed"}),
        (f"{path}/status", {"status": "snoozed"}),
        (f"{path}/status", {"status": "snoozed", "snooze_until": "2030-01-01T10:00:00"}),
        (f"{path}/status", {"status": "snoozed", "snooze_until": "tomorrow"}),
        (f"{path}/labels", {"labels": "vip"}),
        (f"{path}/labels", {"labels": ["x" * 65]}),
        (f"/customers/{inbound.customer_id}/merge", {"other_id": inbound.customer_id}),
    ]
    admin = await make_api(hub, "boss@shop.test", "Boss", role="admin")
    for caller, url, body in [
        *((api, url, body) for url, body in bad),
        (admin, "/canned-responses", {"shortcut": "two words", "text": "x"}),
    ]:
        status, data, _ = await caller.call("POST", url, body)
        assert status == 422, (url, body, status, data)
        assert set(data["error"]) == {"code", "message"}
    for query in (
        "cursor=@@@",
        "cursor=WzFd",
        "cursor=eyJ4IjoxfQ",
        "limit=0",
        "limit=201",
        "limit=x",
        "assignee=99999999999",
        "status=closed",
        "channel=fax",
        "assignee=everyone",
    ):
        status, data, _ = await api.call("GET", f"/conversations?{query}")
        assert status == 422, (query, data)
    assert (await api.call("GET", f"{path}/messages?cursor=WyJ4Il0"))[0] == 422
    assert (await api.call("GET", "/customers?cursor=bm9wZQ"))[0] == 422
    status, _, _ = await api.call("DELETE", path)
    assert status == 405
    status, data, _ = await api.call("GET", "/no-such-route")
    assert status == 404 and "error" in data


async def test_conversations_list_newest_first_with_filters_and_pages(
    hub: RunningHub, api: Api
) -> None:
    first = await customer_writes(hub, 5101, "first one", first_name="Olga", last_name="Sidorova")
    second = await customer_writes(hub, 5102, "need a refund for 1042", first_name="Petr")
    third = await customer_writes(hub, 5103, "third", first_name="Maria", last_name="Ivanova")
    ids = [third.conversation_id, second.conversation_id, first.conversation_id]
    everything = await api.get("/conversations")
    assert [c["id"] for c in everything["items"]] == ids and everything["next_cursor"] is None
    pages = await walk_pages(api, "/conversations", 2)
    assert [[c["id"] for c in page] for page in pages] == [ids[:2], ids[2:]]

    colleague = await make_api(hub, "boris@shop.test", "Boris")
    await api.ok(
        "POST", f"/conversations/{first.conversation_id}/assign", {"operator_id": api.operator_id}
    )
    await api.ok(
        "POST",
        f"/conversations/{second.conversation_id}/assign",
        {"operator_id": colleague.operator_id},
    )
    labelled = await api.ok(
        "POST",
        f"/conversations/{second.conversation_id}/labels",
        {"labels": ["refund", "vip", " vip "]},
    )
    assert labelled["labels"] == ["refund", "vip"]
    resolved = await api.ok(
        "POST", f"/conversations/{third.conversation_id}/status", {"status": "resolved"}
    )
    assert resolved["status"] == "resolved" and resolved["bot_active"] is True

    async def listed(query: str) -> list[int]:
        return [c["id"] for c in (await api.get(f"/conversations?{query}"))["items"]]

    assert await listed("assignee=me") == [first.conversation_id]
    assert await colleague.get("/conversations?assignee=me") == {
        "items": [await api.get(f"/conversations/{second.conversation_id}")],
        "next_cursor": None,
    }
    assert await listed(f"assignee={colleague.operator_id}") == [second.conversation_id]
    assert await listed("assignee=none") == [third.conversation_id]
    assert await listed("label=vip") == [second.conversation_id]
    assert await listed("status=resolved") == [third.conversation_id]
    assert await listed("status=open") == [second.conversation_id, first.conversation_id]
    assert await listed("channel=telegram") == ids
    assert await listed("channel=sms") == []
    assert await listed("q=REFUND") == [second.conversation_id]
    assert await listed("q=sidorova") == [first.conversation_id]
    assert await listed("q=100%25") == []
    assert await listed("status=open&assignee=me&label=vip") == []

    snoozed = await api.ok(
        "POST",
        f"/conversations/{first.conversation_id}/status",
        {"status": "snoozed", "snooze_until": "2030-01-01T10:00:00+03:00"},
    )
    assert snoozed["status"] == "snoozed"
    assert await listed("status=snoozed") == [first.conversation_id]
    unassigned = await api.ok(
        "POST", f"/conversations/{first.conversation_id}/assign", {"operator_id": None}
    )
    assert unassigned["assignee_id"] is None


async def test_messages_page_forward_in_time(hub: RunningHub, api: Api) -> None:
    texts = [f"message number {i}" for i in range(5)]
    for text in texts:
        inbound = await customer_writes(hub, 5201, text)
    path = f"/conversations/{inbound.conversation_id}/messages"
    everything = (await api.get(f"{path}?limit=200"))["items"]
    assert [m["id"] for m in everything] == sorted(m["id"] for m in everything)
    assert [m["text"] for m in everything if m["direction"] == "inbound"] == texts
    pages = await walk_pages(api, path, 2)
    assert all(len(page) == 2 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 2
    assert [m for page in pages for m in page] == everything
    first = everything[0]
    assert set(first) == {
        "id",
        "conversation_id",
        "direction",
        "sender_type",
        "channel",
        "text",
        "private",
        "status",
        "error",
        "external_id",
        "created_at",
        "note_kind",  # a logged phone call or in-store visit; null otherwise
        "attachments",  # [] when none came or went with it
    }
    assert first["sender_type"] == "customer" and first["status"] == "received"
    assert first["external_id"]


async def test_order_put_creates_then_updates_with_history(hub: RunningHub, api: Api) -> None:
    inbound = await customer_writes(hub, 5301, "where is my order?")
    order = {
        "customer": {"name": "Ivan", "telegram_id": 5301, "phone": "+7 916 123-45-67"},
        "status": "created",
        "items": [{"sku": "TEA-1", "name": "Green tea", "qty": 2, "price": 4.1}],
        "total": "8.20",
        "currency": "eur",
    }
    created = await api.ok("PUT", "/orders/1042", order, 201)
    assert created["number"] == "1042" and created["status"] == "created"
    assert created["total"] == "8.20" and created["currency"] == "EUR"
    assert created["items"] == [{"sku": "TEA-1", "name": "Green tea", "qty": 2, "price": "4.1"}]
    assert created["customer_id"] == inbound.customer_id  # linked by the Telegram id
    assert [h["status"] for h in created["history"]] == ["created"]

    shipped = {
        **order,
        "status": "shipped",
        "tracking_url": "https://track.test/1042",
        "notify": True,
    }
    updated = await api.ok("PUT", "/orders/1042", shipped, 200)
    same_again = await api.ok("PUT", "/orders/1042", shipped, 200)
    assert updated["tracking_url"] == "https://track.test/1042"
    assert [h["status"] for h in same_again["history"]] == ["created", "shipped"]
    fetched = await api.get("/orders/1042")
    assert fetched["history"] == same_again["history"]
    assert fetched["history"][0]["at"] <= fetched["history"][1]["at"]

    card = await api.get(f"/customers/{inbound.customer_id}")
    assert [o["number"] for o in card["orders"]] == ["1042"]
    assert {(i["channel"], i["address"]) for i in card["identities"]} == {
        ("telegram", "5301"),
        ("sms", "+79161234567"),
        ("whatsapp", "+79161234567"),
    }
    for body in (
        {**order, "total": "a lot"},
        {**order, "total": "NaN"},
        {**order, "total": "1" * 40},
        {**order, "total": "1e999999"},
        {**order, "customer": {"telegram_id": "9" * 400}},
        {**order, "customer": {"telegram_id": "²"}},
        {**order, "status": ""},
        {**order, "notify": "yes"},
        {**order, "customer": {}},
        {**order, "customer": {"email": "not an email"}},
        {**order, "items": [{"name": "tea"}]},
        {key: v for key, v in order.items() if key != "status"},
    ):
        status, data, _ = await api.call("PUT", "/orders/1043", body)
        assert status == 422, (body, data)
    assert (await api.call("GET", "/orders/1043"))[0] == 404


async def test_merge_keeps_every_conversation(hub: RunningHub, api: Api) -> None:
    telegram = await customer_writes(hub, 5401, "hi from telegram", first_name="Nina")
    other = await customer_writes(hub, 5402, "hi from my other account", first_name="Nina2")
    await api.ok(
        "PUT", "/orders/77", {"customer": {"telegram_id": "5402"}, "status": "created"}, 201
    )
    merged = await api.ok(
        "POST", f"/customers/{telegram.customer_id}/merge", {"other_id": other.customer_id}
    )
    assert merged["id"] == telegram.customer_id and merged["name"] == "Nina Petrov"
    assert {c["id"] for c in merged["conversations"]} == {
        telegram.conversation_id,
        other.conversation_id,
    }
    assert [o["number"] for o in merged["orders"]] == ["77"]
    assert {i["address"] for i in merged["identities"]} == {"5401", "5402"}
    assert (await api.call("GET", f"/customers/{other.customer_id}"))[0] == 404
    moved = await api.get(f"/conversations/{other.conversation_id}")
    assert moved["customer"]["id"] == telegram.customer_id
    listed = (await api.get("/customers"))["items"]
    assert [c["id"] for c in listed] == [telegram.customer_id]


async def test_customer_card_search_and_pages(hub: RunningHub, api: Api) -> None:
    olga = await customer_writes(hub, 5501, "hello", first_name="Olga", last_name="Orlova")
    await customer_writes(hub, 5502, "hello again", first_name="Pavel", last_name=None)
    await customer_writes(hub, 5503, "hello three", first_name="Rita", last_name=None)
    card = await api.get(f"/customers/{olga.customer_id}")
    assert card["name"] == "Olga Orlova" and card["locale"] == "ru"
    assert card["preferred_channel"] == "telegram"
    [identity] = card["identities"]
    assert {k: identity[k] for k in ("channel", "address", "verified", "opted_out")} == {
        "channel": "telegram",
        "address": "5501",
        "verified": True,  # a provider delivered from it: proven
        "opted_out": False,
    }
    assert [c["id"] for c in card["conversations"]] == [olga.conversation_id]
    assert card["orders"] == []
    listed = await api.get("/customers")
    assert [c["name"] for c in listed["items"]] == ["Rita", "Pavel", "Olga Orlova"]
    assert listed["items"][2] == card
    pages = await walk_pages(api, "/customers", 2)
    assert [[c["name"] for c in p] for p in pages] == [["Rita", "Pavel"], ["Olga Orlova"]]
    assert [c["id"] for c in (await api.get("/customers?q=orlo"))["items"]] == [olga.customer_id]
    assert [c["id"] for c in (await api.get("/customers?q=5501"))["items"]] == [olga.customer_id]
    assert (await api.get("/customers?q=_"))["items"] == []


async def test_canned_responses_are_listed_and_shortcuts_unique(hub: RunningHub, api: Api) -> None:
    admin = await make_api(hub, "boss@shop.test", "Boss", role="admin")
    created = await admin.ok(
        "POST", "/canned-responses", {"shortcut": "/thanks", "text": "Thank you!"}, 201
    )
    assert created["shortcut"] == "thanks" and created["text"] == "Thank you!"
    await admin.ok("POST", "/canned-responses", {"shortcut": "доставка", "text": "2-3 дня"}, 201)
    status, data, _ = await admin.call(
        "POST", "/canned-responses", {"shortcut": "thanks", "text": "again"}
    )
    assert status == 409 and data["error"]["code"] == "conflict"
    listed = await api.get("/canned-responses")
    assert [c["shortcut"] for c in listed["items"]] == ["thanks", "доставка"]
    assert listed["next_cursor"] is None
    pages = await walk_pages(api, "/canned-responses", 1)
    assert [[c["shortcut"] for c in p] for p in pages] == [["thanks"], ["доставка"]]


async def test_concurrent_pushes_of_a_new_order_store_it_once(hub: RunningHub, api: Api) -> None:
    order = {"customer": {"email": "race@shop.test", "name": "Racer"}, "status": "created"}
    answers = await asyncio.gather(*(api.call("PUT", "/orders/R-1", order) for _ in range(6)))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200, 200, 200, 200, 200, 201], [a[1] for a in answers]
    assert len({data["customer_id"] for _, data, _ in answers}) == 1
    assert [h["status"] for h in (await api.get("/orders/R-1"))["history"]] == ["created"]
