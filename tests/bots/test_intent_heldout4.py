"""Well-formedness of the sealed held-out set 4 and validation set 3 (issue 15).

Both files were written by hand by engineer h16sealA from docs/INTENT_LABELS.md alone, then
split by crc32. Only the files' shape is checked here: labels, duplicates, counts, the crc32
split and the header. No model is evaluated and no phrase is printed, so the sealed file stays
sealed; the evaluation lives with the model.
"""

from __future__ import annotations

import zlib
from collections import Counter
from pathlib import Path

import pytest

from tests.bots.test_intent_heldout import CONTRACT_LABELS

HERE = Path(__file__).resolve().parent
HELDOUT = HERE / "intent_heldout4.tsv"
VALID = HERE / "intent_valid3.tsv"

LABELS = CONTRACT_LABELS  # the label contract of issue 15, not the model's own list
MIN_PER_LABEL = 40
MIN_ORDER_STATUS = 300
MIN_OTHER = 120
# Which crc32 parity each file holds: the split was made without choosing per phrase.
PARITY = {HELDOUT: 0, VALID: 1}


def read_rows(path: Path) -> list[tuple[int, str, str]]:
    """(line number, label, text) for every data line; fails on a malformed line."""
    rows: list[tuple[int, str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("# "):
            continue
        assert line.strip(), f"{path.name}:{number}: blank line"
        parts = line.split("\t")
        assert len(parts) == 2, f"{path.name}:{number}: expected label<TAB>text"
        label, text = parts
        assert text == text.strip() and text, f"{path.name}:{number}: empty or padded text"
        assert not text.startswith("#") or text[1:2].isdigit(), (
            f"{path.name}:{number}: a text may start with '#' only before a digit"
        )
        rows.append((number, label, text))
    return rows


def dedup_key(text: str) -> str:
    """Duplicates are judged case- and space-insensitively, ignoring end punctuation."""
    return "".join(text.casefold().split()).rstrip(".!?…")


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_header_states_provenance_and_rules(path: Path) -> None:
    header = [
        line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# ")
    ]
    text = " ".join(header).lower()
    assert "h16seala" in text and "crc32" in text
    assert "never" in text and "train" in text
    assert "docs/intent_labels.md" in text


def test_sealed_and_validation_rules_are_stated() -> None:
    sealed = HELDOUT.read_text(encoding="utf-8").lower()
    valid = VALID.read_text(encoding="utf-8").lower()
    assert "never used for training or tuning" in sealed
    assert "aggregate figures only" in sealed
    assert "may tune on this half" in valid


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_labels_are_in_the_contract(path: Path) -> None:
    bad = {(n, label) for n, label, _ in read_rows(path) if label not in LABELS}
    assert not bad, f"{path.name}: unknown labels at {sorted(bad)[:5]}"


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_counts_per_label(path: Path) -> None:
    counts = Counter(label for _, label, _ in read_rows(path))
    need = {label: MIN_PER_LABEL for label in LABELS}
    need["order_status"] = MIN_ORDER_STATUS
    need["other"] = MIN_OTHER
    for label in LABELS:
        assert counts[label] >= need[label], (
            f"{path.name}: {label} has {counts[label]} < {need[label]}"
        )


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_crc32_split_holds_for_every_line(path: Path) -> None:
    wrong = [n for n, _, text in read_rows(path) if zlib.crc32(text.encode()) % 2 != PARITY[path]]
    assert not wrong, f"{path.name}: lines on the wrong side of the split: {wrong[:10]}"


def test_no_duplicates_within_or_across_files() -> None:
    seen: dict[str, str] = {}
    dups: list[str] = []
    for path in (HELDOUT, VALID):
        for n, _, text in read_rows(path):
            key = dedup_key(text)
            where = f"{path.name}:{n}"
            if key in seen:
                dups.append(f"{where} repeats {seen[key]}")
            else:
                seen[key] = where
    assert not dups, f"duplicate texts: {dups[:10]}"
