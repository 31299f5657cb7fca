"""Phone calls and in-store visits logged on the customer's timeline: marked with their kind,
shown in the thread and the API, and never sent to any channel."""

from __future__ import annotations

import re

from hub.models import MessageNoteKind
from tests.factories import count, messages_of
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub
from tests.support.api import Api, Browser, customer_writes


async def test_a_phone_call_logged_in_the_inbox_is_a_marked_note_never_sent(
    hub: RunningHub, api: Api, agent: Browser, fake_telegram: FakeTelegramAPI
) -> None:
    message = await customer_writes(hub, 9501, "I will call you")
    thread = f"/inbox/conversations/{message.conversation_id}"
    token = await agent.csrf()
    _, html, _ = await agent.get(thread)
    assert f'action="{thread}/contact"' in html  # the form is on the customer card
    assert len(re.findall(r'<textarea name="text"', html)) == 1  # the reply box stays the one

    status, _, _ = await agent.post(
        f"{thread}/contact",
        {
            "kind": "phone_call",
            "contact_text": "Called back: parcel is at the depot",
            "csrf": token,
        },
    )
    assert status == 303
    status, _, _ = await agent.post(
        f"{thread}/contact",
        {"kind": "in_store_visit", "contact_text": "Came in to swap the size", "csrf": token},
    )
    assert status == 303

    [call] = await messages_of(hub.hub, text="Called back: parcel is at the depot")
    assert call.private and call.sender_type == "operator" and call.operator_id == api.operator_id
    assert call.status == "received" and call.address is None

    _, html, _ = await agent.get(thread)
    shown = re.search(
        rf'<article [^>]*data-message-id="{call.id}"[^>]*>(.*?)</article>', html, re.S
    )
    assert shown and 'data-note-kind="phone_call"' in shown.group(0)
    assert "Phone call" in shown.group(1) and "Private note" not in shown.group(1)
    assert 'data-note-kind="in_store_visit"' in html and "In-store visit" in html

    items = (await api.get(f"/conversations/{message.conversation_id}/messages"))["items"]
    kinds = {m["text"]: (m["private"], m["note_kind"]) for m in items}
    assert kinds["Called back: parcel is at the depot"] == (True, "phone_call")
    assert kinds["Came in to swap the size"] == (True, "in_store_visit")
    assert kinds["I will call you"] == (False, None)

    # Replies to one conversation leave in order: once this one is out, the notes never were.
    status, _, _ = await agent.post(f"{thread}/reply", {"text": "See you soon", "csrf": token})
    assert status == 303
    await fake_telegram.wait_for_sent(lambda m: m.text == "See you soon")
    assert [m.text for m in fake_telegram.sent] == ["See you soon"]


async def test_a_bad_kind_or_empty_text_is_refused_and_stores_nothing(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    message = await customer_writes(hub, 9502, "hello")
    thread = f"/inbox/conversations/{message.conversation_id}"
    token = await agent.csrf()
    before = await count(hub.hub, MessageNoteKind), len(await messages_of(hub.hub))
    for form in (
        {"kind": "fax", "contact_text": "x"},
        {"kind": "phone_call", "contact_text": "  "},
    ):
        status, body, _ = await agent.post(
            f"{thread}/contact", {**form, "csrf": token}, headers={"Hub-Fetch": "1"}
        )
        assert status == 422, body
    status, _, _ = await agent.post(
        f"{thread}/contact", {"kind": "phone_call", "contact_text": "x"}
    )
    assert status == 403  # no CSRF token
    assert (await count(hub.hub, MessageNoteKind), len(await messages_of(hub.hub))) == before


async def test_the_api_logs_a_visit_and_shows_plain_notes_without_a_kind(
    hub: RunningHub, api: Api
) -> None:
    message = await customer_writes(hub, 9503, "where are you?")
    path = f"/conversations/{message.conversation_id}/messages"
    visit = await api.ok(
        "POST", path, {"text": "Visited the shop", "note_kind": "in_store_visit"}, status=201
    )
    assert (visit["private"], visit["note_kind"], visit["status"]) == (
        True,
        "in_store_visit",
        "received",
    )
    note = await api.ok("POST", path, {"text": "plain note", "private": True}, status=201)
    assert note["note_kind"] is None

    before = len(await messages_of(hub.hub))
    for body in (
        {"text": "x", "note_kind": "fax"},
        {"text": "x", "note_kind": "phone_call", "private": False},
    ):
        status, answer, _ = await api.call("POST", path, body)
        assert status in (400, 422) and "error" in answer, answer
    assert len(await messages_of(hub.hub)) == before

    items = (await api.get(path))["items"]
    assert [(m["text"], m["note_kind"]) for m in items if m["private"]] == [
        ("Visited the shop", "in_store_visit"),
        ("plain note", None),
    ]
