"""Typo-tolerant word matching for Russian and English, small and dependency-free (the FAQ
bot's variants; what a message asks is the intent model's, bots/intents.py).

A lexicon entry is a stem with how it may end:
- "заказ|а|у|ом" : the stem with exactly these endings (or none): noun forms, not the verb;
- "привез*"      : anything starting with the stem (verb forms, inflections);
- "где"          : the word itself.
A word matches when its stem part is within a small edit distance of the entry's stem:
none for stems of up to 4 letters except one swap of neighbours ("wehn"), one edit up to
7 letters, two from 8. Real words that merely look like a stem ("shop" vs "ship",
"there" vs "where") are never corrected: words in KNOWN are taken as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[a-zа-я0-9]+")

# Common words that sit one edit away from a lexicon stem: never "corrected".
KNOWN = frozenset(
    """there here wear shop show ship sheep hope home some same done dine when then
    them than what that whet sell tell well bell fell call all order older border other
    rather truck trick track sure stature statue status starts state stats stay path
    items item time times ore are arrive parcel cancel tracks sort sorted
    указ показ рассказ отказ приказ заказчик где все вот тот там так как сам""".split()
)


_CACHE_SIZE = 50_000
_STUTTER = re.compile(r"([a-zа-я])\1{2,}")


def words(text: str) -> list[str]:
    """Lower-cased words of `text`: ё read as е, a letter held down ("заааказ") once,
    punctuation dropped."""
    return _WORD.findall(_STUTTER.sub(r"\1", text.lower().replace("ё", "е")))


def distance(a: str, b: str, limit: int) -> int:
    """Edit distance with swaps of neighbours (optimal string alignment), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _close(part: str, stem: str) -> bool:
    if part == stem:
        return True
    if len(stem) <= 4:
        # Short words: only two neighbours swapped ("wehn", "hwo"), never another letter.
        return (
            len(part) == len(stem)
            and sorted(part) == sorted(stem)
            and sum(x != y for x, y in zip(part, stem, strict=True)) == 2
        )
    return distance(part, stem, 1 if len(stem) <= 7 else 2) <= (1 if len(stem) <= 7 else 2)


@dataclass(frozen=True, slots=True)
class Entry:
    stem: str
    endings: frozenset[str] | None  # None: any ending (a prefix)

    @classmethod
    def parse(cls, spec: str) -> Entry:
        if spec.endswith("*"):
            return cls(spec[:-1], None)
        stem, *endings = spec.split("|")
        return cls(stem, frozenset(["", *endings]))

    def matches(self, word: str, fuzzy: bool = True) -> bool:
        fuzzy = fuzzy and word not in KNOWN
        if self.endings is None:
            if word.startswith(self.stem):
                return True
            # A dropped letter is only guessed in longer stems: "плат" is not "оплат".
            shorter = len(self.stem) - 1 if len(self.stem) >= 6 else len(self.stem)
            return fuzzy and any(
                _close(word[:n], self.stem)
                for n in (shorter, len(self.stem), len(self.stem) + 1)
                if 0 < n <= len(word) and len(self.stem) > 4
            )
        for ending in self.endings:
            if ending and not word.endswith(ending):
                continue
            part = word[: len(word) - len(ending)] if ending else word
            if part == self.stem or (fuzzy and part and _close(part, self.stem)):
                return True
        return False


class Lexicon:
    """A set of entries; `hit` tells whether any word of a message matches one of them."""

    def __init__(self, specs: Iterable[str]) -> None:
        self.entries = [Entry.parse(s) for s in " ".join(specs).split()]
        # Words repeat a lot and fuzzy matching is the bots' main CPU cost: remember answers.
        self._seen: dict[tuple[str, bool], bool] = {}

    def match(self, word: str, fuzzy: bool = True) -> bool:
        key = (word, fuzzy)
        found = self._seen.get(key)
        if found is None:
            if len(self._seen) >= _CACHE_SIZE:
                self._seen.clear()
            found = self._seen[key] = any(entry.matches(word, fuzzy) for entry in self.entries)
        return found

    def match_any(self, message_words: Iterable[str]) -> bool:
        return self.hit(message_words) is not None

    def hit(self, message_words: Iterable[str]) -> str | None:
        """The first word that matches, or None."""
        return next((w for w in message_words if self.match(w)), None)
