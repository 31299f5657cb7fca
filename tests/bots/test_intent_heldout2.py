"""Well-formedness of the sealed held-out set and the validation set for the intent model.

Both files were written apart from the model and split by a checksum, not by hand; these
checks keep them usable as honest yardsticks (right labels, enough phrases per label, no
phrase counted twice, the split rule still holding). They never run the model: evaluation
is wired elsewhere, and the sealed file must not be read for tuning.
"""

from __future__ import annotations

import zlib
from collections import Counter
from pathlib import Path

import pytest

from tests.bots.test_intent_heldout import CONTRACT_LABELS

LABELS = CONTRACT_LABELS  # the label contract of issue 15, not the model's own list
HERE = Path(__file__).parent
HELDOUT = HERE / "intent_heldout2.tsv"
VALID = HERE / "intent_valid.tsv"
# crc32 parity each file must hold: the split was by checksum, not chosen per phrase.
PARITY = {HELDOUT: 0, VALID: 1}
MIN_PER_LABEL = 35
MIN_ORDER_STATUS = 180


def _key(text: str) -> str:
    """Case- and space-insensitive identity of a phrase, so near-copies count as duplicates."""
    return " ".join(text.casefold().split())


def _read(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Return (header comment lines, (label, text) rows); malformed lines fail loudly."""
    header: list[str] = []
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#"):
            assert not rows, f"{path.name}:{number}: comment after the data starts"
            header.append(line)
            continue
        parts = line.split("\t")
        assert len(parts) == 2, f"{path.name}:{number}: expected label<TAB>text"
        label, text = parts
        assert text.strip() == text and text, f"{path.name}:{number}: empty or padded text"
        rows.append((label, text))
    return header, rows


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_labels_and_counts(path: Path) -> None:
    header, rows = _read(path)
    assert header, f"{path.name} lacks its header saying who wrote it and how it is used"
    unknown = {label for label, _ in rows} - set(LABELS)
    assert not unknown, f"{path.name}: labels outside the contract: {sorted(unknown)}"
    counts = Counter(label for label, _ in rows)
    short = {
        label: counts[label]
        for label in LABELS
        if counts[label] < (MIN_ORDER_STATUS if label == "order_status" else MIN_PER_LABEL)
    }
    assert not short, f"{path.name}: too few phrases for {short}"


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_split_by_checksum(path: Path) -> None:
    _, rows = _read(path)
    # Counts only, never the phrases: a failure must not print the sealed set's text.
    wrong = sum(zlib.crc32(text.encode()) % 2 != PARITY[path] for _, text in rows)
    assert wrong == 0, f"{path.name}: {wrong} phrases on the wrong side of the split"


def test_no_duplicates_within_or_across() -> None:
    seen: dict[str, str] = {}
    repeated: list[str] = []  # file names only, never the sealed phrases
    for path in (HELDOUT, VALID):
        for _, text in _read(path)[1]:
            key = _key(text)
            if key in seen:
                repeated.append(f"{path.name} repeats a phrase from {seen[key]}")
            seen[key] = path.name
    assert not repeated, repeated[:5]


def test_no_text_in_both_files() -> None:
    held = {_key(text) for _, text in _read(HELDOUT)[1]}
    valid = {_key(text) for _, text in _read(VALID)[1]}
    both = len(held & valid)
    assert both == 0, f"{both} phrases in both files"
