"""Hypothesis strategies for hostile input: any text, any JSON, payloads shaped like the
providers' with odd values in every field, and nesting or numbers past the parsers' limits."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Any code point, lone surrogates and NUL included: JSON can escape them all.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=30)
JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | ANY_TEXT
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
TELEGRAM_KEYS = st.sampled_from(
    ["update_id", "message", "edited_message", "channel_post", "callback_query", "my_chat_member"]
)
MESSAGE_KEYS = st.sampled_from(
    [
        "message_id",
        "from",
        "chat",
        "date",
        "text",
        "caption",
        "contact",
        "photo",
        "document",
        "voice",
        "sticker",
        "video",
        "location",
        "entities",
    ]
)
FORM_KEYS = st.sampled_from(
    [
        "From",
        "To",
        "Body",
        "MessageSid",
        "MessageStatus",
        "ErrorCode",
        "ErrorMessage",
        "NumMedia",
        "MediaUrl0",
        "MediaContentType0",
        "MediaUrl11",
        "ProfileName",
        "WaId",
        "SmsSid",
    ]
)


@st.composite
def telegram_like(draw: st.DrawFn) -> dict[str, Any]:
    """Updates shaped like Telegram's, with wrong types and odd values in every field."""
    message = draw(st.dictionaries(MESSAGE_KEYS, JSON, max_size=6))
    if draw(st.booleans()):
        user = {
            "id": draw(st.integers() | JSON),
            "is_bot": draw(st.booleans() | JSON),
            "first_name": draw(JSON),
            "last_name": draw(JSON),
            "language_code": draw(JSON),
        }
        message.update(
            message_id=draw(st.integers() | JSON),
            chat={"id": draw(JSON), "type": "private"},
            **{"from": user},
        )
    update = draw(st.dictionaries(TELEGRAM_KEYS, JSON, max_size=3))
    update.setdefault("update_id", draw(st.integers() | JSON))
    update["message"] = message
    return update


@st.composite
def deep_or_huge(draw: st.DrawFn) -> bytes:
    """A Telegram-like update with nesting past the limit or one number past its size."""
    kind = draw(st.sampled_from(["array", "object", "int", "float", "mixed"]))
    depth = draw(st.integers(65, 12_000))
    if kind == "array":
        inner = "[" * depth + "]" * depth
    elif kind == "object":
        inner = '{"a":' * depth + "1" + "}" * depth
    elif kind == "mixed":
        inner = '[{"a":' * (depth // 2) + "1" + "}]" * (depth // 2)
    elif kind == "int":
        inner = "-" * draw(st.integers(0, 1)) + "7" * draw(st.integers(41, 6000))
    else:
        inner = "1." + "5" * draw(st.integers(41, 6000))
    field = draw(st.sampled_from(["update_id", "message", "x"]))
    return ('{"update_id":1,"' + field + '":' + inner + "}").encode()
