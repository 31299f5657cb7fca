"""The FAQ bot: answers from a knowledge file the shop edits (markdown, see faq.md).

An entry has question variants in any language, an answer per locale, and maybe the
intents it answers (`intent: return_refund`, see bots/intents.LABELS). A message matches the
entry most similar to it (bots/faq_index.py: TF-IDF cosine over character n-grams in both
alphabets, against each variant and against all of an entry's wordings together) when the
similarity reaches THRESHOLD, or else an entry listing the message's intent; otherwise the
bot passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bots.faq_index import SimilarityIndex
from bots.intents import classify
from hub.domain.bots import BotContext, BotOutcome, BotText
from hub.domain.notes import Note, NoteParam

# Chosen on tests/bots/faq_cases.tsv (docs/BOTS.md has the precision/recall curve): the
# lowest cosine at which a near-miss ("сколько стоит чайник" against "сколько стоит
# доставка") no longer passes more often than a paraphrase fails.
THRESHOLD = 0.38
# An FAQ is asked in a sentence or two: the matching reads only this much of a message
# (its cost grows with the text's n-grams).
FAQ_CHARS = 500


@dataclass
class Entry:
    title: str
    variants: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    intents: list[str] = field(default_factory=list)


def parse_faq(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("## "):
            entries.append(Entry(line[3:].strip()))
        elif not entries or not line or line.startswith("#"):
            continue
        elif line.startswith("?"):
            entries[-1].variants.append(line[1:].strip())
        elif line.startswith("intent:"):
            entries[-1].intents += [i for i in line[7:].replace(",", " ").split() if i]
        elif line[:3] in ("ru:", "en:"):
            entries[-1].answers[line[:2]] = line[3:].strip()
    return [e for e in entries if e.variants and e.answers]


class FaqBot:
    name = "faq"

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        # One document per variant, and one per entry with all its variants: a message
        # that mixes two wordings of the same entry ("how many days is delivery") is
        # closer to the whole entry than to either wording.
        docs: list[str] = []
        self._docs: list[tuple[Entry, str]] = []  # (entry, its variant; "": all of them)
        groups: list[int] = []
        for number, entry in enumerate(entries):
            for variant in entry.variants:
                docs.append(variant)
                self._docs.append((entry, variant))
            docs.append(" ".join(entry.variants))
            self._docs.append((entry, ""))
            groups += [number] * (len(entry.variants) + 1)
        self._index = SimilarityIndex(docs, groups)
        self._seen: dict[str, tuple[float, Entry, str] | None] = {}

    @classmethod
    def from_file(cls, path: Path) -> FaqBot:
        return cls(parse_faq(path.read_text(encoding="utf-8")))

    def prepare(self, text: str) -> None:
        """Reads `text` in a worker thread (`hub.domain.bots.Preparing`): the per-word
        n-gram cache fills there, not on the event loop."""
        self._best(text)

    def _best(self, text: str) -> tuple[float, Entry, str] | None:
        """The closest variant; remembered for the few latest texts, so `handle` on the
        event loop finds what `prepare` worked out in a worker thread."""
        if text in self._seen:
            return self._seen[text]
        if len(self._seen) >= 256:
            self._seen.clear()
        self._seen[text] = found = self._closest(text)
        return found

    def _closest(self, text: str) -> tuple[float, Entry, str] | None:
        """The most similar entry, its similarity and which wording was closest."""
        if not self._docs:
            return None
        scores = self._index.scores(text[:FAQ_CHARS])
        best = max(range(len(scores)), key=scores.__getitem__)
        entry, variant = self._docs[best]
        return scores[best], entry, variant

    async def handle(self, ctx: BotContext) -> BotOutcome:
        best = self._best(ctx.text)
        if best is not None and best[0] >= THRESHOLD:
            score, entry, variant = best
            found: dict[str, NoteParam] = {"title": entry.title, "score": score}
            if variant:
                found["variant"] = variant
            key = "faq.variant" if variant else "faq.entry"
            return await self._answer(ctx, entry, Note(key, found))
        intent = classify(ctx.text)
        for entry in self.entries:
            if intent.label in entry.intents:
                why: dict[str, NoteParam] = {
                    "title": entry.title,
                    "intent": Note(f"intent.{intent.label}"),
                    "confidence": intent.confidence,
                }
                return await self._answer(ctx, entry, Note("faq.intent", why))
        return BotOutcome.PASSED

    async def _answer(self, ctx: BotContext, entry: Entry, why: Note) -> BotOutcome:
        answer = entry.answers.get(ctx.customer.locale) or next(iter(entry.answers.values()))
        await ctx.reply(BotText("faq_answer", {"answer": answer}), why)
        return BotOutcome.ANSWERED
