"""The order-status matcher against a labelled corpus of real-world phrasings (RU and EN).

Precision and recall are printed and must both reach 0.95. The matcher reads word
features (bots/intents.py), never phrases: a miss here is fixed by a better feature,
not by adding the phrase.
"""

from __future__ import annotations

from pathlib import Path

from bots.intents import status_question

CORPUS = Path(__file__).with_name("status_corpus.tsv")
THRESHOLD = 0.95


def load_corpus() -> list[tuple[bool, str]]:
    cases = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t", 1)
        assert label in "+-", line
        cases.append((label == "+", text))
    return cases


def test_the_corpus_is_big_and_balanced_enough() -> None:
    cases = load_corpus()
    assert len(cases) >= 300
    assert len({text for _, text in cases}) == len(cases), "duplicate phrasings"
    cyrillic = sum(1 for _, t in cases if any("а" <= c <= "я" for c in t.lower()))
    assert cyrillic >= 120 and len(cases) - cyrillic >= 120
    assert sum(1 for label, _ in cases if not label) >= 120


def test_status_questions_are_recognised_with_precision_and_recall_of_95_percent() -> None:
    cases = load_corpus()
    tp = fp = fn = 0
    misses: list[str] = []
    for expected, text in cases:
        got = status_question(text) is not None
        tp += got and expected
        fp += got and not expected
        fn += expected and not got
        if got != expected:
            misses.append(f"{'missed' if expected else 'false positive'}: {text}")
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    print(
        f"\norder-status matcher on {len(cases)} phrasings: "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    print("\n".join(misses))
    assert precision >= THRESHOLD and recall >= THRESHOLD, misses
