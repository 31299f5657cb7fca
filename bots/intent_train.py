"""Training the intent model (`hub bots train`): corpus, augmentation, logistic regression.

The corpus is `label<TAB>text` lines (bots/intent_corpus/*.tsv, plus a shop's own file).
Each line is learnt as written and as noise customers add: a typo, a stretched letter,
slang spellings, and for Russian the Latin-letter spellings people type without a Cyrillic
keyboard (with digits for letters: "4to"). All randomness comes from seeded RNGs, so the
same corpus gives the same weights, byte for byte.

The learner is multinomial logistic regression over the features of
bots/intent_features.py, by stochastic gradient descent with L2 (see `train`): unlike the
averaged perceptron it replaced, every example pulls towards a calibrated probability, not
only the mistakes, so the confidence the bots read is the model's own, and the weights
generalise better to wordings the corpus lacks. Pure Python, 20-35 s of CPU.
"""

from __future__ import annotations

import math
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bots.intent_features import features
from bots.intents import LABELS, IntentModel

CORPUS_DIR = Path(__file__).with_name("intent_corpus")
# The corpus scripts/make_intent_corpus.py renders from templates; every other file (the
# hand-written ones beside it, a shop's own phrases) is people's wording, and one such line
# counts HAND_WRITTEN_WEIGHT times: a template is rendered into many lines, a written phrase
# stands for itself (on intent_valid2.tsv: ×1 accuracy 0.949, ×3 0.958, ×5 0.957).
GENERATED = "corpus.tsv"
HAND_WRITTEN_WEIGHT = 3
# Three passes: with 28,000 hand-written phrases a fourth moved no validation figure by more
# than 0.002 and cost a quarter more time.
EPOCHS = 3
SEED = 15
LEARNING_RATE = 2.0
# Light: with 28,000 hand-written phrases beside the templates, 1e-5 held the weights too
# close to zero (intent_valid4.tsv accuracy 0.925 at 1e-5, 0.937 at 3e-6, 0.940 at 1e-6).
L2 = 1e-6
# A feature none of whose weights reaches this is dropped from the model: alone it never
# decides a label, and the file and the loaded model stay small (at the light L2 above, 0.1
# kept 135,000 features, ≈ 45 MB loaded; 0.3 keeps 56,000 with the same validation figures).
PRUNE = 0.3
_MIN_GRADIENT = 0.01

_LATIN: dict[str, tuple[str, ...]] = {
    "а": ("a",),
    "б": ("b",),
    "в": ("v", "v", "w"),
    "г": ("g",),
    "д": ("d",),
    "е": ("e",),
    "ё": ("e", "yo"),
    "ж": ("zh", "zh", "j"),
    "з": ("z",),
    "и": ("i",),
    "й": ("y", "i", "j"),
    "к": ("k",),
    "л": ("l",),
    "м": ("m",),
    "н": ("n",),
    "о": ("o",),
    "п": ("p",),
    "р": ("r",),
    "с": ("s",),
    "т": ("t",),
    "у": ("u",),
    "ф": ("f",),
    "х": ("h", "kh", "h"),
    "ц": ("ts", "c"),
    "ч": ("ch", "ch", "4"),
    "ш": ("sh", "sh", "6", "w"),
    "щ": ("sch", "sh", "shch"),
    "ъ": ("",),
    "ы": ("y", "i"),
    "ь": ("", "", "'"),
    "э": ("e",),
    "ю": ("yu", "ju", "u"),
    "я": ("ya", "ja", "ia"),
}
_SLANG = {
    "что": ("че", "чё", "шо", "чо"),
    "сейчас": ("щас", "сча"),
    "пожалуйста": ("пжлст", "плз", "пож"),
    "спасибо": ("спс", "пасиб", "спасибки"),
    "здравствуйте": ("здрасте", "здрасьте", "здравствуйте!!"),
    "когда": ("када", "кагда", "кода"),
    "сколько": ("скока", "скок", "скоко", "сколька"),
    "еще": ("ещё", "исчо", "ещо", "еще"),
    "привет": ("приветики", "превет", "хай", "прива"),
    "заказ": ("заказик", "зака3"),
    "посылка": ("посылочка", "пасылка"),
    "thank": ("thx", "tnx", "thenk"),
    "order": ("oder", "ordr"),
    "you": ("u", "ya"),
    "please": ("pls", "plz", "pleeease"),
    "are": ("r",),
    "thanks": ("thx", "thanx", "tnx"),
    "what": ("wat", "wht"),
    "your": ("ur", "you"),
    "is": ("s",),
}
_NEIGHBOURS = "qwertyuiopasdfghjklzxcvbnmйцукенгшщзхъфывапролджэячсмитьбю"


def to_latin(text: str, rng: random.Random) -> str:
    """Russian as typed in Latin letters, one of the common spellings picked per letter,
    the same choice for the whole text (a writer keeps their habit)."""
    habit = {c: rng.choice(options) for c, options in _LATIN.items()}
    out = []
    for c in text:
        low = c.lower()
        latin = habit.get(low)
        out.append(c if latin is None else (latin.upper() if c != low else latin))
    return "".join(out)


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]  # a letter dropped
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # neighbours swapped
    if kind == 2:
        return word[: i + 1] + word[i] + word[i + 1 :]  # a letter doubled
    alphabet = [x for x in _NEIGHBOURS if (x < "а") == (word[i] < "а")]
    return word[:i] + rng.choice(alphabet) + word[i + 1 :]  # a letter mistyped


def noisy(text: str, rng: random.Random) -> str:
    """`text` as a hurried customer types it: slang, a typo, a stretched letter, no
    punctuation or capitals; one to three of these."""
    words = text.split(" ")
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(5)
        i = rng.randrange(len(words))
        bare = words[i].strip("?!.,").lower()
        if kind == 0 and bare in _SLANG:
            words[i] = words[i].lower().replace(bare, rng.choice(_SLANG[bare]))
        elif kind <= 1 and len(bare) >= 4 and bare.isalpha():
            words[i] = _typo(bare, rng)
        elif kind == 2 and bare and bare[-1].isalpha():
            words[i] = bare + bare[-1] * rng.randint(2, 5)
        elif kind == 3:
            words = [w.strip("?!.,") or w for w in words]
        else:
            words = [w.lower() for w in words]
    return " ".join(w for w in words if w)


def read_corpus(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """`(label, text)` pairs of TSV files; '#' lines are comments. A label not in LABELS is
    an error naming the file and line (a shop's typo must not train a new intent)."""
    pairs: list[tuple[str, str]] = []
    for path in paths:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            label, sep, text = line.partition("\t")
            if not sep or label not in LABELS or not text.strip():
                raise ValueError(f"{path}:{n}: expected 'label<TAB>text' with a label of {LABELS}")
            pairs.append((label, text.strip()))
    return pairs


def corpus_files(extra: Path | None = None) -> list[Path]:
    return [*sorted(CORPUS_DIR.glob("*.tsv")), *([extra] if extra else [])]


def file_weight(path: Path) -> int:
    """How many times a file's lines count: the generated corpus once, hand-written files
    (a shop's own too) HAND_WRITTEN_WEIGHT times."""
    return 1 if path.name == GENERATED else HAND_WRITTEN_WEIGHT


def augmented(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each pair, a noisy copy, and for Cyrillic text a Latin-letter copy, reproducibly. A
    pair given again (a hand-written phrase's weight) is learnt again as written only: its
    copies are the same noise, and a third of the cost."""
    out: list[tuple[str, str]] = []
    copied: set[tuple[str, str]] = set()
    for label, text in pairs:
        out.append((label, text))
        if (label, text) in copied:
            continue
        copied.add((label, text))
        rng = random.Random(zlib.crc32(f"{SEED}|{text}".encode()))
        out.append((label, noisy(text, rng)))
        if any("а" <= c <= "я" for c in text.lower()):
            latin = to_latin(text, rng)
            out.append((label, latin if rng.random() < 0.5 else noisy(latin, rng)))
    return out


def train(
    pairs: Sequence[tuple[str, str]],
    epochs: int = EPOCHS,
    progress: Callable[[int], None] | None = None,
) -> IntentModel:
    """Multinomial logistic regression over `augmented(pairs)` by SGD with L2; `progress` is
    told each example.

    A message's scores are its features' weights summed and scaled by 1/sqrt(feature count)
    (as `IntentModel.classify` reads them), so the softmax is the model's own probability:
    the confidence is calibrated by training, not by a rule. Weights live in one row per
    feature (a message's rows are summed column by column in C); a label whose probability
    is already right to within `_MIN_GRADIENT` is not updated (most labels, after the first
    epoch), and the L2 decay is one shared scale factor, so a step costs the few labels that
    still err, not all twelve. The step size falls linearly to almost nothing by the last
    example: the weights settle instead of following the last few examples (with a constant
    rate the order of the examples moved the validation figures by ±0.01).
    """
    vocab: dict[str, int] = {}
    examples: list[tuple[int, list[int], float]] = []
    for label, text in augmented(pairs):
        ids = [vocab.setdefault(f, len(vocab)) for f in features(text)]
        examples.append((LABELS.index(label), ids, 1.0 / math.sqrt(len(ids))))
    n_labels = len(LABELS)
    rows = [[0.0] * n_labels for _ in range(len(vocab))]
    order = list(range(len(examples)))
    rng = random.Random(SEED)
    scale = 1.0  # every weight is rows[f][k] * scale (the L2 decay, applied lazily)
    step = 0
    steps = epochs * len(examples)
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            gold, ids, norm = examples[i]
            rate = LEARNING_RATE * max(0.01, 1.0 - step / steps)
            step += 1
            mine = [rows[f] for f in ids]
            scores = [sum(column) * norm * scale for column in zip(*mine, strict=True)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            scale *= 1.0 - rate * L2
            for k in range(n_labels):
                gradient = exps[k] / total - (k == gold)
                if -_MIN_GRADIENT < gradient < _MIN_GRADIENT:
                    continue
                delta = -rate * gradient * norm / scale
                for row in mine:
                    row[k] += delta
            if scale < 1e-6:  # fold the decay in before the floats lose precision
                for row in rows:
                    row[:] = [v * scale for v in row]
                scale = 1.0
            if progress is not None:
                progress(1)
    weights: dict[str, dict[str, float]] = {label: {} for label in LABELS}
    for feature, row in zip(vocab, rows, strict=True):
        if max(abs(v) for v in row) * scale >= PRUNE:
            for k, value in enumerate(row):
                weights[LABELS[k]][feature] = value * scale
    return IntentModel(LABELS, weights)


def training_steps(pairs: Sequence[tuple[str, str]], epochs: int = EPOCHS) -> int:
    """How many examples `train` goes through (for a progress bar)."""
    return len(augmented(pairs)) * epochs


@dataclass
class Report:
    """Per-label precision, recall and F1 on labelled phrases, and the confusion counts."""

    total: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (gold, got, text)

    def prf(self, label: str) -> tuple[float, float, float]:
        tp = self.confusion[(label, label)]
        predicted = sum(n for (_, got), n in self.confusion.items() if got == label)
        actual = sum(n for (gold, _), n in self.confusion.items() if gold == label)
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def macro_f1(self, labels: Iterable[str]) -> float:
        chosen = list(labels)
        return sum(self.prf(label)[2] for label in chosen) / len(chosen)

    def table(self) -> str:
        """Per-label figures, then the confusion table (rows: true label, columns: got)."""
        short = [label[:6] for label in LABELS]
        lines = [f"{'label':<15}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}"]
        for label in LABELS:
            p, r, f1 = self.prf(label)
            n = sum(v for (gold, _), v in self.confusion.items() if gold == label)
            lines.append(f"{label:<15}{p:7.3f}{r:7.3f}{f1:7.3f}{n:6d}")
        lines.append("")
        corner = "true \\ got"
        lines.append(f"{corner:<15}" + "".join(f"{s:>7}" for s in short))
        for gold in LABELS:
            row = "".join(f"{self.confusion[(gold, got)]:7d}" for got in LABELS)
            lines.append(f"{gold:<15}{row}")
        return "\n".join(lines)


def evaluate(model: IntentModel, pairs: Iterable[tuple[str, str]]) -> Report:
    report = Report()
    for gold, text in pairs:
        got = model.classify(text).label
        report.total += 1
        report.confusion[(gold, got)] += 1
        if got != gold:
            report.misses.append((gold, got, text))
    return report
