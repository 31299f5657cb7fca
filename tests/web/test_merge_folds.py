"""Merging two customers folds their two unresolved conversations into one (SPEC §6): the
older survives with every message in order, labels and assignment kept; the folded one
stays resolvable (API 200 with `merged_into`, the inbox redirects). One thread per customer
also holds for reopening and for replying in an old conversation."""

from __future__ import annotations

from typing import Any

from tests.factories import conversations_of, customer_of, messages_of
from tests.support import RunningHub
from tests.support.api import Api, Browser, customer_writes


async def two_customers(hub: RunningHub) -> tuple[Any, Any]:
    """Two Telegram customers, each with an unresolved conversation: (older, newer)."""
    first = await customer_writes(hub, 8101, "first, from the older customer")
    second = await customer_writes(hub, 8102, "second, from the newer customer")
    await customer_writes(hub, 8101, "third, the older again")
    return first, second


async def test_a_merge_folds_the_two_threads_into_the_older_one(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    first, second = await two_customers(hub)
    await api.ok("POST", f"/conversations/{second.conversation_id}/labels", {"labels": ["vip"]})
    await api.ok(
        "POST", f"/conversations/{second.conversation_id}/assign", {"operator_id": api.operator_id}
    )
    merged = await api.ok(
        "POST", f"/customers/{first.customer_id}/merge", {"other_id": second.customer_id}
    )
    assert merged["id"] == first.customer_id
    unresolved = [c for c in merged["conversations"] if c["status"] != "resolved"]
    assert [c["id"] for c in unresolved] == [first.conversation_id]
    survivor = await api.get(f"/conversations/{first.conversation_id}")
    assert survivor["labels"] == ["vip"] and survivor["assignee_id"] == api.operator_id
    assert survivor["merged_into"] is None

    folded = await api.get(f"/conversations/{second.conversation_id}")
    assert folded["status"] == "resolved"
    assert folded["merged_into"] == first.conversation_id
    page = await api.get(f"/conversations/{first.conversation_id}/messages")
    assert [m["text"] for m in page["items"]] == [
        "first, from the older customer",
        "second, from the newer customer",
        "third, the older again",
    ]
    kinds = [entry["kind"] for entry in merged["timeline"]]
    assert "merge" in kinds and "fold" in kinds
    [merge] = [e for e in merged["timeline"] if e["kind"] == "merge"]
    assert (
        merge["operator_id"] == api.operator_id and merge["other_customer_id"] == second.customer_id
    )

    status, _, response = await agent.get(f"/inbox/conversations/{second.conversation_id}")
    assert status == 302
    assert response.headers["Location"] == f"/inbox/conversations/{first.conversation_id}"

    # The next message of either old identity lands in the one thread.
    later = await customer_writes(hub, 8102, "after the merge")
    assert later.conversation_id == first.conversation_id


async def test_the_same_merge_submitted_twice_answers_the_survivor_both_times(
    hub: RunningHub, api: Api
) -> None:
    first, second = await two_customers(hub)
    body = {"other_id": second.customer_id}
    once = await api.ok("POST", f"/customers/{first.customer_id}/merge", body)
    twice = await api.ok("POST", f"/customers/{first.customer_id}/merge", body)
    assert once["id"] == twice["id"] == first.customer_id
    conversations = await conversations_of(hub.hub, first.customer_id)
    assert [c.id for c in conversations if c.status != "resolved"] == [first.conversation_id]


async def test_a_resolved_thread_reopens_only_while_no_other_is_open(
    hub: RunningHub, api: Api
) -> None:
    old = await customer_writes(hub, 8201, "an old question")
    await api.ok("POST", f"/conversations/{old.conversation_id}/status", {"status": "resolved"})
    new = await customer_writes(hub, 8201, "a new question")
    assert new.conversation_id != old.conversation_id
    status, data, _ = await api.call(
        "POST", f"/conversations/{old.conversation_id}/status", {"status": "open"}
    )
    assert status == 409 and data["error"]["code"] == "another_unresolved", data

    # A reply written in the old, resolved thread is sent in the one that is open.
    reply = await api.ok(
        "POST", f"/conversations/{old.conversation_id}/messages", {"text": "answering"}, 201
    )
    assert reply["conversation_id"] == new.conversation_id

    await api.ok("POST", f"/conversations/{new.conversation_id}/status", {"status": "resolved"})
    reopened = await api.ok(
        "POST", f"/conversations/{old.conversation_id}/status", {"status": "open"}
    )
    assert reopened["status"] == "open"


async def test_an_operator_confirms_a_claim_or_dismisses_a_suggestion(
    hub: RunningHub, api: Api
) -> None:
    """Claims come from the web chat's identify without proof; an operator decides."""
    from tests.support.webchat_visitor import Visitor

    owner = await customer_writes(hub, 8301, "hello")
    await api.ok(
        "PUT", "/orders/5001", {"customer": {"telegram_id": 8301, "email": "o@customer.test"},
                                "status": "created"}, 201,
    )  # fmt: skip
    visitor = await Visitor(hub).open()
    try:
        await visitor.identify(email="o@customer.test", phone="+14155550123")
        await visitor.say("it's me")
    finally:
        await visitor.close()
    [said] = [m for m in await messages_of(hub.hub, channel="webchat") if m.text == "it's me"]
    card = await api.get(f"/customers/{said.customer_id}")
    [phone] = [i for i in card["identities"] if i["channel"] == "sms"]
    assert phone["verified"] is False
    confirmed = await api.ok(
        "POST", f"/customers/{said.customer_id}/identities/{phone['id']}/confirm", {}
    )
    [phone] = [i for i in confirmed["identities"] if i["channel"] == "sms"]
    assert phone["verified"] is True and phone["confirmed_by_id"] == api.operator_id
    assert phone["confirmed_at"] is not None
    assert confirmed["preferred_channel"] == "webchat"

    [suggestion] = confirmed["suggestions"]
    assert (suggestion["customer_id"], suggestion["owner_id"]) == (
        said.customer_id,
        owner.customer_id,
    )
    dismissed = await api.ok(
        "POST", f"/customers/{owner.customer_id}/suggestions/{suggestion['id']}/dismiss", {}
    )
    assert dismissed["suggestions"] == []
    assert (await api.get(f"/customers/{said.customer_id}"))["suggestions"] == []
    kinds = [e["kind"] for e in dismissed["timeline"]]
    assert "dismiss" in kinds and "suggest" in kinds and "link" in kinds
    assert await customer_of(hub.hub, "email", "o@customer.test") is not None
