"""The FAQ bot answers from the shop's knowledge file, in the customer's language."""

from __future__ import annotations

from pathlib import Path

from bots.faq import parse_faq
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub
from tests.support.api import Api, customer_writes
from tests.support.orders import bot_answer


async def test_faq_answers_in_russian_and_english(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    asked = await customer_writes(hub, 9301, "как вернуть товар?", language_code="ru")
    assert "30 дней" in ((await bot_answer(fake_telegram, 9301)).text or "")
    await customer_writes(hub, 9302, "how much is shiping?", language_code="en")
    assert "free over" in ((await bot_answer(fake_telegram, 9302)).text or "")
    thread = await api.get(f"/conversations/{asked.conversation_id}/messages")
    notes = [m["text"] for m in thread["items"] if m["private"]]
    assert notes and "faq" in notes[0] and "Returns" in notes[0]


async def test_faq_hands_off_like_the_order_bot(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    asked = await customer_writes(hub, 9303, "can I talk to a human", language_code="en")
    assert "person" in ((await bot_answer(fake_telegram, 9303)).text or "")
    assert (await api.get(f"/conversations/{asked.conversation_id}"))["bot_active"] is False


def test_the_knowledge_file_format_is_what_the_shop_edits(tmp_path: Path) -> None:
    text = "# comment\n## Gift cards\n? do you have gift cards\nen: Yes.\nru: Да.\n## Empty\n"
    [entry] = parse_faq(text)
    assert entry.title == "Gift cards" and entry.answers == {"en": "Yes.", "ru": "Да."}


async def test_a_topic_the_faq_covers_gets_its_answer_whatever_the_wording(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    asked = await customer_writes(hub, 9304, "ok and what about returns?", language_code="en")
    assert "30 days" in ((await bot_answer(fake_telegram, 9304)).text or "")
    thread = await api.get(f"/conversations/{asked.conversation_id}/messages")
    notes = [m["text"] for m in thread["items"] if m["private"]]
    assert notes and "Returns" in notes[0]
    assert (await api.get(f"/conversations/{asked.conversation_id}"))["bot_active"] is True


async def test_a_topic_the_faq_does_not_cover_is_handed_off_with_its_label(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    asked = await customer_writes(
        hub, 9305, "you charged my card twice for one order", language_code="en"
    )
    assert "person" in ((await bot_answer(fake_telegram, 9305)).text or "")
    conversation = await api.get(f"/conversations/{asked.conversation_id}")
    assert conversation["bot_active"] is False
    assert "intent:payment" in conversation["labels"]
    thread = await api.get(f"/conversations/{asked.conversation_id}/messages")
    notes = [m["text"] for m in thread["items"] if m["private"]]
    assert notes and "intent payment" in notes[0]


async def test_thanks_gets_a_short_reply_not_a_status(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    await customer_writes(hub, 9306, "спасибо, всё пришло", language_code="ru")
    assert "Пожалуйста" in ((await bot_answer(fake_telegram, 9306)).text or "")
