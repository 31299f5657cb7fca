"""Customers' files on every channel: routed at once, fetched after, shown to operators only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.actions.attachments import do_add_outbound_attachment
from hub.actions.replies import do_reply
from hub.actions.unit import take_events
from hub.domain.types import SenderType
from hub.media.store import media_store
from hub.models import Conversation
from hub.queue.port import OUTBOUND
from tests.factories import messages_of, telegram_update
from tests.fakes.smtp_relay import SmtpRelay
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, eventually, start_hub, stop_hub, tampered
from tests.support.attachments import (
    JPEG,
    PDF,
    PNG,
    files_of,
    inbound,
    operator,
    photo_update,
    send_file,
    settled,
)
from tests.support.mail import deliver, mail, mail_settings
from tests.support.twilio import post_form, twilio_settings, whatsapp

LIMIT = 64 * 1024


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"media_dir": tmp_path / "media", "max_attachment_bytes": LIMIT}


# ------------------------------------------------------------------ Telegram


async def test_a_telegram_photo_lands_with_its_caption_and_only_operators_can_open_it(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    update = photo_update(fake_telegram, "the cup arrived broken")
    assert await hub.post_telegram(update) == 200
    [photo] = await eventually(lambda: settled(hub), what="photo fetched")
    message = await inbound(hub, "telegram")
    assert message is not None and message.text == "the cup arrived broken"
    assert photo.message_id == message.id
    assert (photo.status, photo.content_type, photo.size) == ("stored", "image/jpeg", len(JPEG))
    key = photo.storage_key or ""
    assert (hub.settings.media_dir / key[:2] / key[2:4] / key).read_bytes() == JPEG

    agent = await operator(hub)
    try:
        status, html, _ = await agent.get(f"/inbox/conversations/{message.conversation_id}")
        assert status == 200 and f'src="/inbox/attachments/{photo.id}"' in html
        async with agent.http.get(f"{hub.url}/inbox/attachments/{photo.id}") as answer:
            assert answer.status == 200 and await answer.read() == JPEG
            assert answer.headers["Content-Type"] == "image/jpeg"
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["Content-Disposition"].startswith("inline")
            assert "sandbox" in answer.headers["Content-Security-Policy"]
    finally:
        await agent.http.close()

    # Without a session: the login page (a browser) or 401 (a script), never the bytes.
    path = f"{hub.url}/inbox/attachments/{photo.id}"
    async with hub.http.get(path, allow_redirects=False) as answer:
        assert answer.status == 303 and "/inbox/login" in answer.headers["Location"]
    async with hub.http.get(path, headers={"Hub-Fetch": "1"}) as answer:
        assert answer.status == 401

    # Telegram redelivers the same update: the message and its file are stored once.
    assert await hub.post_telegram(update) == 200
    assert await hub.post_telegram(telegram_update(4242, "and?")) == 200
    await eventually(lambda: messages_of(hub.hub, text="and?"), what="next message routed")
    assert len(await files_of(hub)) == 1


async def test_a_file_telegram_will_not_serve_leaves_the_message_stored_and_marked(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.fail_next("download", status=500, count=100)
    assert await hub.post_telegram(photo_update(fake_telegram, "see photo")) == 200
    # The message is in the thread while its file is still being retried.
    message = await eventually(lambda: inbound(hub, "telegram"), what="message routed")
    assert message.text == "see photo"
    [pending] = await files_of(hub)
    assert pending.status == "pending"
    [failed] = await eventually(lambda: settled(hub), timeout=15, what="retries given up")
    assert failed.status == "unavailable" and "500" in (failed.error or "")
    assert failed.storage_key is None
    assert len(fake_telegram.calls_of("getFile")) >= 2  # retried before giving up

    # A file_id Telegram does not know (400) is not retried.
    doc = {"file_id": "gone", "file_unique_id": "g", "file_name": "a.pdf"}
    assert await hub.post_telegram(telegram_update(4243, None, document=doc)) == 200
    found = await eventually(lambda: settled(hub, 2), what="unknown file settled")
    assert found[1].status == "unavailable" and "invalid file_id" in (found[1].error or "")


async def test_an_oversized_file_is_not_stored_and_the_customer_is_told_once(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.add_file("huge", PDF + bytes(LIMIT), "documents/huge.pdf")
    doc = {"file_id": "huge", "file_unique_id": "h", "file_name": "scan.pdf"}
    doc |= {"mime_type": "application/pdf", "file_size": LIMIT + len(PDF)}
    assert (
        await hub.post_telegram(
            telegram_update(4244, "my invoice", document=doc, language_code="en")
        )
        == 200
    )
    [big] = await eventually(lambda: settled(hub), what="size checked")
    assert (big.status, big.filename, big.storage_key) == ("too_large", "scan.pdf", None)
    notice = await fake_telegram.wait_for_sent(lambda m: "too large" in (m.text or ""))
    assert notice.chat_id == 4244 and "the limit is 64 KB" in (notice.text or "")
    assert not fake_telegram.calls_of("download")
    system = await eventually(
        lambda: messages_of(hub.hub, sender_type="system"), what="notice in the thread"
    )
    assert len(system) == 1 and system[0].channel == "telegram"
    assert len([m for m in fake_telegram.sent if "too large" in (m.text or "")]) == 1


async def test_a_file_whose_bytes_are_not_an_accepted_type_is_refused(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    # It says it is a photo-like JPEG document, but it is a Windows program.
    fake_telegram.add_file("exe", b"MZ\x90\x00" + bytes(100), "documents/setup.jpg")
    doc = {"file_id": "exe", "file_unique_id": "e", "file_name": "cute.jpg"}
    doc["mime_type"] = "image/jpeg"
    assert (
        await hub.post_telegram(telegram_update(4245, "look", document=doc, language_code="en"))
        == 200
    )
    [refused] = await eventually(lambda: settled(hub), what="type checked")
    assert refused.status == "refused" and refused.storage_key is None
    assert "executable" in (refused.error or "")
    await fake_telegram.wait_for_sent(lambda m: "cannot accept" in (m.text or ""))


# ------------------------------------------------------------------ Twilio


@pytest.fixture
async def twilio_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI, tmp_path: Path
) -> AsyncIterator[RunningHub]:
    settings = twilio_settings(backend_urls, fake_twilio.base_url, media_dir=tmp_path / "media")
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def test_a_whatsapp_image_is_fetched_with_the_account_credentials(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    url = fake_twilio.add_media(PNG, "image/png")
    fields = whatsapp("+4915112345678", "photo of the label")
    fields |= {"NumMedia": "1", "MediaUrl0": url, "MediaContentType0": "image/png"}
    status, _, _ = await post_form(twilio_hub, "/webhooks/twilio/messages", fields)
    assert status == 200
    [image] = await eventually(lambda: settled(twilio_hub), what="media fetched")
    assert image.status == "stored", image.error
    assert (image.status, image.content_type, image.size) == ("stored", "image/png", len(PNG))
    assert fake_twilio.media_requests and all(ok for _, ok in fake_twilio.media_requests)
    message = await inbound(twilio_hub, "whatsapp")
    assert message is not None and message.text == "photo of the label"


async def test_a_media_url_twilio_refuses_marks_the_file_unavailable(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    fields = whatsapp("+4915112345679", "")
    fields |= {"NumMedia": "1", "MediaUrl0": fake_twilio.add_media(404)}
    fields["MediaContentType0"] = "image/jpeg"
    assert (await post_form(twilio_hub, "/webhooks/twilio/messages", fields))[0] == 200
    [lost] = await eventually(lambda: settled(twilio_hub), what="fetch given up")
    assert lost.status == "unavailable" and "404" in (lost.error or "")
    assert await inbound(twilio_hub, "whatsapp") is not None


# ------------------------------------------------------------------ email


@pytest.fixture
async def mail_hub(
    backend_urls: dict[str, Any], smtp_relay: SmtpRelay, tmp_path: Path
) -> AsyncIterator[RunningHub]:
    settings = mail_settings(backend_urls, smtp_relay, media_dir=tmp_path / "media")
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def test_a_mailed_pdf_is_stored_from_the_kept_original(mail_hub: RunningHub) -> None:
    message: EmailMessage = mail(text="Invoice attached.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    await deliver(mail_hub, message)
    [pdf] = await eventually(lambda: settled(mail_hub), what="mail attachment stored")
    assert (pdf.status, pdf.filename, pdf.content_type) == (
        "stored",
        "invoice.pdf",
        "application/pdf",
    )
    stored = await inbound(mail_hub, "email")
    assert stored is not None and stored.text == "Invoice attached."
    agent = await operator(mail_hub)
    try:
        async with agent.http.get(f"{mail_hub.url}/inbox/attachments/{pdf.id}") as answer:
            assert answer.status == 200 and await answer.read() == PDF
            assert answer.headers["Content-Disposition"].startswith("attachment;")
            assert 'filename="invoice.pdf"' in answer.headers["Content-Disposition"]
    finally:
        await agent.http.close()


# ------------------------------------------------------------------ operators send files


async def test_a_reply_with_a_file_but_a_wrong_csrf_token_stores_nothing(hub: RunningHub) -> None:
    assert await hub.post_telegram(telegram_update(4251, "hello")) == 200
    asked = await eventually(lambda: inbound(hub, "telegram"), what="message routed")
    agent = await operator(hub, "forged@shop.test")
    try:
        form = aiohttp.FormData()
        form.add_field("csrf", "forged")
        form.add_field("text", "from another site")
        form.add_field("file", PNG, filename="x.png", content_type="image/png")
        path = f"/inbox/conversations/{asked.conversation_id}/reply"
        async with agent.http.post(f"{hub.url}{path}", data=form) as answer:
            assert answer.status == 403
    finally:
        await agent.http.close()
    assert await messages_of(hub.hub, sender_type="operator") == []
    media = hub.hub.settings.media_dir
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


async def test_an_operator_sends_a_photo_back_on_telegram(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    assert await hub.post_telegram(telegram_update(4250, "can you show me?")) == 200
    asked = await eventually(lambda: inbound(hub, "telegram"), what="question routed")
    message_id = await send_file(hub, asked.conversation_id, PNG, "label.png", "here it is")
    photo = await fake_telegram.wait_for_sent(lambda m: m.method == "sendPhoto")
    assert photo.chat_id == 4250 and photo.text == "here it is"
    assert photo.files["photo"].content == PNG
    [stored] = await files_of(hub, message_id)
    assert (stored.status, stored.content_type, stored.filename) == (
        "stored",
        "image/png",
        "label.png",
    )


async def test_an_operator_sends_a_pdf_by_mail(mail_hub: RunningHub, smtp_relay: SmtpRelay) -> None:
    await deliver(mail_hub, mail(text="Please send the invoice"))
    asked = await eventually(lambda: inbound(mail_hub, "email"), what="mail routed")
    await send_file(mail_hub, asked.conversation_id, PDF, "invoice.pdf")
    relayed = await eventually(lambda: _relayed_with_file(smtp_relay), what="mail relayed")
    [part] = list(relayed.iter_attachments())
    assert part.get_filename() == "invoice.pdf" and part.get_content() == PDF
    assert part.get_content_type() == "application/pdf"


async def _relayed_with_file(relay: SmtpRelay) -> EmailMessage | None:
    for item in relay.received:
        if any(True for _ in item.message.iter_attachments()):
            return item.message
    return None


async def test_an_operator_sends_an_image_on_whatsapp_through_a_signed_link(
    twilio_hub: RunningHub, fake_twilio: FakeTwilioAPI
) -> None:
    fields = whatsapp("+4915112345670", "which one?")
    assert (await post_form(twilio_hub, "/webhooks/twilio/messages", fields))[0] == 200
    asked = await eventually(lambda: inbound(twilio_hub, "whatsapp"), what="routed")
    # Its public URL is https (cookies are Secure): the reply is made as the form makes it.
    await reply_with_file(twilio_hub, asked.conversation_id, JPEG, "model.jpg", "this one")
    sent = await eventually(
        lambda: _sent_with_media(fake_twilio), what="Twilio asked to send the media"
    )
    link = sent.fields["MediaUrl"]
    assert link.startswith(twilio_settings({}, "").base_url + "/media/")
    # Twilio fetches the link itself, without any session: the signature is the key.
    local = twilio_hub.url + link.removeprefix(twilio_settings({}, "").base_url)
    async with aiohttp.ClientSession() as twilio:
        async with twilio.get(local) as answer:
            assert answer.status == 200 and await answer.read() == JPEG
        async with twilio.get(tampered(local)) as answer:
            assert answer.status == 404  # a forged signature


async def reply_with_file(
    running: RunningHub, conversation_id: int, data: bytes, filename: str, text: str
) -> None:
    hub = running.hub
    key = await media_store(hub.settings).put(data)
    async with hub.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message, job = await do_reply(session, conversation, text, sender_type=SenderType.OPERATOR)
        await do_add_outbound_attachment(
            session,
            message.id or 0,
            storage_key=key,
            content_type="image/jpeg",
            filename=filename,
            size=len(data),
        )
        await session.commit()
        take_events(session)
    assert job is not None
    await hub.queue.enqueue(OUTBOUND, [job])


async def _sent_with_media(fake: FakeTwilioAPI) -> Any:
    return next((c for c in fake.sent if "MediaUrl" in c.fields), None)
