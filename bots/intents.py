"""What a customer's message asks: one of LABELS, read by a small linear model.

The model (`intent_model.json.gz`, trained by `hub bots train` from `bots/intent_corpus/`,
see bots/intent_train.py and docs/BOTS.md) holds one weight per (feature, label) for the
features of bots/intent_features.py; a message's label is the one with the highest sum, its
confidence the softmax of those sums. Pure Python, loaded once on first use, deterministic.
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from bots.intent_features import features

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


@dataclass(frozen=True, slots=True)
class Intent:
    label: str
    confidence: float


class IntentModel:
    """Per-label sparse weights: a message scores each label by summing its features'."""

    def __init__(self, labels: tuple[str, ...], weights: dict[str, dict[str, float]]) -> None:
        self.labels = labels
        self.weights = [weights.get(label, {}) for label in labels]

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        return cls(tuple(data["labels"]), data["weights"])

    def save(self, path: Path) -> None:
        data = {
            "labels": list(self.labels),
            "weights": {
                label: dict(sorted(w.items())) for label, w in zip(self.labels, self.weights)
            },
        }
        with gzip.GzipFile(path, "wb", mtime=0) as f:  # mtime 0: same weights, same bytes
            f.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())

    def scores(self, feats: list[str]) -> list[float]:
        zeros = repeat(0.0)
        return [sum(map(w.get, feats, zeros)) for w in self.weights]

    def classify(self, text: str) -> Intent:
        scores = self.scores(features(text))
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        top = scores[best]
        total = sum(math.exp(s - top) for s in scores)
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


def classify(text: str) -> Intent:
    """The intent of `text` (its first bots.intent_features.MAX_CHARS characters)."""
    return model().classify(text)
