"""Russian typed in Latin letters ("gde moy zakaz", "kogda privezut"), read back as Cyrillic.

People without a Russian keyboard write Russian the way it sounds, with no one standard:
"zh"/"j" for ж, "ch" for ч, "y" for both ы and й. This maps the common spellings to the
most likely Cyrillic; the matchers then read both forms, and their typo tolerance absorbs
what the mapping gets a letter wrong ("skolko" → "сколко" is one edit from "сколько").
"""

from __future__ import annotations

import functools
import re

_LATIN_WORD = re.compile(r"[a-z'346]*[a-z][a-z'346]*")
_VOWELS = frozenset("aeiouy")
# Longest first: "shch" before "sh", "sh" before "s".
_GROUPS = (
    ("shch", "щ"),
    ("sch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ts", "ц"),
    ("ya", "я"),
    ("yu", "ю"),
    ("yo", "е"),
    ("ye", "е"),
    ("ja", "я"),
    ("ju", "ю"),
)
_LETTERS = {
    **dict(zip("abcdefghijklmnopqrstuvz", "абцдефгхийклмнопкрстувз", strict=True)),
    "w": "в",
    "x": "кс",
    "'": "ь",
    # Digits for letters that Latin lacks, in words that have letters ("4to", "zakaz4ik").
    "4": "ч",
    "6": "ш",
    "3": "з",
}


@functools.lru_cache(maxsize=8192)
def to_cyrillic(word: str) -> str | None:
    """The Cyrillic reading of a lower-case Latin word (maybe with 4/6/3 for ч/ш/з), or None
    for anything else."""
    if not _LATIN_WORD.fullmatch(word):
        return None
    out: list[str] = []
    i = 0
    while i < len(word):
        for latin, cyrillic in _GROUPS:
            if word.startswith(latin, i):
                out.append(cyrillic)
                i += len(latin)
                break
        else:
            letter = word[i]
            if letter == "y":
                # After a vowel "y" is й ("moy", "pozhaluysta"), else ы ("posylka").
                out.append("й" if i > 0 and word[i - 1] in _VOWELS else "ы")
            else:
                out.append(_LETTERS.get(letter, letter))
            i += 1
    return "".join(out)
