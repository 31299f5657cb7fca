"""`hub bots train` trains on a corpus (and a shop's --extra file), writes the model, and the
same corpus gives the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.intents import IntentModel
from hub.commands.bots_train import train_model

TINY = {
    "order_status": ["где мой заказ", "where is my order", "когда привезут заказ", "order status"],
    "human": ["оператор", "talk to a human", "позовите человека", "real person please"],
    "thanks": ["спасибо", "thank you", "thanks a lot", "спасибо большое"],
}


def _write(path: Path, pairs: dict[str, list[str]]) -> Path:
    path.write_text(
        "".join(f"{label}\t{text}\n" for label, texts in pairs.items() for text in texts),
        encoding="utf-8",
    )
    return path


def test_training_is_deterministic_and_learns_the_corpus(tmp_path: Path) -> None:
    corpus = _write(tmp_path / "corpus.tsv", TINY)
    extra = _write(tmp_path / "extra.tsv", {"human": ["менеджера дайте"]})
    one, two = tmp_path / "one.json.gz", tmp_path / "two.json.gz"
    _, report = train_model(extra, one, [corpus], dev=None)
    train_model(extra, two, [corpus], dev=None)
    assert one.read_bytes() == two.read_bytes()
    assert "trained on 13 phrases from 2 file(s)" in report
    model = IntentModel.load(one)
    assert model.classify("где мой заказ?").label == "order_status"
    assert model.classify("thank you!").label == "thanks"
    assert model.classify("менеджера дайте").label == "human"


def test_a_label_outside_the_list_is_refused(tmp_path: Path) -> None:
    corpus = _write(tmp_path / "corpus.tsv", {"refunds": ["money back"]})
    with pytest.raises(ValueError, match=r"corpus\.tsv:1"):
        train_model(None, tmp_path / "m.json.gz", [corpus], dev=None)
