"""The intent model on phrases training never read (see scripts/make_intent_corpus.py).

- tests/bots/intent_dev.tsv, the dev split (one tenth of the rendered lines by stable hash):
  fails below the bar, order_status precision and recall 0.97, macro-F1 of the eleven other
  labels 0.90;
- tests/bots/intent_unseen.tsv, whole templates held out (phrasings training never saw in
  any form): harder, a regression floor (0.85 for order_status, 0.80 macro-F1).
Both print per-label precision/recall/F1, the confusion table and the misses.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from bots.intent_features import features, word_features
from bots.intent_train import corpus_files, evaluate, read_corpus
from bots.intents import LABELS, STATUS_MIN_CONFIDENCE, UNKNOWN_WORDS, classify, model

DEV = Path(__file__).with_name("intent_dev.tsv")
UNSEEN = Path(__file__).with_name("intent_unseen.tsv")


def test_the_corpus_is_big_varied_and_apart_from_the_dev_split() -> None:
    train = read_corpus(corpus_files())
    dev = read_corpus([DEV])
    assert len(train) >= 3000
    texts = {t.lower() for _, t in train}
    assert not texts & {t.lower() for _, t in dev}, "a dev phrase is in the training corpus"
    unseen = {t.lower() for _, t in read_corpus([UNSEEN])}
    assert not texts & unseen, "an unseen phrase is in the training corpus"
    for label in LABELS:
        assert sum(1 for g, _ in train if g == label) >= 80, label
        assert sum(1 for g, _ in dev if g == label) >= 8, label
    cyrillic = sum(1 for _, t in train if any("а" <= c <= "я" for c in t.lower()))
    latin_russian = sum(1 for _, t in train if t.lower().startswith(("gde ", "kogda ", "4to")))
    assert cyrillic >= 1000 and len(train) - cyrillic >= 1000 and latin_russian >= 5


def _figures(path: Path) -> tuple[float, float, float]:
    report = evaluate(model(), read_corpus([path]))
    p, r, _ = report.prf("order_status")
    macro = report.macro_f1([label for label in LABELS if label != "order_status"])
    print(
        f"\n{path.name}: {report.total} phrases, order_status P {p:.3f} R {r:.3f}, "
        f"macro-F1 of the others {macro:.3f}\n{report.table()}"
    )
    print("\n".join(f"{gold} -> {got}: {text}" for gold, got, text in report.misses))
    return p, r, macro


def test_dev_split_reaches_the_bar() -> None:
    p, r, macro = _figures(DEV)
    assert p >= 0.97 and r >= 0.97
    assert macro >= 0.90


def test_templates_never_seen_stay_above_the_floor() -> None:
    p, r, macro = _figures(UNSEEN)
    assert p >= 0.85 and r >= 0.85
    assert macro >= 0.80


def test_classify_is_deterministic_and_cheap() -> None:
    texts = [t for _, t in read_corpus([DEV])]
    word_features.cache_clear()
    model().forget_words()
    started = time.process_time()
    first = [model().classify(t) for t in texts]  # the model itself, not classify's cache
    cold = (time.process_time() - started) / len(texts)
    started = time.process_time()
    again = [model().classify(t) for t in texts]
    warm = (time.process_time() - started) / len(texts)
    print(f"\nCPU per message: {cold * 1e3:.3f} ms (words new), {warm * 1e3:.3f} ms (words seen)")
    assert first == again == [classify(t) for t in texts]
    assert all(i.label in LABELS and 0.0 < i.confidence <= 1.0 for i in first)
    assert cold < 0.002  # the bar is 0.2 ms (docs/BOTS.md); generous for a loaded CI box


def test_rows_summed_per_word_score_as_the_features_do() -> None:
    """`classify` sums each word's n-gram rows once and remembers them: the scores and the
    confidence are those of the message's features read one by one."""
    m = model()
    status = LABELS.index("order_status")
    texts = [*(t for _, t in read_corpus([UNSEEN, DEV])), "", "?", "#4471", "http://x.y z"]
    gave_way = 0
    for text in texts:
        feats = features(text)
        whole = [f for f in feats if f.startswith("w:")]
        known = sum(1 for f in whole if any(m.scores([f])))
        got = m.classify(text)
        if len(whole) >= 6 and known < UNKNOWN_WORDS * len(whole):
            assert got.label == "other", text  # mostly words the model never saw
            continue
        scores = m.scores(feats)
        scale = 1.0 / math.sqrt(len(feats))
        exps = [math.exp((s - max(scores)) * scale) for s in scores]
        ranked = sorted(range(len(LABELS)), key=lambda i: (-scores[i], i))
        best = ranked[0]
        if best == status and exps[best] / sum(exps) < STATUS_MIN_CONFIDENCE:
            best, gave_way = ranked[1], gave_way + 1
        assert got.label == LABELS[best], text
        assert got.confidence == pytest.approx(exps[best] / sum(exps), abs=1e-9), text
    print(f"\n{len(texts)} texts, {gave_way} order_status readings gave way to the runner-up")
    assert gave_way


def test_the_cases_the_issue_names() -> None:
    assert classify("2024").label == "other"
    assert classify("+7 916 123-45-67").label == "other"
    assert classify("my parcel is lost").label == "lost_parcel"
    assert classify("где мой заказ").label == "order_status"
    assert classify("оператор").label == "human"
