"""Routing through a running hub: auto-assignment, rules, out-of-hours replies, team and
priority over the REST API. Customers write through the real Telegram webhook."""

from __future__ import annotations

from contextlib import AsyncExitStack

from hub.models import Operator
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes, make_api
from tests.support.routing import (
    auto_assign,
    closed_all_day_now,
    conversation,
    online,
    rule,
    team,
)


async def assignee_of(running: RunningHub, conversation_id: int) -> int | None:
    async def placed() -> int | None:
        return (await conversation(running, conversation_id)).assignee_id

    return await eventually(placed, what=f"conversation {conversation_id} assigned")


async def test_two_online_operators_take_turns(hub: RunningHub) -> None:
    async with AsyncExitStack() as stack:
        anna = await online(hub, stack, "anna@shop.test", "Anna")
        boris = await online(hub, stack, "boris@shop.test", "Boris")
        await make_api(hub, "olga@shop.test", "Olga")  # never signed in: offline
        await auto_assign(hub)
        got = []
        for n in range(4):
            message = await customer_writes(hub, 9100 + n, f"help me {n}")
            got.append(await assignee_of(hub, message.conversation_id))
        assert got == [anna.operator_id, boris.operator_id] * 2
        thread = await anna.get(f"/conversations/{message.conversation_id}/messages")
        notes = [m for m in thread["items"] if m["sender_type"] == "system" and m["private"]]
        assert "Auto-assigned to Boris" in notes[-1]["text"]


async def test_the_cap_holds_and_nothing_is_assigned_while_it_is_off(hub: RunningHub) -> None:
    async with AsyncExitStack() as stack:
        anna = await online(hub, stack, "anna@shop.test", "Anna")
        first = await customer_writes(hub, 9200, "before it is on")
        boris = await online(hub, stack, "boris@shop.test", "Boris")
        async with hub.hub.db.session() as session:
            operator = await session.get(Operator, anna.operator_id)
            assert operator is not None
            operator.auto_assign_cap = 1
            await session.commit()
        assert (await conversation(hub, first.conversation_id)).assignee_id is None
        await auto_assign(hub)
        got = [await assignee_of(hub, first.conversation_id)]
        for n in range(3):
            message = await customer_writes(hub, 9201 + n, f"then {n}")
            got.append(await assignee_of(hub, message.conversation_id))
        assert got == [anna.operator_id] + [boris.operator_id] * 3


async def test_a_team_conversation_goes_to_its_members_only(hub: RunningHub) -> None:
    async with AsyncExitStack() as stack:
        anna = await online(hub, stack, "anna@shop.test", "Anna")
        boris = await online(hub, stack, "boris@shop.test", "Boris")
        billing = await team(hub, "Billing", [boris.operator_id])
        await rule(
            hub,
            "Refunds to billing",
            {"trigger": "new_conversation", "text_contains": ["refund"]},
            {"action": "set_team", "team_id": billing},
            {"action": "set_priority", "priority": "high"},
            {"action": "add_label", "label": "refund"},
        )
        await auto_assign(hub)
        for n in range(2):
            message = await customer_writes(hub, 9300 + n, f"I want a Refund {n}")
            assert await assignee_of(hub, message.conversation_id) == boris.operator_id
        shown = await anna.get(f"/conversations/{message.conversation_id}")
        assert shown["team_id"] == billing and shown["priority"] == "high"
        assert shown["labels"] == ["refund"]
        thread = await anna.get(f"/conversations/{message.conversation_id}/messages")
        texts = [m["text"] for m in thread["items"] if m["sender_type"] == "system"]
        assert "Rule “Refunds to billing”: team Billing; priority high; label refund" in texts


async def test_rules_see_new_conversations_and_new_messages_apart(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await rule(
        hub,
        "Greet",
        {"trigger": "new_conversation"},
        {"action": "reply", "text": "We got your message."},
    )
    await rule(
        hub, "Urgent words", {"text_contains": ["asap"]}, {"action": "add_label", "label": "rush"}
    )
    first = await customer_writes(hub, 9400, "hello there")
    await fake_telegram.wait_for_sent(lambda m: m.text == "We got your message.")
    second = await customer_writes(hub, 9400, "please asap")
    assert second.conversation_id == first.conversation_id

    async def labelled() -> list[str]:
        return list((await api.get(f"/conversations/{first.conversation_id}"))["labels"])

    assert await eventually(labelled) == ["rush"]
    greetings = [m for m in fake_telegram.sent if m.text == "We got your message."]
    assert len(greetings) == 1


async def test_out_of_hours_reply_once_per_closed_period_in_the_customers_language(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    night = await team(
        hub, "Support", [api.operator_id], timezone="Europe/Moscow", hours=closed_all_day_now()
    )
    await rule(hub, "All to support", {}, {"action": "set_team", "team_id": night})
    first = await customer_writes(hub, 9500, "Здравствуйте, где посылка?")
    sent = await fake_telegram.wait_for_sent(lambda m: "не работает" in (m.text or ""))
    assert "«Support»" in (sent.text or "") and "Europe/Moscow" in (sent.text or "")
    await customer_writes(hub, 9500, "алло?")
    english = await customer_writes(hub, 9501, "hello, anyone?", language_code="en")
    await fake_telegram.wait_for_sent(lambda m: "team is away" in (m.text or ""))
    assert english.conversation_id != first.conversation_id
    late = await conversation(hub, first.conversation_id)
    assert late.out_of_hours_at is not None and late.waiting_since is not None
    russian = [m for m in fake_telegram.sent if "не работает" in (m.text or "")]
    assert len(russian) == 1


async def test_team_and_priority_over_the_api(hub: RunningHub, api: Api) -> None:
    sales = await team(hub, "Sales", [api.operator_id])
    listed = await api.get("/teams")
    assert listed == {
        "items": [
            {"id": sales, "name": "Sales", "timezone": "UTC", "member_ids": [api.operator_id]}
        ],
        "next_cursor": None,
    }
    message = await customer_writes(hub, 9600, "a question")
    path = f"/conversations/{message.conversation_id}"
    assert (await api.ok("POST", f"{path}/team", {"team_id": sales}))["team_id"] == sales
    assert (await api.ok("POST", f"{path}/priority", {"priority": "urgent"}))[
        "priority"
    ] == "urgent"
    status, error, _ = await api.call("POST", f"{path}/team", {"team_id": 999999})
    assert status == 404 and error["error"]["code"] == "not_found"
    status, _, _ = await api.call("POST", f"{path}/priority", {"priority": "asap"})
    assert status in (400, 422)
    assert (await api.ok("POST", f"{path}/team", {"team_id": None}))["team_id"] is None
