"""The FAQ bot: answers from a knowledge file the shop edits (markdown, see faq.md).

An entry has question variants in any language, an answer per locale, and maybe the
intents it answers (`intent: return_refund`, see bots/intents.LABELS). A message matches the
closest variant (difflib's ratio over normalised text, or most of the variant's words
present, typos allowed) above a threshold, or else an entry listing the message's intent;
otherwise the bot passes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from bots.intents import classify
from bots.words import Lexicon, words
from hub.domain.bots import BotContext, BotOutcome, BotText

THRESHOLD = 0.75
# An FAQ is asked in a sentence or two: the fuzzy matching (the bots' costliest reading,
# per word pair) reads only this much of a message.
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


@functools.lru_cache(maxsize=4096)
def _word(word: str) -> Lexicon:
    return Lexicon([word])


def similarity(message: str, variant: str) -> float:
    said, asked = words(message), words(variant)
    if not said or not asked:
        return 0.0
    ratio = SequenceMatcher(None, " ".join(said), " ".join(asked)).ratio()
    present = sum(1 for w in asked if _word(w).match_any(said)) / len(asked)
    return max(ratio, present if len(asked) >= 3 else 0.0)


class FaqBot:
    name = "faq"

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self._seen: dict[str, tuple[float, Entry, str] | None] = {}

    @classmethod
    def from_file(cls, path: Path) -> FaqBot:
        return cls(parse_faq(path.read_text(encoding="utf-8")))

    def prepare(self, text: str) -> None:
        """Fills the word-matching cache in a worker thread (`hub.domain.bots.Preparing`)."""
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
        best: tuple[float, Entry, str] | None = None
        for entry in self.entries:
            for variant in entry.variants:
                score = similarity(text[:FAQ_CHARS], variant)
                if best is None or score > best[0]:
                    best = (score, entry, variant)
        return best

    async def handle(self, ctx: BotContext) -> BotOutcome:
        best = self._best(ctx.text)
        if best is not None and best[0] >= THRESHOLD:
            score, entry, variant = best
            return await self._answer(ctx, entry, f"matched '{variant}' ({score:.2f})")
        intent = classify(ctx.text)
        for entry in self.entries:
            if intent.label in entry.intents:
                why = f"intent {intent.label} ({intent.confidence:.2f})"
                return await self._answer(ctx, entry, why)
        return BotOutcome.PASSED

    async def _answer(self, ctx: BotContext, entry: Entry, why: str) -> BotOutcome:
        answer = entry.answers.get(ctx.customer.locale) or next(iter(entry.answers.values()))
        await ctx.reply(BotText("faq_answer", {"answer": answer}), f"faq: '{entry.title}', {why}")
        return BotOutcome.ANSWERED
