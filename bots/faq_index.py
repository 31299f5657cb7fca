"""How close a message is to each question variant of the FAQ: TF-IDF cosine over character
3- to 5-grams, in both alphabets.

Why n-grams and not words: customers misspell ("shiping"), inflect ("возврата", "returns")
and write Russian in Latin letters ("vozvrat tovara"); each costs a few n-grams, not the
word. A Latin word also gives the n-grams of its Cyrillic reading (bots/translit.py), so
"vozvrat" meets "возврат". The inverse document frequency is counted over the knowledge
file's entries: n-grams every entry has ("how do i", "как") weigh little, an entry's own
words ("возврат", "shipping") weigh most. N-grams the knowledge file never has still count
in the message's length (at the weight of the rarest), so a long message that merely
contains a variant's word scores lower than the bare question.

Built once per knowledge file; a message costs one pass over its n-grams (cached per word)
and one posting list per known n-gram.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Sequence

from bots.translit import to_cyrillic
from bots.words import words

# N-grams of these lengths, inside word boundaries (a word is padded with one space).
SHORTEST, LONGEST = 3, 5
# Up to this many docs a word's share of the dot products is kept as one row per word (a
# message then sums a row per word); a bigger knowledge file is scored n-gram by n-gram.
ROW_DOCS = 256
# How many words' rows an index remembers (cleared when full).
WORD_CACHE = 4096
# Words that ask ("how", "можно") or name what every shop question is about ("order",
# "товар") say nothing of the topic: with a handful of entries the IDF cannot learn that.
# Their n-grams count at this share of their weight.
FUNCTION_WEIGHT = 0.5
FUNCTION_WORDS = frozenset(
    """a an the i me my you your we our us it its is are am be was were do does did can
    could would will shall should may might have has had of to in on at for with about from
    by and or but if so then what whats what's which who when where why how much many long
    there this that these those any some get got please ok okay hi hello thanks also just
    order orders item items product products thing something
    я мне меня мой моя мое мои вы вас вам ваш ваша ваше ваши мы нас нам наш это этот эта
    тот та то и а но или ли же бы не ни да нет в во на с со к ко по о об от до за из у для
    как какой какая какое какие каков когда где куда почему зачем что чем кто сколько
    можно нужно надо есть ну ок пожалуйста подскажите скажите здравствуйте привет спасибо
    заказ заказа заказу заказом товар товара товару товаром вещь""".split()
)


def _grams(word: str) -> list[str]:
    padded = f" {word} "
    return [
        padded[i : i + n] for n in range(SHORTEST, LONGEST + 1) for i in range(len(padded) - n + 1)
    ]


@functools.lru_cache(maxsize=20_000)
def word_grams(word: str) -> tuple[tuple[str, ...], float]:
    """A word's n-grams (and those of its Cyrillic reading when it is Latin), and how much
    each counts."""
    found = _grams(word)
    reading = to_cyrillic(word)
    if reading is not None and reading != word:
        found += _grams(reading)
    function = word in FUNCTION_WORDS or (reading or "") in FUNCTION_WORDS
    return tuple(found), FUNCTION_WEIGHT if function else 1.0


def gram_counts(text: str) -> dict[str, float]:
    """Each n-gram of `text` and its count, a function word's n-grams counting less."""
    counts: dict[str, float] = {}
    get = counts.get
    for word in words(text):
        grams, weight = word_grams(word)
        for gram in grams:
            counts[gram] = get(gram, 0.0) + weight
    return counts


def _tf(count: float) -> float:
    """Sublinear: a word said twice is not twice the question."""
    return 1.0 + math.log(count) if count > 1.0 else count


class SimilarityIndex:
    """Cosine similarity of a text to each of `docs` (the variants), with `groups[i]` the
    entry doc i belongs to: document frequency is counted per entry, so an entry's many
    wordings of the same word do not make that word common."""

    def __init__(self, docs: Sequence[str], groups: Sequence[int]) -> None:
        self.size = len(docs)
        counts = [gram_counts(doc) for doc in docs]
        per_entry: dict[int, set[str]] = {}
        for group, found in zip(groups, counts, strict=True):
            per_entry.setdefault(group, set()).update(found)
        entries = len(per_entry)
        df = Counter(gram for grams in per_entry.values() for gram in grams)
        self.idf = {g: math.log((1 + entries) / (1 + d)) + 1.0 for g, d in df.items()}
        self.unseen = math.log(1 + entries) + 1.0  # an n-gram no entry has
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for doc, found in enumerate(counts):
            vector = {g: _tf(tf) * self.idf[g] for g, tf in found.items()}
            norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
            for gram, value in vector.items():
                self.postings.setdefault(gram, []).append((doc, value / norm))
        # One lookup per n-gram of a message: its IDF and posting list together.
        self._known = {g: (self.idf[g], tuple(p)) for g, p in self.postings.items()}

        self._words: dict[str, tuple[dict[str, float], tuple[float, ...] | None, float]] = {}

    def _word(self, word: str) -> tuple[dict[str, float], tuple[float, ...] | None, float]:
        """A word's n-gram counts, its share of the dot products with every doc and of the
        message's squared length, as if no other word of the message shared an n-gram."""
        cached = self._words.get(word)
        if cached is None:
            grams, weight = word_grams(word)
            counts: dict[str, float] = {}
            for gram in grams:
                counts[gram] = counts.get(gram, 0.0) + weight
            dots = [0.0] * self.size
            norm2 = 0.0
            for gram, tf in counts.items():
                idf, postings = self._known.get(gram, (self.unseen, ()))
                value = _tf(tf) * idf
                norm2 += value * value
                for doc, share in postings:
                    dots[doc] += value * share
            cached = (counts, tuple(dots) if any(dots) else None, norm2)
            if len(self._words) >= WORD_CACHE:
                self._words.clear()
            self._words[word] = cached
        return cached

    def scores(self, text: str) -> list[float]:
        """The cosine of `text` to each doc, in doc order (all 0.0 for a text of no word)."""
        if self.size > ROW_DOCS:
            return self._scores_by_gram(text)
        parts = [self._word(word) for word in words(text)]
        rows = [row for _, row, _ in parts if row is not None]
        dots = [sum(column) for column in zip(*rows, strict=True)] if rows else [0.0] * self.size
        norm2 = sum(n for _, _, n in parts)
        # An n-gram in more than one word (a word said twice, a common syllable) counts once
        # with the message's count: each word's share of it is replaced. Found by set
        # operations in C (a message shares a few n-grams, if any).
        seen: set[str] = set()
        shared: set[str] = set()
        for counts, _, _ in parts:
            if not seen.isdisjoint(counts):
                shared.update(seen.intersection(counts))
            seen.update(counts)
        for gram in shared:
            each = [counts[gram] for counts, _, _ in parts if gram in counts]
            idf, postings = self._known.get(gram, (self.unseen, ()))
            right = _tf(sum(each)) * idf
            apart = [_tf(count) * idf for count in each]
            norm2 += right * right - sum(v * v for v in apart)
            delta = right - sum(apart)
            for doc, share in postings:
                dots[doc] += delta * share
        if norm2 <= 0.0:
            return [0.0] * self.size
        scale = 1.0 / math.sqrt(norm2)
        return [d * scale for d in dots]

    def _scores_by_gram(self, text: str) -> list[float]:
        """`scores` one n-gram at a time (for a knowledge file of many docs)."""
        dots = [0.0] * self.size
        norm2 = 0.0
        known, unseen, log = self._known, self.unseen, math.log
        for gram, tf in gram_counts(text).items():
            if tf > 1.0:  # _tf, inlined
                tf = 1.0 + log(tf)
            entry = known.get(gram)
            if entry is None:
                weight = tf * unseen
                norm2 += weight * weight
                continue
            weight = tf * entry[0]
            norm2 += weight * weight
            for doc, value in entry[1]:
                dots[doc] += weight * value
        if not norm2:
            return dots
        scale = 1.0 / math.sqrt(norm2)
        return [d * scale for d in dots]
