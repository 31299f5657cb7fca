"""What a customer's message asks: one of LABELS, read by a small linear model.

The model (`intent_model.json.gz`, trained by `hub bots train` from `bots/intent_corpus/`,
see bots/intent_train.py and docs/BOTS.md) holds one weight per (feature, label) for the
features of bots/intent_features.py; a message's label is the one with the highest sum, its
confidence the softmax of those sums. Pure Python, loaded once on first use, deterministic.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import math
import sys
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path

from bots.intent_features import parts, word_features

LABELS = (
    "order_status",
    "delivery_time",
    "cancel",
    "return_refund",
    "address_change",
    "payment",
    "damaged_wrong",
    "lost_parcel",
    "human",
    "thanks",
    "greeting",
    "other",
)
MODEL_FILE = Path(__file__).with_name("intent_model.json.gz")
# A message of which less than this share of words is known to the model reads as "other".
UNKNOWN_WORDS = 0.25
# The saved weights' resolution (they are stored as whole multiples of it).
WEIGHT_UNIT = 0.01
# An order_status reading less sure than this gives way to the runner-up label: a status
# answer to a question that was not one is the costlier mistake. Chosen on the validation
# halves intent_valid4.tsv and intent_valid2.tsv for the model trained on hand-written
# phrases (order_status P/R at 0.4: 0.958/0.964 and 0.960/0.996; at 0.5: 0.964/0.960 and
# 0.967/0.996; at 0.55 recall falls to 0.955).
STATUS_MIN_CONFIDENCE = 0.50
# How many words' summed rows a model remembers (a word costs ≈ 0.4 kB; cleared when full).
WORD_CACHE = 20_000


@dataclass(frozen=True, slots=True)
class Intent:
    label: str
    confidence: float


class IntentModel:
    """Per-feature weights, one per label: a message scores each label by summing its
    features' weights.

    Held compactly (loaded once per process, and `hub run`'s idle RSS has a budget): the
    file is a block of 16-bit weight units read straight into an array (no per-weight JSON
    objects to parse), kept as one tuple per feature of shared floats."""

    def __init__(self, labels: tuple[str, ...], weights: dict[str, dict[str, float]]) -> None:
        rows: dict[str, list[float]] = {}
        for k, label in enumerate(labels):
            for feature, value in weights.get(label, {}).items():
                rows.setdefault(feature, [0.0] * len(labels))[k] = value
        names = sorted(rows)
        self._set(labels, names, array("f", (v for f in names for v in rows[f])))

    def _set(self, labels: tuple[str, ...], names: list[str], flat: array[float]) -> None:
        # One tuple of weights per feature: a message costs one lookup per feature, and its
        # rows are summed column by column in C (a third faster than slicing `flat`). Equal
        # weights (whole multiples of WEIGHT_UNIT) share one float object.
        self.labels = labels
        width = len(labels)
        self._zero = [0.0] * width
        self._status = labels.index("order_status") if "order_status" in labels else -1
        # word -> (its features' rows summed, how many features, how many of them are
        # whole words "w:...", how many of those the model knows)
        self._words: dict[str, tuple[tuple[float, ...] | None, int, int, int]] = {}
        shared: dict[float, float] = {}
        self._rows = {
            name: tuple(shared.setdefault(v, v) for v in flat[i * width : (i + 1) * width])
            for i, name in enumerate(names)
        }

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        units = array("h", base64.b64decode(data["weights"]))
        if sys.byteorder == "big":
            units.byteswap()
        unit = float(data["unit"])
        model = cls.__new__(cls)
        model._set(tuple(data["labels"]), data["features"], array("f", (v * unit for v in units)))
        return model

    def save(self, path: Path) -> None:
        """Feature names, then every weight as a whole multiple of WEIGHT_UNIT in 16 bits,
        row after row (base64): a small file, the same bytes for the same model."""
        names = sorted(self._rows)
        units = array("h")
        for name in names:
            units.extend(max(-32767, min(32767, round(v / WEIGHT_UNIT))) for v in self._rows[name])
        if sys.byteorder == "big":
            units.byteswap()
        data = {
            "labels": list(self.labels),
            "unit": WEIGHT_UNIT,
            "features": names,
            "weights": base64.b64encode(units.tobytes()).decode(),
        }
        # No name and no time in the gzip header: the same weights give the same bytes.
        with path.open("wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as f:
            f.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())

    @property
    def size(self) -> int:
        """How many features carry a weight."""
        return len(self._rows)

    def scores(self, feats: list[str]) -> list[float]:
        found = [row for row in map(self._rows.get, feats) if row is not None]
        return [sum(column) for column in zip(*found, strict=True)] if found else self._zero[:]

    def forget_words(self) -> None:
        """Drop the summed rows of the words seen so far (to measure a cold start)."""
        self._words.clear()

    def _word(self, word: str) -> tuple[tuple[float, ...] | None, int, int, int]:
        """A word's rows summed once (a word has 10-40 n-gram features, a message repeats
        the same few hundred words): a message then costs one row per word and bigram."""
        cached = self._words.get(word)
        if cached is None:
            feats = word_features(word)
            rows = [row for row in map(self._rows.get, feats) if row is not None]
            whole = [f for f in feats if f.startswith("w:")]
            cached = (
                tuple(map(sum, zip(*rows, strict=True))) if rows else None,
                len(feats),
                len(whole),
                sum(1 for f in whole if f in self._rows),
            )
            if len(self._words) >= WORD_CACHE:
                self._words.clear()
            self._words[word] = cached
        return cached

    def classify(self, text: str) -> Intent:
        words, others = parts(text)
        found = [row for row in map(self._rows.get, others) if row is not None]
        count, whole, known = len(others), 0, 0
        for row, n, w, k in map(self._word, words):
            if row is not None:
                found.append(row)
            count += n
            whole += w
            known += k
        if whole >= 6 and known < UNKNOWN_WORDS * whole:
            # Mostly words no phrase of the corpus had (random letters, another language):
            # no intent can be read, however the n-grams happen to add up.
            return Intent("other", 1.0 - known / whole)
        scores = list(map(sum, zip(*found, strict=True))) if found else self._zero
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        # Sums grow with the number of features: scaled by its square root, the softmax
        # reads as a confidence (a clear question near 1, a toss-up near 1/2 or below).
        scale = 1.0 / math.sqrt(count)
        top = scores[best]
        total = sum(math.exp((s - top) * scale) for s in scores)
        if best == self._status and 1.0 / total < STATUS_MIN_CONFIDENCE:
            best = max((i for i in range(len(scores)) if i != best), key=lambda i: (scores[i], -i))
            return Intent(self.labels[best], math.exp((scores[best] - top) * scale) / total)
        return Intent(self.labels[best], 1.0 / total)


_lock = threading.Lock()
_model: IntentModel | None = None


def model() -> IntentModel:
    """The committed model, read once (bots call this from worker threads too)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = IntentModel.load(MODEL_FILE)
    return _model


@functools.lru_cache(maxsize=1024)
def classify(text: str) -> Intent:
    """The intent of `text` (its first bots.intent_features.MAX_CHARS characters).
    Remembered: every bot asks about the same message, the first time in a worker thread
    (`hub.domain.bots.Preparing`), then on the event loop."""
    return model().classify(text)


def wants_a_person(text: str) -> str | None:
    """Why `text` asks for a person ("intent human (0.97)"), or None when it does not."""
    intent = classify(text)
    return f"intent human ({intent.confidence:.2f})" if intent.label == "human" else None
