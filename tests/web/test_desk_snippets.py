"""Search snippets: cut around the first hit, searched words (as prefixes) marked."""

from __future__ import annotations

from hub.queries.snippets import SNIPPET_CHARS, snippet_of


def test_a_snippet_marks_word_prefixes_case_insensitively() -> None:
    parts = snippet_of("Where is my Parcel? The parcels never came", "parc")
    assert [p for p, hit in parts if hit] == ["Parcel", "parcels"]
    assert "".join(p for p, _ in parts) == "Where is my Parcel? The parcels never came"


def test_a_long_message_is_cut_around_its_first_hit() -> None:
    text = "word " * 100 + "refund please " + "tail " * 100
    parts = snippet_of(text, "refund")
    shown = "".join(p for p, _ in parts)
    assert shown.startswith("…") and shown.endswith("…")
    assert "refund" in shown and len(shown) <= SNIPPET_CHARS + 2
    assert shown.index("refund") < 60


def test_a_search_without_words_shows_the_start() -> None:
    assert snippet_of("plain text", "!!") == [("plain text", False)]
