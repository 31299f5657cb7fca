"""Order numbers in a customer's message, by rules (the intent model says what is asked,
these say which order).

An order number is one the customer has (`known`, found even written bare: "1042 где?"),
or one written after "#", "№" or an order word ("order 1042", "заказ №A-77", "zakaz 5521").
Never a phone number ("+7 916 123-45-67"), a year ("2024"), a price ("1500 руб", "$25",
"49.99") or a postcode ("119002", "SW1A 1AA"): a bare number the customer does not have is
not read, and those shapes are skipped even after an order word.
"""

from __future__ import annotations

import re
from collections.abc import Collection

# Words after which a number names an order, in the forms customers write them.
_ORDER_WORD = (
    r"(?:orders?|order\s+(?:no|number|num|nr|id)|ord|zakaz\w*|заказ\w*|замовлення|замовлення\w*"
    r"|номер(?:\s+заказа)?|nomer(?:\s+zakaza)?|no|nr|number|n)"
)
_REF = re.compile(
    rf"(?:[#№]|\b{_ORDER_WORD}\b\.?(?:\s+(?:is|was|это|-|—))?\s*[:#№]?)\s*([a-z]{{0,4}}-?\d[\d-]{{1,14}}\d)(?!\d|[.,]\d)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"(?<![\w+#№.,])([a-z]{0,4}-?\d[\d-]*\d)(?!\w|[.,]\d)", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w#№])\+?\d[\d ()-]{8,}\d")
_MONEY = re.compile(
    r"(?:[$€£₽]\s*\d[\d\s]*|\d[\d\s]*(?:[.,]\d+)?\s*(?:руб|р\b|rub|eur|usd|евро|долл|\$|€|£|₽))",
    re.IGNORECASE,
)


def _is_year(token: str) -> bool:
    return token.isdigit() and len(token) == 4 and 1900 <= int(token) <= 2099


def _blank(pattern: re.Pattern[str], text: str) -> str:
    """`text` with what `pattern` finds replaced by spaces (positions kept)."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def order_numbers(text: str, known: Collection[str] = ()) -> tuple[str, ...]:
    """The order numbers `text` names, in order of appearance, each once."""
    clean = _blank(_MONEY, _blank(_PHONE, text))
    by_key = {_key(k): k for k in known}
    found: list[str] = []

    def add(number: str) -> None:
        if number not in found:
            found.append(number)

    spans: list[tuple[int, int, str]] = []
    for match in _REF.finditer(clean):
        token = match.group(1)
        if not _is_year(token):
            spans.append((match.start(1), match.end(1), token))
    for match in _TOKEN.finditer(clean):
        token = match.group(1)
        if _key(token) in by_key:
            spans.append((match.start(1), match.end(1), token))
    for _, _, token in sorted(spans):
        add(by_key.get(_key(token), token.upper()))
    return tuple(found)


def _key(number: str) -> str:
    """How numbers are compared with the customer's: case and dashes do not matter."""
    return number.upper().replace("-", "")
