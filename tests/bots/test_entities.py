"""Order numbers are read by rules: the customer's own ones, or after #, № or an order word;
never a phone number, a year, a price or a postcode."""

from __future__ import annotations

import pytest

from bots.entities import order_numbers


@pytest.mark.parametrize(
    ("text", "known", "expected"),
    [
        ("где мой заказ 1042", (), ("1042",)),
        ("#58213?", (), ("58213",)),
        ("№ 4471 где", (), ("4471",)),
        ("zakaz 5521 kogda", (), ("5521",)),
        ("order no. 77812 status", (), ("77812",)),
        ("my order number is 12345, thanks", (), ("12345",)),
        ("1042 где?", ("1042",), ("1042",)),
        ("a-10442 status", ("A-10442",), ("A-10442",)),
        ("заказ №A-77123 и заказ 8801", (), ("A-77123", "8801")),
    ],
)
def test_order_numbers_are_read(
    text: str, known: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert order_numbers(text, known) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1042 где?",  # bare, and not one of the customer's
        "+7 916 123-45-67",
        "call me at 8 (916) 123 45 67 about my order",
        "order 2024",
        "заказ в 2024 году",
        "it cost 1500 руб",
        "заказ на 2990 рублей",
        "order for $25",
        "it was 49.99",
        "my postcode is 119002",
        "доставка на индекс 10115",
    ],
)
def test_never_a_phone_a_year_a_price_or_a_postcode(text: str) -> None:
    assert order_numbers(text, known=("5521",)) == ()
