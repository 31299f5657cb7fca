"""The FAQ bot: answers from a knowledge file the shop edits (markdown, see faq.md).

An entry has question variants in any language and an answer per locale. A message
matches the closest variant (difflib's ratio over normalised text, or most of the
variant's words present, typos allowed), above a threshold; otherwise the bot passes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from bots.words import Lexicon, words
from hub.domain.bots import BotContext, BotOutcome, BotText

THRESHOLD = 0.75


@dataclass
class Entry:
    title: str
    variants: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)


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

    @classmethod
    def from_file(cls, path: Path) -> FaqBot:
        return cls(parse_faq(path.read_text(encoding="utf-8")))

    async def handle(self, ctx: BotContext) -> BotOutcome:
        best: tuple[float, Entry, str] | None = None
        for entry in self.entries:
            for variant in entry.variants:
                score = similarity(ctx.text, variant)
                if best is None or score > best[0]:
                    best = (score, entry, variant)
        if best is None or best[0] < THRESHOLD:
            return BotOutcome.PASSED
        score, entry, variant = best
        answer = entry.answers.get(ctx.customer.locale) or next(iter(entry.answers.values()))
        await ctx.reply(
            BotText("faq_answer", {"answer": answer}),
            f"faq: '{entry.title}', matched '{variant}' ({score:.2f})",
        )
        return BotOutcome.ANSWERED
