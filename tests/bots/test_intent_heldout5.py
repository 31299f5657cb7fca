"""Well-formedness of the sealed held-out set 5 and validation set 4 (issue 15).

Only the files' shape is checked here: labels, duplicates, counts, the crc32 split and the
header. The phrases are never printed and no model is evaluated here, so the sealed file
stays sealed; the evaluation lives with the model.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from pathlib import Path

import pytest

from tests.bots.test_intent_heldout import CONTRACT_LABELS

HERE = Path(__file__).resolve().parent
HELDOUT = HERE / "intent_heldout5.tsv"
VALID = HERE / "intent_valid4.tsv"

LABELS = CONTRACT_LABELS  # the label contract of issue 15, not the model's own list
MIN_PER_LABEL = 40
MIN_OTHER = 120
MIN_ORDER_STATUS = 300
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
        assert not text.startswith("#") or text[1:2].isdigit(), f"{path.name}:{number}: '#' text"
        rows.append((number, label, text))
    return rows


def dedup_key(text: str) -> str:
    """Duplicates are judged ignoring case, spacing and end punctuation."""
    return re.sub(r"[\W_]+$", "", "".join(text.casefold().split()))


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_header_states_provenance_and_rules(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# "), f"{path.name}: no comment header"
    header = [line for line in lines if line.startswith("# ")]
    text = " ".join(header).lower()
    for word in ("h16sealb", "crc32", "never", "train", "docs/intent_labels.md"):
        assert word in text, f"{path.name}: header lacks {word!r}"
    if path is HELDOUT:
        assert "never used for training or tuning" in text
        assert "aggregate figures only" in text
    else:
        assert "may tune on this half" in text


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_labels_are_in_the_contract(path: Path) -> None:
    bad = {(n, label) for n, label, _ in read_rows(path) if label not in LABELS}
    assert not bad, f"{path.name}: unknown labels at {sorted(bad)[:5]}"


@pytest.mark.parametrize("path", [HELDOUT, VALID], ids=lambda p: p.name)
def test_counts_per_label(path: Path) -> None:
    counts = Counter(label for _, label, _ in read_rows(path))
    for label in LABELS:
        need = {"order_status": MIN_ORDER_STATUS, "other": MIN_OTHER}.get(label, MIN_PER_LABEL)
        assert counts[label] >= need, f"{path.name}: {label} has {counts[label]} < {need}"


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
