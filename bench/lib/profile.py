"""What a py-spy record of collapsed stacks says in a few lines: the functions whose calls
hold the largest share of the samples (inclusive), so a MISS can name what it is made of."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")
_AT_LINE = re.compile(r":\d+\)$")


def inclusive_shares(path: Path) -> tuple[int, Counter[str]]:
    """(samples, {function (file): samples with it anywhere on the stack}); one count per
    stack however often recursion repeats a frame; idle samples are kept: they are time."""
    total, holding = 0, Counter[str]()
    for line in path.read_text(errors="replace").splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        stack, count = match.group(1), int(match.group(2))
        total += count
        frames = {_AT_LINE.sub(")", frame) for frame in stack.split(";")}
        for frame in frames:
            holding[frame] += count
    return total, holding


def top_frames(path: Path, wanted: tuple[str, ...], most: int = 12) -> list[tuple[float, str]]:
    """The `most` functions from files whose path contains one of `wanted`, by share."""
    total, holding = inclusive_shares(path)
    if not total:
        return []
    ours = [(n / total, f) for f, n in holding.items() if any(w in f for w in wanted)]
    return sorted(ours, reverse=True)[:most]
