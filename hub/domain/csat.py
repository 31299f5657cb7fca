"""Reading a customer's 1–5 satisfaction answer out of a chat reply: pure, no I/O.

A reply counts only when it is nothing but a rating ("5", "5/5", "5 stars", "4 из 5",
"5️⃣", "★★★★"); "5 days late" or an order number is an ordinary message.
"""

from __future__ import annotations

import re
import unicodedata

MAX_RATING_CHARS = 40
LOWEST, HIGHEST = 1, 5
SATISFIED = 4  # 4 and 5 count as satisfied in reports

_KEYCAP = re.compile(r"([0-9])\ufe0f?\u20e3")
_STARS_ONLY = re.compile(r"(?:⭐|★|🌟|\*)\ufe0f?")
_PREFIX = re.compile(r"^(?:rating|rate|score|оценка|моя оценка|ставлю|i give|i'd give)\s*[:\-]?\s*")
_RATING = re.compile(
    r"^(?P<n>[0-9]+)\s*"
    r"(?:"
    r"|(?:/|из|of|out of)\s*5"
    r"|\*+|⭐\ufe0f?|★"
    r"|stars?|star rating|points?"
    r"|зв[её]зд(?:а|ы|очки|очек)?|балл(?:а|ов)?"
    r")$"
)
_TRAILING = ".,!?;:)( \t\n\r\u00a0"


def parse_rating(text: str) -> int | None:
    """The rating 1–5 that `text` is, or None when it is anything else."""
    if not text or len(text) > MAX_RATING_CHARS:
        return None
    # NFKC makes full-width digits plain; keycap emoji (5️⃣) become their digit.
    clean = _KEYCAP.sub(r"\1", unicodedata.normalize("NFKC", text))
    clean = " ".join(clean.lower().split()).strip(_TRAILING)
    if not clean:
        return None
    if _STARS_ONLY.sub("", clean.replace(" ", "")) == "":
        count = len(_STARS_ONLY.findall(clean.replace(" ", "")))
        return count if LOWEST <= count <= HIGHEST else None
    clean = _PREFIX.sub("", clean)
    found = _RATING.match(clean)
    if found is None:
        return None
    value = int(found.group("n"))
    return value if LOWEST <= value <= HIGHEST else None


def is_satisfied(rating: int) -> bool:
    return rating >= SATISFIED
