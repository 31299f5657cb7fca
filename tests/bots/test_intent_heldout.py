"""The bots' intent model and order-number extraction on held-out sets written apart from them.

`intent_heldout*.tsv` and `entity_heldout.tsv` were written by people who never saw the
model, its features or its training corpus, and are never used to train or tune it: the
figures here are what a shop's customers would get. Only aggregates are printed (per-label
precision, recall, F1 and support, a confusion table, entity accuracy), never a phrase, so
that the sets cannot leak into the training corpus through CI logs; assertions compare
counts for the same reason. The contract is imported inside the evaluation, so the
well-formedness tests run even where the model is absent; the evaluation tests then fail
loudly.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ENTITIES = Path(__file__).with_name("entity_heldout.tsv")

# The labels of the contract with bots.intents (checked against LABELS by the evaluation).
CONTRACT_LABELS = (
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
STATUS = "order_status"
# Issue 15's goal for order_status is 0.97 precision and recall on phrases nobody tuned on.
STATUS_GOAL = 0.97
# The sealed sets that judge the model, each with the floor its order_status precision and
# recall must hold (over the phrases no training file has): the goal itself. The model
# trained on hand-written phrases (2026-12-08) was judged on them once: 0.974/0.987
# (heldout3), 0.983/0.987 (heldout4), 0.973/0.985 (heldout5); docs/BOTS.md. heldout3's writer
# saw an older contract; heldout4 and heldout5 were written from docs/INTENT_LABELS.md. (The
# first two sealed sets, judged for four and three model versions, were retired into
# training on 2026-12-08: bots/intent_corpus/written_h15held*.tsv.) Each sealed set's
# validation half (intent_valid*.tsv) is what the model's authors may tune on; none of them
# is trained on.
HELD_OUT_SETS = {
    "intent_heldout3.tsv": STATUS_GOAL,
    "intent_heldout4.tsv": STATUS_GOAL,
    "intent_heldout5.tsv": STATUS_GOAL,
}
MACRO_F1_THRESHOLD = 0.90
ENTITY_THRESHOLD = 0.95
MIN_PER_LABEL = 40
MIN_STATUS = 200
MIN_OTHER = 120
MIN_TOTAL = 900
MIN_ENTITIES = 150
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
LATIN = re.compile("[a-z]", re.IGNORECASE)
# Russian typed in Latin letters: a few common words, enough to count the translit share.
TRANSLIT = re.compile(
    r"\b(zakaz\w*|gde|kogda|spasibo|posylk\w*|otmen\w*|vernut|dostavk\w*|oplat\w*|"
    r"privet|zdravstvuyte|chelovek\w*|operator\w*|4to|che|skolko|mozhno|hochu)\b",
    re.IGNORECASE,
)


def data_lines(path: Path) -> list[str]:
    """Non-blank lines that are not comments (a comment starts with "# "; "#123" is data)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("# ")]


def normalised(text: str) -> str:
    """The text as a duplicate check sees it: case, spacing and end punctuation do not count."""
    return re.sub(r"[\s.,!?;:()]+", " ", text.casefold()).strip()


def dedup_key(text: str) -> str:
    """A phrase as the sets' duplicate checks see it: case and spacing do not count."""
    return "".join(text.casefold().split())


def load_intents(path: Path) -> list[tuple[str, str]]:
    cases = []
    for line in data_lines(path):
        label, sep, text = line.partition("\t")
        if not (sep and text.strip() and "\t" not in text):
            raise ValueError(f"{path.name}: malformed line (label {label[:20]!r})")
        cases.append((label, text))
    return cases


@dataclass(frozen=True)
class EntityCase:
    text: str
    expected: tuple[str, ...]
    known: tuple[str, ...]


def split_numbers(field: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in field.split(",") if part.strip())


def load_entities() -> list[EntityCase]:
    cases = []
    for line in data_lines(ENTITIES):
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0].strip():
            raise ValueError(f"{ENTITIES.name}: malformed line with {len(fields)} fields")
        cases.append(EntityCase(fields[0], split_numbers(fields[1]), split_numbers(fields[2])))
    return cases


# --- well-formedness ------------------------------------------------------------------------


@pytest.mark.parametrize("name", HELD_OUT_SETS)
def test_the_intent_set_is_well_formed_big_and_varied(name: str) -> None:
    cases = load_intents(HERE / name)
    labels = Counter(label for label, _ in cases)
    assert set(labels) <= set(CONTRACT_LABELS), (
        f"unknown labels {set(labels) - set(CONTRACT_LABELS)}"
    )
    texts = [dedup_key(text) for _, text in cases]
    duplicates, total = len(texts) - len(set(texts)), len(cases)
    assert duplicates == 0, f"{duplicates} duplicate phrases"
    assert total >= MIN_TOTAL, total
    thin = {label: labels[label] for label in CONTRACT_LABELS if labels[label] < MIN_PER_LABEL}
    assert not thin, f"labels under {MIN_PER_LABEL} phrases: {thin}"
    assert labels[STATUS] >= MIN_STATUS and labels["other"] >= MIN_OTHER
    russian = sum(1 for _, t in cases if CYRILLIC.search(t))
    english = sum(1 for _, t in cases if not CYRILLIC.search(t) and not TRANSLIT.search(t))
    translit = sum(1 for _, t in cases if not CYRILLIC.search(t) and TRANSLIT.search(t))
    mixed = sum(1 for _, t in cases if CYRILLIC.search(t) and LATIN.search(t))
    long = sum(1 for _, t in cases if len(t) >= 120)
    digits_only = sum(
        1 for label, t in cases if label == "other" and re.fullmatch(r"[\d\s()+-]+", t)
    )
    assert russian >= 300 and english >= 250 and translit >= 60, (russian, english, translit)
    assert mixed >= 20 and long >= 10 and digits_only >= 10, (mixed, long, digits_only)
    for label in CONTRACT_LABELS:
        scripts = {bool(CYRILLIC.search(t)) for lab, t in cases if lab == label}
        assert scripts == {True, False}, f"{label} needs both Russian and Latin-letter phrases"


def test_the_entity_set_is_well_formed_and_covers_the_traps() -> None:
    cases = load_entities()
    total = len(cases)
    assert total >= MIN_ENTITIES, total
    keys = [(normalised(case.text), case.known) for case in cases]
    duplicates = len(keys) - len(set(keys))
    assert duplicates == 0, f"{duplicates} duplicate entity lines"
    empty = [case for case in cases if not case.expected]
    from_known = [case for case in cases if set(case.expected) & set(case.known)]
    counts = (len(empty), len(from_known), total - len(empty))
    assert counts[0] >= 50 and counts[1] >= 10 and counts[2] >= 60, counts
    kinds = {
        "phone": r"\+7|\b8\s?\(?9\d\d|\b89\d{9}\b|\+44|\b07\d{3}\s?\d{6}\b",
        "year": r"\b20[12]\d\b",
        "price": r"руб|₽|\$\d|€|£",
        "postcode": r"индекс|\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b|postcode|zip",
        "hash": r"#\d",
        "number_sign": r"№",
    }
    for kind, pattern in kinds.items():
        hits = sum(1 for case in cases if re.search(pattern, case.text))
        assert hits >= 5, f"too few {kind} cases: {hits}"


# --- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


def ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def label_scores(pairs: list[tuple[str, str]], labels: tuple[str, ...]) -> list[LabelScore]:
    """Per-label precision, recall and F1 from (expected, predicted) pairs."""
    scores = []
    for label in labels:
        tp = sum(1 for exp, got in pairs if exp == label and got == label)
        predicted = sum(1 for _, got in pairs if got == label)
        support = sum(1 for exp, _ in pairs if exp == label)
        precision, recall = ratio(tp, predicted), ratio(tp, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScore(label, precision, recall, f1, support))
    return scores


def confusion_table(pairs: list[tuple[str, str]], labels: tuple[str, ...]) -> str:
    """Counts of expected (rows) against predicted (columns), abbreviated column names."""
    counts = Counter(pairs)
    heads = [label[:6] for label in labels]
    width = max(len(label) for label in labels)
    rows = [" " * width + " " + " ".join(f"{h:>6}" for h in heads)]
    for exp in labels:
        cells = " ".join(f"{counts[(exp, got)]:>6}" for got in labels)
        rows.append(f"{exp:<{width}} {cells}")
    return "\n".join(rows)


@dataclass(frozen=True)
class IntentReport:
    labels: tuple[str, ...]
    scores: list[LabelScore]
    table: str
    status: LabelScore
    macro_f1_others: float
    invalid: int
    in_training: int  # phrases of the set that a training file also has (left out above)
    status_all: LabelScore  # order_status over every phrase of the set, for comparison
    macro_f1_all: float


@cache
def training_texts() -> frozenset[str]:
    from bots.intent_train import corpus_files, read_corpus

    return frozenset(normalised(text) for _, text in read_corpus(corpus_files()))


def summary(
    pairs: list[tuple[str, str]], labels: tuple[str, ...]
) -> tuple[list[LabelScore], LabelScore, float]:
    scores = label_scores(pairs, labels)
    status = next(score for score in scores if score.label == STATUS)
    others = [score.f1 for score in scores if score.label != STATUS]
    return scores, status, sum(others) / len(others)


@cache
def intent_report(name: str) -> IntentReport:
    """Classifies every phrase of one held-out set once; later tests reuse the result.

    The figures that count are over the phrases no training file has: independent writers
    also write "hi", "thanks!" or "где мой заказ?" word for word (about a fifth of a set),
    and a phrase training read says nothing of how the model meets a new one. The figures
    over the whole set are kept beside them."""
    from bots.intents import LABELS, classify

    labels = tuple(LABELS)
    pairs, unseen = [], []
    invalid = 0
    seen = training_texts()
    for expected, text in load_intents(HERE / name):
        result = classify(text)
        invalid += result.label not in labels or not 0.0 <= result.confidence <= 1.0
        pairs.append((expected, str(result.label)))
        if normalised(text) not in seen:
            unseen.append(pairs[-1])
    scores, status, macro_f1 = summary(unseen, labels)
    _, status_all, macro_f1_all = summary(pairs, labels)
    return IntentReport(
        labels,
        scores,
        confusion_table(unseen, labels),
        status,
        macro_f1,
        invalid,
        len(pairs) - len(unseen),
        status_all,
        macro_f1_all,
    )


def print_intent_report(name: str, report: IntentReport) -> None:
    total = sum(s.support for s in report.scores)
    print(
        f"\nintent model on the held-out set {name}: the {total} phrases no training file has "
        f"({report.in_training} more are also training phrases)"
    )
    print(f"{'label':<15} {'prec':>6} {'recall':>6} {'F1':>6} {'n':>5}")
    for s in report.scores:
        print(f"{s.label:<15} {s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f} {s.support:>5}")
    print("confusion (rows: expected, columns: predicted)")
    print(report.table)
    print(
        f"order_status precision {report.status.precision:.3f}, recall {report.status.recall:.3f}"
        f"; macro-F1 over the other {len(report.labels) - 1} labels {report.macro_f1_others:.3f}"
    )
    print(
        f"with the {report.in_training} training phrases too: order_status precision "
        f"{report.status_all.precision:.3f}, recall {report.status_all.recall:.3f}; "
        f"macro-F1 {report.macro_f1_all:.3f}"
    )


def test_the_model_has_the_contract_labels() -> None:
    from bots.intents import LABELS

    assert tuple(LABELS) == CONTRACT_LABELS


@pytest.mark.parametrize("name", HELD_OUT_SETS)
def test_order_status_precision_and_recall_hold_their_floor_on_the_held_out_set(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = intent_report(name)
    floor = HELD_OUT_SETS[name]
    with capsys.disabled():
        print_intent_report(name, report)
        met = min(report.status.precision, report.status.recall) >= STATUS_GOAL
        print(f"order_status goal {STATUS_GOAL}: {'PASS' if met else 'MISS'} (floor {floor})")
    assert report.invalid == 0, f"{report.invalid} results outside LABELS or [0, 1]"
    assert report.status.precision >= floor, report.status
    assert report.status.recall >= floor, report.status


@pytest.mark.parametrize("name", HELD_OUT_SETS)
def test_macro_f1_over_the_other_intents_reaches_090_on_the_held_out_set(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = intent_report(name)
    with capsys.disabled():
        print(
            f"\nintent model on {name}: macro-F1 over the other labels {report.macro_f1_others:.3f}"
        )
    weak = {s.label: round(s.f1, 3) for s in report.scores if s.f1 < MACRO_F1_THRESHOLD}
    assert report.macro_f1_others >= MACRO_F1_THRESHOLD, (report.macro_f1_others, weak)


@dataclass(frozen=True)
class EntityReport:
    lines: int
    exact: int
    with_numbers: int
    found: int
    spurious: int


def entity_report() -> EntityReport:
    """Runs the extractor over the held-out lines; only counts leave this function."""
    from bots.entities import order_numbers

    cases = load_entities()
    right = [sorted(order_numbers(c.text, c.known)) == sorted(c.expected) for c in cases]
    got_any = [bool(order_numbers(c.text, c.known)) for c in cases]
    return EntityReport(
        lines=len(cases),
        exact=sum(right),
        with_numbers=sum(1 for c in cases if c.expected),
        found=sum(1 for c, ok in zip(cases, right, strict=True) if c.expected and ok),
        spurious=sum(1 for c, any_ in zip(cases, got_any, strict=True) if not c.expected and any_),
    )


def test_order_numbers_are_extracted_exactly_on_the_held_out_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = entity_report()
    accuracy = report.exact / report.lines
    with capsys.disabled():
        print(
            f"\norder numbers on the held-out set ({report.lines} lines): exact match "
            f"{accuracy:.3f}; lines with numbers right {report.found}/{report.with_numbers}; "
            f"numbers found where there are none {report.spurious}"
        )
    assert accuracy >= ENTITY_THRESHOLD, report
