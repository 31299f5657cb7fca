"""Every webhook parser, fed arbitrary bytes and near-valid payloads: a valid result or
`InvalidInput`, never any other exception (which the web layer would turn into a 500)."""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from adapters.email_parse import parse_mail
from adapters.telegram import _UNSTORABLE_SOURCE, TelegramWebhook, storable
from adapters.twilio import FORM_TYPE, TwilioWebhook, parse_status
from hub.domain.messages import InboundMessage
from hub.domain.ports import WebhookRequest
from hub.errors import InvalidInput
from tests.security.fuzz import fuzz
from tests.security.strategies import FORM_KEYS, JSON, deep_or_huge, telegram_like


def request(body: bytes, content_type: str = "application/json", url: str = "") -> WebhookRequest:
    return WebhookRequest(
        headers={}, body=body, content_type=content_type, full_url=lambda: url or "https://h.test/"
    )


def parsed_or_refused(parse: Any, *args: Any) -> Any:
    """The parser's result, or None when it refused with InvalidInput (the only allowed error)."""
    try:
        return parse(*args)
    except InvalidInput as exc:
        assert exc.message
        return None


def assert_messages(result: list[InboundMessage] | None) -> None:
    for message in result or []:
        assert isinstance(message.address, str) and message.address
        assert isinstance(message.text, str) and isinstance(message.dedupe_key, str)


@fuzz(300)
@given(st.binary(max_size=300))
def test_telegram_parse_takes_any_bytes(body: bytes) -> None:
    assert_messages(parsed_or_refused(TelegramWebhook("s").parse, request(body)))


@fuzz(400)
@given(telegram_like() | JSON)
def test_telegram_parse_takes_any_json(update: Any) -> None:
    body = json.dumps(update).encode()
    assert_messages(parsed_or_refused(TelegramWebhook("s").parse, request(body)))


TRICKY_TEXT = st.text(st.sampled_from(["\x00", "\ud800", "\udfff", "a", "я", "\\", "u", "0"]))


@fuzz(400)
@given(
    JSON | st.dictionaries(TRICKY_TEXT, TRICKY_TEXT, max_size=3),
    st.sampled_from(["ascii", "utf-8", "utf-16", "utf-32"]),
)
def test_telegram_skips_the_storable_walk_only_when_nothing_needs_replacing(
    value: Any, encoding: str
) -> None:
    """The webhook's fast path: a body the byte scan passes decodes to storable text only."""
    text = json.dumps(value, ensure_ascii=encoding == "ascii")
    body = text.encode("utf-8" if encoding == "ascii" else encoding, "surrogatepass")
    if not _UNSTORABLE_SOURCE.search(body):
        decoded = json.loads(body)
        assert storable(decoded) == decoded  # NaN compares equal here: the same object


@fuzz(300)
@given(st.binary(max_size=300), st.sampled_from([FORM_TYPE, "application/json", "", "text/xml"]))
def test_twilio_parsers_take_any_bytes(body: bytes, content_type: str) -> None:
    incoming = request(body, content_type)
    assert_messages(parsed_or_refused(TwilioWebhook("t").parse, incoming))
    parsed_or_refused(parse_status, incoming)


@fuzz(400)
@given(
    st.lists(st.tuples(FORM_KEYS | st.text(max_size=8), st.text(max_size=40)), max_size=10),
    st.text(max_size=40),
)
def test_twilio_parsers_take_any_form(pairs: list[tuple[str, str]], query: str) -> None:
    incoming = request(
        urlencode(pairs).encode(), FORM_TYPE, "https://h.test/webhooks/twilio/status?" + query
    )
    assert_messages(parsed_or_refused(TwilioWebhook("t").parse, incoming))
    parsed_or_refused(parse_status, incoming)


@fuzz(300)
@given(st.binary(max_size=600))
def test_parse_mail_takes_any_bytes(raw: bytes) -> None:
    result = parsed_or_refused(parse_mail, raw)
    if result is not None:
        assert_messages([result])


HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
        "Precedence",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Return-Path",
        "Reply-To",
    ]
)
HEADER_VALUES = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60
) | st.sampled_from(
    [
        '"Ann" <ann@shop.test>',
        "<a@b>",
        "=?utf-8?b?0J/RgNC40LLQtdGC?=",
        "=?bogus?q?x?=",
        'multipart/mixed; boundary="b"',
        "text/plain; charset=unknown-8bit",
        "base64",
        "quoted-printable",
        "<<>>",
        "a@",
        "@b",
        ",,,",
        "undisclosed-recipients:;",
    ]
)


@st.composite
def structured_mail(draw: st.DrawFn) -> bytes:
    """Header lines in any order and form (repeats, encoded words, broken MIME) and a body."""
    lines = [
        f"{draw(HEADER_NAMES)}: {draw(HEADER_VALUES)}".replace("\r", " ").replace("\n", " ")
        for _ in range(draw(st.integers(0, 8)))
    ]
    body = draw(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


@fuzz(400)
@given(structured_mail())
def test_parse_mail_takes_any_headers_and_body(raw: bytes) -> None:
    result = parsed_or_refused(parse_mail, raw)
    if result is not None:
        assert_messages([result])
        InboundMessage.from_json(result.to_json())  # what the queue stores must load again


@fuzz(150)
@given(st.text(max_size=200), st.text(max_size=200), st.sampled_from(["plain", "html"]))
def test_parse_mail_takes_any_multipart_text(plain: str, html: str, first: str) -> None:
    mail = EmailMessage()
    mail["From"] = "Ann <ann@shop.test>"
    mail["Subject"] = "Question"
    mail.set_content(plain if first == "plain" else html, subtype=first)
    mail.add_alternative(html if first == "plain" else plain, subtype="html")
    result = parse_mail(mail.as_bytes())
    assert result.address == "ann@shop.test"


# --------------------------------------------------------------------------- hostile shapes

TELEGRAM_ID_LIMIT = 2**63


def assert_telegram_messages(result: list[InboundMessage] | None) -> None:
    """Every stored Telegram address is a real 64-bit integer id (a boolean is none)."""
    assert_messages(result)
    for message in result or []:
        assert -TELEGRAM_ID_LIMIT <= int(message.address) < TELEGRAM_ID_LIMIT, message.address
        assert message.address not in ("True", "False")


ODD_IDS = st.booleans() | st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1)


@st.composite
def telegram_with_odd_ids(draw: st.DrawFn) -> dict[str, Any]:
    """A valid private message with one id made a boolean or too big."""
    update: dict[str, Any] = {
        "update_id": 1,
        "message": {
            "message_id": 2,
            "from": {"id": 3, "is_bot": False, "first_name": "A"},
            "chat": {"id": 3, "type": "private"},
            "text": "hi",
        },
    }
    where = draw(st.sampled_from(["update_id", "message_id", "from", "chat"]))
    odd = draw(ODD_IDS)
    if where in ("from", "chat"):
        update["message"][where]["id"] = odd
    elif where == "message_id":
        update["message"]["message_id"] = odd
    else:
        update["update_id"] = odd
    return update


@fuzz(150)
@given(telegram_with_odd_ids())
def test_a_boolean_or_oversized_id_never_makes_a_customer_message(update: dict[str, Any]) -> None:
    body = json.dumps(update).encode()
    assert not parsed_or_refused(TelegramWebhook("s").parse, request(body))


@fuzz(300)
@given(telegram_like())
def test_telegram_addresses_are_real_64_bit_ints(update: dict[str, Any]) -> None:
    body = json.dumps(update).encode()
    assert_telegram_messages(parsed_or_refused(TelegramWebhook("s").parse, request(body)))


@fuzz(120)
@given(deep_or_huge())
def test_telegram_parse_refuses_deep_nesting_and_huge_numbers(body: bytes) -> None:
    try:
        TelegramWebhook("s").parse(request(body))
    except InvalidInput as exc:
        assert "refused" in exc.message
    else:
        raise AssertionError("accepted")


CHARSETS = st.sampled_from(
    ["utf-8", "latin-1", "koi8-r", "x-unknown", "bogus-8bit", "utf-7", "", "cp1252", "utf-16"]
)


@fuzz(200)
@given(st.binary(max_size=300), CHARSETS, st.sampled_from(["8bit", "quoted-printable", "base64"]))
def test_a_mail_with_a_from_address_is_never_refused_for_its_body(
    body: bytes, charset: str, encoding: str
) -> None:
    """Any charset name and any bytes: stored (decoded with a fallback), never refused."""
    head = (
        "From: =?utf-8?q?Na=00me?= <ann@shop.test>\r\nSubject: =?utf-8?q?S=00?=\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    result = parse_mail(head.encode() + body)
    assert result.address == "ann@shop.test"
    stored = InboundMessage.from_json(result.to_json())  # what the queue and database get
    assert stored.mail is not None
    for value in (stored.text, stored.display_name or "", stored.mail.subject):
        assert "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
