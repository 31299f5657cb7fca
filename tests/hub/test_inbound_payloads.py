"""Inbound queue payloads: what the adapters' typed facts look like after the queue, and jobs
queued by an older version (facts as keys of "extra") still loading with the same meaning."""

from __future__ import annotations

import base64
import json

from sqlalchemy import select
from sqlmodel import col

from adapters.email_parse import parse_mail
from adapters.twilio import TwilioWebhook
from hub.domain.messages import InboundMessage, MailFacts
from hub.domain.ports import WebhookRequest
from hub.domain.types import Channel
from hub.models import Identity, Message, MessageSource
from hub.queue.port import INBOUND, NewJob
from tests.factories import messages_of
from tests.support import RunningHub, eventually

MAIL = (
    b"From: Ann <ann@customer.test>\r\nTo: support@shop.test\r\nSubject: Where is it\r\n"
    b"Message-ID: <2@c.test>\r\nIn-Reply-To: <1@hub.test>\r\nAuto-Submitted: auto-replied\r\n"
    b"\r\nOut of office\r\n"
)


def _old_payload(channel: str, extra: dict[str, object], key: str = "<2@c.test>") -> str:
    """A job as the version before the typed fields wrote it."""
    return json.dumps(
        {
            "channel": channel,
            "address": "ann@customer.test" if channel == "email" else "+14155550100",
            "dedupe_key": key,
            "text": "Out of office",
            "external_id": "<2@c.test>",
            "display_name": None,
            "locale": None,
            "sent_at": None,
            "contact": None,
            "received_at": 1.5,
            "extra": extra,
        }
    )


def test_a_mail_keeps_its_facts_through_the_queue() -> None:
    message = parse_mail(MAIL)
    assert message.automated and message.mail is not None
    assert message.mail.original == MAIL and message.mail.references == ("<1@hub.test>",)
    assert InboundMessage.from_json(message.to_json()) == message


def test_an_old_mail_job_loads_its_facts_from_extra() -> None:
    old = _old_payload(
        "email",
        {
            "subject": "Where is it",
            "references": ["<0@hub.test>", "<1@hub.test>"],
            "html": "<p>Out of office</p>",
            "raw_base64": base64.b64encode(MAIL).decode("ascii"),
            "automated": True,
            "unparsed": "time budget exhausted",
        },
    )
    message = InboundMessage.from_json(old)
    assert message.automated is True and message.sms_opt_out is None
    assert message.mail == MailFacts(
        subject="Where is it",
        references=("<0@hub.test>", "<1@hub.test>"),
        html="<p>Out of office</p>",
        original=MAIL,
        unparsed="time budget exhausted",
    )
    assert message.extra == {}  # every key the core reads moved to its typed field
    assert InboundMessage.from_json(message.to_json()) == message


def test_an_older_mail_job_with_the_original_as_text_still_keeps_it() -> None:
    old = _old_payload("email", {"subject": "", "references": [], "raw": "Subject: é\r\n\r\nx"})
    message = InboundMessage.from_json(old)
    assert message.mail is not None and message.mail.original == "Subject: é\r\n\r\nx".encode()
    assert message.mail.unparsed is None and not message.automated


def test_an_old_sms_job_keeps_its_opt_out_and_the_rest_of_extra() -> None:
    for flag in (True, False):
        old = _old_payload("sms", {"to": "+14155550000", "sms_opt_out": flag})
        message = InboundMessage.from_json(old)
        assert message.channel is Channel.SMS and message.sms_opt_out is flag
        assert message.extra == {"to": "+14155550000"} and message.mail is None
    plain = InboundMessage.from_json(_old_payload("sms", {"to": "+14155550000"}))
    assert plain.sms_opt_out is None and not plain.automated


def test_twilio_sms_keywords_become_the_typed_opt_out() -> None:
    webhook = TwilioWebhook("token")

    def parsed(sender: str, body: str) -> InboundMessage:
        form = f"From={sender}&MessageSid=SM1&Body={body}&To=%2B14155550000".encode()
        request = WebhookRequest({}, form, "application/x-www-form-urlencoded", lambda: "")
        return InboundMessage.from_json(webhook.parse(request)[0].to_json())

    assert parsed("%2B14155550100", "STOP").sms_opt_out is True
    assert parsed("%2B14155550100", "start").sms_opt_out is False
    assert parsed("%2B14155550100", "hello").sms_opt_out is None
    assert parsed("whatsapp%3A%2B14155550100", "STOP").sms_opt_out is None  # SMS only


async def test_old_jobs_left_in_the_queue_are_routed_with_their_facts(hub: RunningHub) -> None:
    """Jobs an older version queued before an upgrade: the mail keeps its flags and its
    original, the STOP still opts the number out."""
    mail = _old_payload(
        "email",
        {
            "subject": "Where is it",
            "references": ["<1@hub.test>"],
            "html": None,
            "raw_base64": base64.b64encode(MAIL).decode("ascii"),
            "automated": True,
            "unparsed": "time budget exhausted",
        },
    )
    stop = _old_payload("sms", {"to": "+14155550000", "sms_opt_out": True}, key="SMold")
    await hub.hub.queue.enqueue(
        INBOUND,
        [NewJob(key="ann@customer.test", payload=mail), NewJob(key="+14155550100", payload=stop)],
    )

    async def both_routed() -> list[Message]:
        found = await messages_of(hub.hub, direction="inbound")
        return found if len(found) == 2 else []

    by_channel = {m.channel: m for m in await eventually(both_routed, what="both jobs routed")}
    stored = by_channel["email"]
    assert stored.automated and stored.error == "time budget exhausted"
    async with hub.hub.db.session() as session:
        source = await session.get(MessageSource, stored.id)
        opted_out = await session.scalar(
            select(col(Identity.opted_out)).where(
                col(Identity.channel) == "sms", col(Identity.address) == "+14155550100"
            )
        )
    assert source is not None and source.raw == MAIL and source.subject == "Where is it"
    assert source.reference_ids == "<1@hub.test>"
    assert opted_out is True and not by_channel["sms"].automated
