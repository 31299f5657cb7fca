"""The hub's own notes read in each operator's language: the same note in English for one
operator and in Russian for another, English in the REST API, and always escaped."""

from __future__ import annotations

import html
import json
import re
import string
from typing import Any

import pytest
from markupsafe import escape

from bots.intents import LABELS
from hub.actions.operator_locale import do_set_operator_locale
from hub.actions.system_notes import DEFAULT_LOCALE, catalog, english, note_text, render_note
from hub.domain.notes import Note
from hub.domain.rules import PRIORITIES
from hub.resources import templates_dir
from tests.bots.test_bot_notes import article, inbox_thread
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api, customer_writes, make_api
from tests.support.inbox import XSS
from tests.support.people import settled
from tests.support.routing import rule

LOCALES = ("en", "ru")


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_note_has_both_languages_with_the_same_parameters() -> None:
    en, ru = catalog("en"), catalog("ru")
    assert en.keys() == ru.keys()
    for key, text in en.items():
        assert fields(text) == fields(ru[key]), key
        assert text != ru[key] or key == "bot.note", f"{key} is not translated"


def test_every_intent_and_priority_a_note_may_name_has_a_text() -> None:
    for locale in LOCALES:
        assert {f"intent.{label}" for label in LABELS} <= catalog(locale).keys()
        assert {f"priority.{p}" for p in PRIORITIES} <= catalog(locale).keys()


def test_every_note_the_code_writes_is_in_the_catalog() -> None:
    """Keys are literal `Note("key"...)` calls in the code, or built from a literal prefix
    (`Note(f"intent.{label}")`), whose cases the test above covers."""
    written: set[str] = set()
    for folder in ("hub", "bots"):
        for path in (templates_dir().parent / folder).rglob("*.py"):
            written |= set(re.findall(r'Note\(\s*"([a-z_.]+)"', path.read_text(encoding="utf-8")))
    assert written and written <= catalog(DEFAULT_LOCALE).keys(), written - catalog("en").keys()


def test_parameters_are_text_never_templates() -> None:
    tricky = "{name} {0} {__class__} %(x)s " + XSS
    note = Note("rule.fired", {"name": tricky, "actions": (Note("rule.label", {"label": "a"}),)})
    assert render_note("en", note) == f"Rule “{tricky}”: label a"
    assert render_note("ru", note) == f"Правило «{tricky}»: метка a"


def test_a_note_the_catalog_cannot_render_is_shown_as_stored() -> None:
    assert note_text("ru", Note("no.such.key"), "as stored") == "as stored"
    assert note_text("ru", Note("rule.label"), "as stored") == "as stored"  # no label given
    assert "no.such.key" in english(Note("no.such.key", {"x": 1}))


def test_a_note_survives_its_stored_form() -> None:
    note = Note(
        "order.found",
        {"matched": Note("order.matched_intent", {"confidence": 0.91}), "number": "1042"},
    )
    assert Note.from_data(json.loads(json.dumps(note.to_data()))) == note
    assert render_note("en", note) == "order status: matched intent order_status (0.91), order 1042"
    assert render_note("ru", note) == (
        "статус заказа: распознан вопрос о статусе заказа (0.91), заказ 1042"
    )


@pytest.fixture
async def russian(hub: RunningHub) -> Api:
    olga = await make_api(hub, "olga@shop.test", "Olga")
    async with hub.hub.db.session() as session:
        await do_set_operator_locale(session, olga.operator_id, "ru")
        await session.commit()
    return olga


async def test_two_operators_read_the_same_notes_each_in_their_language(
    hub: RunningHub, api: Api, russian: Api, fake_telegram: FakeTelegramAPI
) -> None:
    await rule(hub, XSS, {"trigger": "new_conversation"}, {"action": "add_label", "label": "vip"})
    asked = await customer_writes(hub, 9501, "how much is shipping?", language_code="en")
    await customer_writes(hub, 9501, "I need a human")
    await settled(hub)

    async def all_notes() -> list[dict[str, Any]] | None:
        # Rules run in the worker's routing pass, once the bots had their turn.
        thread = await api.get(f"/conversations/{asked.conversation_id}/messages")
        found = [m for m in thread["items"] if m["private"]]
        return found if any(m["sender_type"] == "system" for m in found) else None

    notes = await eventually(all_notes, what="the rule's note")
    by_start = {m["text"].split(":")[0]: m for m in notes}
    # The REST API has the English text (the hub's default locale), escaped by nobody.
    rule_note = next(m for m in notes if m["sender_type"] == "system")
    assert rule_note["text"] == f"Rule “{XSS}”: label vip"
    assert "🤖 faq" in by_start and "🤖 handoff" in by_start
    faq, handoff = by_start["🤖 faq"], by_start["🤖 handoff"]
    assert faq["text"].startswith("🤖 faq: 'Delivery cost', matched ")
    assert handoff["text"].startswith("🤖 handoff: the customer asked for a person (")

    en = await inbox_thread(hub, api, asked.conversation_id)
    ru = await inbox_thread(hub, russian, asked.conversation_id)
    for page in (en, ru):
        assert XSS not in page and "<script>alert" not in page
    assert _text(en, rule_note["id"]) == escape(f"Rule “{XSS}”: label vip")
    assert _text(ru, rule_note["id"]) == escape(f"Правило «{XSS}»: метка vip")
    assert "🤖 faq: 'Delivery cost'" in html.unescape(_text(en, faq["id"]))
    assert "🤖 FAQ: «Delivery cost», совпало с «" in html.unescape(_text(ru, faq["id"]))
    assert "🤖 handoff: the customer asked for a person" in html.unescape(_text(en, handoff["id"]))
    shown = html.unescape(_text(ru, handoff["id"]))
    assert "🤖 передано человеку: клиент попросил оператора (" in shown
    # What the customer and the operators wrote is never translated.
    assert "how much is shipping?" in ru and "I need a human" in ru


def _text(page: str, message_id: int) -> str:
    """The shown text of one message of an inbox thread (still HTML-escaped)."""
    shown = article(page, message_id)
    return shown.split("data-text>", 1)[1].split("</div>", 1)[0]
