"""What the intent model sees of a message: words, character n-grams and a few shapes.

Customers misspell, stretch letters ("гдеее"), write Russian in Latin letters ("gde moy
zakaz", "4to s zakazom") and mix both alphabets. Character n-grams (2 to 5 letters, inside
word boundaries) make a typo cost a few features instead of the whole word; the Cyrillic
reading of a Latin word (bots/translit) adds the n-grams it would have had in Cyrillic, so
"zakaz" and "заказ" share most features. The reading is an extra feature, never a rule: the
model learns how much to trust it. Numbers are seen by shape only (how many digits, after
"#" or "№", phone-like), never by value.
"""

from __future__ import annotations

import functools
import re

from bots.translit import to_cyrillic

# The model reads at most this much of a message (its question is asked in the first lines).
MAX_CHARS = 2000
_STRETCH = re.compile(r"([^\W\d_])\1{2,}")
_TOKEN = re.compile(r"[#№]|https?://|www\.|[a-zа-я0-9']+|\?")
_PHONE = re.compile(r"(?<![\w#№])\+?\d[\d ()-]{8,}\d")
_SIZES = ((1, "1"), (2, "2"), (3, "3"), (6, "4-6"), (12, "7-12"))


def normalise(text: str) -> str:
    """Lower case, ё read as е, a letter held down ("гдееее", "pleeease") read once."""
    return _STRETCH.sub(r"\1", text[:MAX_CHARS].lower().replace("ё", "е"))


def _grams(word: str) -> list[str]:
    padded = f"<{word}>"
    return [
        padded[i : i + n]
        for n in range(2, 6)
        for i in range(len(padded) - n + 1)
        if n < len(padded) or i == 0
    ]


@functools.lru_cache(maxsize=20_000)
def word_features(word: str) -> tuple[str, ...]:
    """A word's own features, and those of its Cyrillic reading if it is Latin."""
    if word.isdigit():
        if len(word) == 4 and word[:2] in ("19", "20"):
            return ("d:year",)
        return (f"d:{min(len(word), 8)}",)
    found = [f"w:{word}", *_grams(word)]
    reading = to_cyrillic(word)
    if reading is not None and reading != word:
        found += [f"w:{reading}", *_grams(reading)]
    return tuple(found)


def parts(text: str) -> tuple[list[str], list[str]]:
    """A message's words (each stands for its `word_features`) and its other features
    (shapes, word bigrams): the model sums a word's rows once per word and remembers them,
    so a message costs one lookup per word and bigram, not one per n-gram."""
    clean = normalise(text)
    tokens = _TOKEN.findall(_PHONE.sub(" ☎ ", clean))
    words: list[str] = []
    found = ["bias"]
    links = 0  # a link counts as a word in the message's length
    if _PHONE.search(clean):
        found.append("s:phone")
    previous = "^"
    last = ""
    for token in tokens:
        if token in ("#", "№"):
            found.append("s:hash")
        elif token == "?":
            found.append("s:question")
        elif token.startswith(("http", "www")):
            found.append("s:link")
            links += 1
        else:
            words.append(token)
            if last in ("#", "№") and token[0].isdigit():
                found.append("s:hash-number")
            key = "0" if token.isdigit() else token
            found.append(f"b:{previous} {key}")
            reading = to_cyrillic(token)
            if reading is not None and previous != "^":
                found.append(f"b:{to_cyrillic(previous) or previous} {reading}")
            previous = key
        last = token
    length = len(words) + links
    found.append(f"len:{next((s for n, s in _SIZES if length <= n), '13+')}")
    if not length:
        found.append("s:no-words")
    return words, found


def features(text: str) -> list[str]:
    """The features of a message, in a stable order (duplicates kept: they count)."""
    words, found = parts(text)
    for word in words:
        found += word_features(word)
    return found
