"""What counts as a satisfaction answer: a bare 1–5 in the forms people type, RU and EN."""

from __future__ import annotations

import pytest

from hub.domain.csat import is_satisfied, parse_rating


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        ("1", 1),
        (" 4 ", 4),
        ("3!", 3),
        ("5.", 5),
        ("5/5", 5),
        ("4 / 5", 4),
        ("4 из 5", 4),
        ("4 of 5", 4),
        ("5 out of 5", 5),
        ("5 stars", 5),
        ("1 star", 1),
        ("5*", 5),
        ("5 ⭐", 5),
        ("3 звезды", 3),
        ("5 звёзд", 5),
        ("1 звезда", 1),
        ("4 балла", 4),
        ("Оценка: 4", 4),
        ("rating 2", 2),
        ("5️⃣", 5),
        ("5⃣", 5),
        ("４", 4),  # full-width digit
        ("⭐⭐⭐⭐", 4),
        ("★★", 2),
        ("*****", 5),
    ],
)
def test_a_bare_rating_is_read(text: str, rating: int) -> None:
    assert parse_rating(text) == rating


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0",
        "6",
        "10",
        "1042",  # an order number
        "5 days late",
        "where is my order 5",
        "5.5",
        "3-4",
        "12/5",
        "5/10",
        "five",
        "пять",
        "******",  # six stars
        "5 stars " + "x" * 50,
        "0️⃣",
        "спасибо",
    ],
)
def test_anything_else_is_an_ordinary_message(text: str) -> None:
    assert parse_rating(text) is None


def test_four_and_five_are_satisfied() -> None:
    assert [is_satisfied(n) for n in range(1, 6)] == [False, False, False, True, True]
