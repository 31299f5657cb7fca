"""`hub bots train`: the intent model retrained from the corpus (and a shop's own phrases)."""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from bots import intent_train
from bots.intents import LABELS, MODEL_FILE, IntentModel

DEV_FILE = Path(__file__).resolve().parents[2] / "tests" / "bots" / "intent_dev.tsv"


def train_model(
    extra: Path | None = None,
    out: Path = MODEL_FILE,
    corpus: list[Path] | None = None,
    dev: Path | None = DEV_FILE,
) -> tuple[IntentModel, str]:
    """Train on the corpus files (+ `extra`), write the weights to `out`, and return the
    model with a printable report (the dev split's figures when that file is there)."""
    files = [
        *(corpus if corpus is not None else intent_train.corpus_files()),
        *([extra] if extra else []),
    ]
    read = [(path, intent_train.read_corpus([path])) for path in files]
    phrases = sum(len(rows) for _, rows in read)
    pairs = [pair for path, rows in read for pair in rows * intent_train.file_weight(path)]
    started = time.process_time()
    with tqdm(total=intent_train.training_steps(pairs), unit="phrase", desc="training") as bar:
        model = intent_train.train(pairs, progress=bar.update)
    seconds = time.process_time() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    lines = [
        f"trained on {phrases} phrases from {len(files)} file(s) in {seconds:.1f} s of CPU; "
        f"{model.size} features, {out} ({out.stat().st_size / 1024:.0f} KiB)"
    ]
    if dev is not None and dev.exists():
        report = intent_train.evaluate(model, intent_train.read_corpus([dev]))
        others = [label for label in LABELS if label != "order_status"]
        p, r, _ = report.prf("order_status")
        lines += [
            f"dev split {dev.name} ({report.total} phrases): order_status precision {p:.3f}, "
            f"recall {r:.3f}; macro-F1 of the other labels {report.macro_f1(others):.3f}",
            report.table(),
        ]
    return model, "\n".join(lines)
