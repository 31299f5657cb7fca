"""The email adapter's pure parts: new text only, automatic mail recognised, threading ids."""

from __future__ import annotations

import pytest

from adapters.email_parse import new_part, parse_mail
from adapters.email_send import reply_subject
from hub.errors import InvalidInput


def raw(headers: str, body: str = "Hello") -> bytes:
    return (headers.strip() + "\r\n\r\n" + body).replace("\n", "\r\n").encode()


BASE = "From: Ann <Ann@Customer.Test>\nTo: support@shop.test\nSubject: Hi\nMessage-ID: <1@c.test>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Спасибо!\n\n23.11.2026 10:00, Support пишет:\n> Заказ отправлен", "Спасибо!"),
        ("Danke!\n\nAm 23.11.2026 um 10:00 schrieb Support <s@x.de>:\n> hi", "Danke!"),
        ("Just this.\n\n-- \nAnn\n+1 555 0100", "Just this."),
        ("Fine.\n> quoted\n> more", "Fine."),
        ("> only a quote", "> only a quote"),
    ],
)
def test_only_the_new_part_is_kept(body: str, expected: str) -> None:
    assert new_part(body) == expected


def test_address_is_lower_cased_and_threading_ids_are_collected() -> None:
    message = parse_mail(
        raw(BASE + "\nIn-Reply-To: <b@hub.test>\nReferences: <a@hub.test>\n <b@hub.test>")
    )
    assert message.address == "ann@customer.test" and message.display_name == "Ann"
    assert message.external_id == "<1@c.test>" and message.dedupe_key == "<1@c.test>"
    assert message.mail is not None
    assert message.mail.references == ("<a@hub.test>", "<b@hub.test>")
    assert message.automated is False


@pytest.mark.parametrize(
    "extra",
    [
        "Auto-Submitted: auto-generated",
        "Precedence: junk",
        "Precedence: list",
        "X-Autoreply: yes",
        "Return-Path: <>",
        "List-Id: <news.shop.test>",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    ],
)
def test_automatic_mail_is_flagged(extra: str) -> None:
    assert parse_mail(raw(BASE + "\n" + extra)).automated is True


def test_auto_submitted_no_is_a_person() -> None:
    assert parse_mail(raw(BASE + "\nAuto-Submitted: no")).automated is False


def test_a_null_envelope_sender_is_a_bounce() -> None:
    assert parse_mail(raw(BASE), envelope_from="<>").automated is True


def test_a_mail_without_message_id_still_dedupes_by_content() -> None:
    headers = "From: a@c.test\nTo: support@shop.test\nSubject: x"
    first, again = parse_mail(raw(headers)), parse_mail(raw(headers))
    assert first.external_id is None and first.dedupe_key == again.dedupe_key


def test_a_mail_without_a_sender_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_mail(raw("To: support@shop.test\nSubject: x"))


def test_reply_subjects_get_one_re() -> None:
    assert reply_subject("Order 1042") == "Re: Order 1042"
    assert reply_subject("RE: Order 1042") == "RE: Order 1042"
    assert reply_subject("") == "Re: your message"
