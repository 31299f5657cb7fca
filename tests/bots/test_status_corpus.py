"""The order-status matcher against labelled real-world phrasings (RU and EN).

Two sets: `status_corpus.tsv`, on which the word lists were tuned (precision and recall must
both reach 0.95), and `status_heldout.tsv`, written apart from the word lists and never used
to pick a word (both must reach 0.90): typos, transliteration, mixed languages, and other
questions about orders. Both figures are printed for each. The matcher reads word features
(bots/intents.py), never phrases: a miss is fixed by a better feature, not by the phrase.
"""

from __future__ import annotations

from pathlib import Path

from bots.intents import status_question

CORPUS = Path(__file__).with_name("status_corpus.tsv")
HELD_OUT = Path(__file__).with_name("status_heldout.tsv")
THRESHOLD = 0.95
HELD_OUT_THRESHOLD = 0.90


def load_corpus(path: Path = CORPUS) -> list[tuple[bool, str]]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t", 1)
        assert label in "+-", line
        cases.append((label == "+", text))
    return cases


def scored(name: str, cases: list[tuple[bool, str]]) -> tuple[float, float, list[str]]:
    """Precision and recall of the matcher on `cases`, printed with every miss."""
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
        f"\norder-status matcher on {name} ({len(cases)} phrasings): "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    print("\n".join(misses))
    return precision, recall, misses


def test_the_corpus_is_big_and_balanced_enough() -> None:
    cases = load_corpus()
    assert len(cases) >= 300
    assert len({text for _, text in cases}) == len(cases), "duplicate phrasings"
    cyrillic = sum(1 for _, t in cases if any("а" <= c <= "я" for c in t.lower()))
    assert cyrillic >= 120 and len(cases) - cyrillic >= 120
    assert sum(1 for label, _ in cases if not label) >= 120


def test_status_questions_are_recognised_with_precision_and_recall_of_95_percent() -> None:
    precision, recall, misses = scored("the tuning corpus", load_corpus())
    assert precision >= THRESHOLD and recall >= THRESHOLD, misses


def test_the_held_out_set_is_new_and_covers_the_hard_cases() -> None:
    held_out = load_corpus(HELD_OUT)
    texts = [text for _, text in held_out]
    assert len(held_out) >= 100 and len(set(texts)) == len(texts), "duplicate phrasings"
    assert not set(texts) & {text for _, text in load_corpus()}, "seen in the tuning corpus"
    latin_russian = [t for t in texts if t.split()[0] in {"gde", "kogda", "zakaz", "spasibo"}]
    mixed = [
        t for t in texts if any("а" <= c <= "я" for c in t) and any("a" <= c <= "z" for c in t)
    ]
    assert len(latin_russian) >= 5 and len(mixed) >= 5
    assert sum(1 for label, _ in held_out if not label) >= 50


def test_held_out_phrasings_are_recognised_with_precision_and_recall_of_90_percent() -> None:
    precision, recall, misses = scored("the held-out set", load_corpus(HELD_OUT))
    assert precision >= HELD_OUT_THRESHOLD and recall >= HELD_OUT_THRESHOLD, misses
