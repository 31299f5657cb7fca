"""Web chat client frames (SPEC §4) as the adapter reads them: typed, or the error the visitor
gets. The socket's behaviour with them is in tests/web/test_webchat.py and tests/security."""

from __future__ import annotations

import json

import pytest

from adapters.webchat import (
    MAX_TEXT_CHARS,
    ChatMessage,
    FrameError,
    Hello,
    Identify,
    Said,
    Typing,
    read_frame,
    said,
)


def _read(frame: object) -> object:
    return read_frame(json.dumps(frame))


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"hello"', "[" * 100 + "]" * 100])
def test_anything_but_a_json_object_is_invalid_json(data: str) -> None:
    assert read_frame(data) == FrameError("invalid_json", "frames are JSON objects")


def test_each_frame_type_reads_into_its_type() -> None:
    assert _read({"type": "hello"}) == Hello(None)
    assert _read({"type": "hello", "visitor_token": "v_1.sig"}) == Hello("v_1.sig")
    assert _read({"type": "hello", "visitor_token": 7}) == Hello("")  # never a valid token
    assert _read({"type": "typing", "extra": 1}) == Typing()
    assert _read({"type": "message", "text": "hi", "client_id": "c1"}) == ChatMessage(
        "hi", "c1", None
    )
    assert _read({"type": "identify", "email": "a@b.test"}) == Identify(
        None, "a@b.test", None, None
    )
    assert _read({"type": "nope"}) == FrameError("unknown_type", "unknown frame type 'nope'")
    assert _read({}) == FrameError("unknown_type", "unknown frame type None")


@pytest.mark.parametrize("value", [1, ["a"], "a\x00b", "\ud800"])
def test_identify_fields_are_storable_strings(value: object) -> None:
    frame = {"type": "identify", "name": "Ann", "phone": value}
    assert _read(frame) == FrameError("invalid_identify", "identify fields are strings")


def test_a_message_needs_text_unless_files_came() -> None:
    def check(text: object, client_id: object = "c1", files: bool = False) -> object:
        return said(ChatMessage(text, client_id, None), with_files=files)

    invalid = FrameError("invalid_message", "text must be a non-empty string")
    assert check("hello") == Said("hello", "c1")
    assert check(None) == invalid and check("  ") == invalid and check(5) == invalid
    assert check(None, files=True) == Said("", "c1") and check(" ", files=True) == Said(" ", "c1")
    assert check("x" * (MAX_TEXT_CHARS + 1)) == FrameError(
        "too_long", f"at most {MAX_TEXT_CHARS} characters"
    )
    short = FrameError("invalid_message", "client_id must be a short string")
    assert check("hi", "") == short and check("hi", "x" * 101) == short
    assert check("hi", "a\x00") == short and check("hi", 3) == short
    assert check("a\x00b") == Said("a\ufffdb", "c1")  # stored as email stores NUL
