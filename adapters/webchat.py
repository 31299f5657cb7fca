"""Web chat: the socket's client frames (SPEC §4) read into typed values, pure, no I/O;
sending is a push to the visitor. The socket, visitor sessions and hub calls live in
`hub.web.webchat.socket`, which acts on what is read here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hub.domain.json_input import decode_json
from hub.domain.messages import DeliveryReceipt, OutboundMessage
from hub.domain.storable import UNSTORABLE, storable_text
from hub.domain.types import Channel

Push = Callable[[OutboundMessage], Awaitable[None]]

MAX_TEXT_CHARS = 10_000
MAX_CLIENT_ID_CHARS = 100
_IDENTIFY_FIELDS = ("name", "email", "phone", "identity_hash")


def error_frame(code: str, message: str) -> dict[str, str]:
    """The server's error frame: the visitor is told, the socket stays open."""
    return {"type": "error", "code": code, "message": message}


@dataclass(frozen=True, slots=True)
class FrameError:
    """A client frame refused as it was read."""

    code: str
    message: str

    def frame(self) -> dict[str, str]:
        return error_frame(self.code, self.message)


@dataclass(frozen=True, slots=True)
class Hello:
    """`{"type":"hello","visitor_token":T?}`. None: a new visitor. A token that is no
    string is read as "", which no visitor's token ever is (→ invalid_token)."""

    visitor_token: str | None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """`{"type":"message","text":S,"client_id":C,"attachments":[upload id...]?}`, as sent:
    the hub checks the attachments (signed upload ids) first, then `said` reads the rest."""

    text: object
    client_id: object
    attachments: object


@dataclass(frozen=True, slots=True)
class Said:
    """A message frame's checked text (made storable) and the widget's id for it."""

    text: str
    client_id: str


@dataclass(frozen=True, slots=True)
class Identify:
    """`{"type":"identify","name":N?,"email":E?,"phone":P?,"identity_hash":H?}`."""

    name: str | None
    email: str | None
    phone: str | None
    identity_hash: str | None


@dataclass(frozen=True, slots=True)
class Typing:
    """`{"type":"typing"}`."""


@dataclass(frozen=True, slots=True)
class Rate:
    """`{"type":"csat","rating":N,"conversation_id":C?}`: a star button of the satisfaction
    question (N a whole number 1–5; C, when given, the conversation the question was about)."""

    rating: int
    conversation_id: int | None


ClientFrame = Hello | ChatMessage | Identify | Typing | Rate


def _unstorable(value: str) -> bool:
    """NUL or a lone surrogate (JSON may escape both): no database text column holds them,
    and a message the database refuses would be retried forever after its frame was taken."""
    return UNSTORABLE.search(value) is not None


def read_frame(data: str | bytes) -> ClientFrame | FrameError:
    """One client frame: JSON (depth and number size capped) holding an object of a known
    type; anything else is refused with the error frame the visitor gets."""
    try:
        frame = decode_json(data)
    except ValueError:
        return FrameError("invalid_json", "frames are JSON objects")
    if not isinstance(frame, dict):
        return FrameError("invalid_json", "frames are JSON objects")
    kind = frame.get("type")
    if kind == "message":
        return ChatMessage(frame.get("text"), frame.get("client_id"), frame.get("attachments"))
    if kind == "identify":
        return _identify(frame)
    if kind == "typing":
        return Typing()
    if kind == "hello":
        token = frame.get("visitor_token")
        return Hello(token if token is None or isinstance(token, str) else "")
    if kind == "csat":
        return _rate(frame)
    return FrameError("unknown_type", f"unknown frame type {kind!r}")


def _whole(value: object) -> int | None:
    # bool is an int in Python: `true` is no rating.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rate(frame: dict[str, object]) -> Rate | FrameError:
    rating = _whole(frame.get("rating"))
    if rating is None or not 1 <= rating <= 5:
        return FrameError("invalid_rating", "rating must be a whole number from 1 to 5")
    conversation_id = frame.get("conversation_id")
    if conversation_id is not None and (_whole(conversation_id) or 0) <= 0:
        return FrameError("invalid_rating", "conversation_id must be a conversation's id")
    return Rate(rating, _whole(conversation_id))


def said(message: ChatMessage, with_files: bool) -> Said | FrameError:
    """The text and client id of a message frame whose files (if any) the hub accepted:
    a text is needed unless files came; NUL and lone surrogates become U+FFFD, as email
    does with NUL."""
    text, client_id = message.text, message.client_id
    if with_files and text is None:
        text = ""  # a file alone
    if not isinstance(text, str) or not (text.strip() or with_files):
        return FrameError("invalid_message", "text must be a non-empty string")
    if len(text) > MAX_TEXT_CHARS:
        return FrameError("too_long", f"at most {MAX_TEXT_CHARS} characters")
    if (
        not isinstance(client_id, str)
        or not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS
        or _unstorable(client_id)
    ):
        return FrameError("invalid_message", "client_id must be a short string")
    return Said(storable_text(text), client_id)


def _identify(frame: dict[str, object]) -> Identify | FrameError:
    fields = [frame.get(key) for key in _IDENTIFY_FIELDS]
    if any(v is not None and (not isinstance(v, str) or _unstorable(v)) for v in fields):
        return FrameError("invalid_identify", "identify fields are strings")
    name, email, phone, identity_hash = (v if isinstance(v, str) else None for v in fields)
    return Identify(name, email, phone, identity_hash)


class WebchatSender:
    """Replies reach open sockets live; an offline visitor sees them in the welcome history."""

    channel = Channel.WEBCHAT
    max_text_length = 20_000

    def __init__(self, push: Push) -> None:
        self._push = push

    async def send(self, message: OutboundMessage) -> DeliveryReceipt:
        await self._push(message)
        return DeliveryReceipt(external_id=None)

    async def close(self) -> None:
        return None
