"""Canned responses' variables, filled on the server: a tiny substitution that leaves what
it does not know visible and never fails a reply."""

from __future__ import annotations

from hub.actions.canned import do_create_canned
from hub.models import Message
from hub.queries.variables import fill_variables
from tests.factories import messages_of
from tests.support import RunningHub
from tests.support.api import Api, Browser, customer_writes


def test_known_variables_are_filled_and_unknown_ones_stay_visible() -> None:
    values = {"customer.name": "Ann <b>", "order.number": "42"}
    text = "{{customer.name}} #{{ order.number }} {{order.status}} {{x.y}} {{ __class__ }} {{"
    assert fill_variables(text, values) == "Ann <b> #42 {{order.status}} {{x.y}} {{ __class__ }} {{"


async def test_a_shortcut_sent_without_the_page_script_is_filled_for_its_customer(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    written = await customer_writes(hub, 7641, "Hi", first_name="Olga", last_name="Ivanova")
    await api.ok(
        "PUT", "/orders/B-9", {"customer": {"telegram_id": "7641"}, "status": "shipped"}, status=201
    )
    async with hub.hub.db.session() as session:
        await do_create_canned(
            session, "where", "{{customer.name}}: {{order.number}} is {{order.status}}."
        )
        await session.commit()
    token = await agent.csrf()
    thread = f"/inbox/conversations/{written.conversation_id}"
    status, _, _ = await agent.post(f"{thread}/reply", {"text": "/where", "csrf": token})
    assert status == 303

    def operators(messages: list[Message]) -> list[str]:
        return [m.text for m in messages if m.sender_type == "operator"]

    found = operators(await messages_of(hub.hub, conversation_id=written.conversation_id))
    assert found == ["Olga Ivanova: B-9 is shipped."]
