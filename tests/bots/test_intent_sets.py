"""Well-formedness of the sealed held-out sets and their validation halves (issue 15).

Each writing is one engineer's phrases, written apart from the model from the label
contract (docs/INTENT_LABELS.md) and split by crc32 parity into a sealed half that judges
the model and a validation half its authors may tune on. Only the files' shape is checked
here: labels, counts, the split, duplicates and the header. No model is evaluated and no
phrase is printed, so the sealed halves stay sealed (the evaluation is in
test_intent_heldout.py).
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bots.test_intent_heldout import CONTRACT_LABELS, dedup_key

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Writing:
    sealed: str  # crc32 parity 0
    validation: str  # crc32 parity 1
    writer: str  # named in both headers
    min_status: int  # per half
    min_other: int
    min_label: int = 40

    def files(self) -> tuple[Path, Path]:
        return HERE / self.sealed, HERE / self.validation


WRITINGS = (
    Writing("intent_heldout3.tsv", "intent_valid2.tsv", "h15held3", 200, 40),
    Writing("intent_heldout4.tsv", "intent_valid3.tsv", "h16sealA", 300, 120),
    Writing("intent_heldout5.tsv", "intent_valid4.tsv", "h16sealB", 300, 120),
)
HALVES = [(w, path) for w in WRITINGS for path in w.files()]


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
        rows.append((number, label, text))
    return rows


@pytest.mark.parametrize(("writing", "path"), HALVES, ids=lambda v: getattr(v, "name", ""))
def test_header_states_provenance_and_rules(writing: Writing, path: Path) -> None:
    header = [
        line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    ]
    text = " ".join(header).lower()
    for word in (writing.writer.lower(), "crc32", "never", "train"):
        assert word in text, f"{path.name}: header lacks {word!r}"


@pytest.mark.parametrize(("writing", "path"), HALVES, ids=lambda v: getattr(v, "name", ""))
def test_labels_are_in_the_contract_and_counted(writing: Writing, path: Path) -> None:
    rows = read_rows(path)
    bad = {(n, label) for n, label, _ in rows if label not in CONTRACT_LABELS}
    assert not bad, f"{path.name}: unknown labels at {sorted(bad)[:5]}"
    counts = Counter(label for _, label, _ in rows)
    need = {"order_status": writing.min_status, "other": writing.min_other}
    for label in CONTRACT_LABELS:
        least = need.get(label, writing.min_label)
        assert counts[label] >= least, f"{path.name}: {label} has {counts[label]} < {least}"


@pytest.mark.parametrize(("writing", "path"), HALVES, ids=lambda v: getattr(v, "name", ""))
def test_crc32_split_holds_for_every_line(writing: Writing, path: Path) -> None:
    """The split was made by checksum, not chosen per phrase."""
    parity = 0 if path.name == writing.sealed else 1
    wrong = [n for n, _, text in read_rows(path) if zlib.crc32(text.encode()) % 2 != parity]
    assert not wrong, f"{path.name}: lines on the wrong side of the split: {wrong[:10]}"


@pytest.mark.parametrize("writing", WRITINGS, ids=lambda w: w.writer)
def test_no_duplicates_within_or_across_the_halves(writing: Writing) -> None:
    seen: dict[str, str] = {}
    dups: list[str] = []
    for path in writing.files():
        for n, _, text in read_rows(path):
            key = dedup_key(text)
            where = f"{path.name}:{n}"
            if key in seen:
                dups.append(f"{where} repeats {seen[key]}")
            else:
                seen[key] = where
    assert not dups, f"duplicate texts: {dups[:10]}"
