"""Inputs a test forges: a tampered signature, a route path with its placeholders filled."""

from __future__ import annotations

import re


def tampered(signed: str) -> str:
    """`signed` with its last character changed: always different (a fixed suffix may match)."""
    return signed[:-1] + ("1" if signed[-1] == "0" else "0")


def concrete_path(path: str) -> str:
    """A route's path with its placeholders filled: every `{...id}` with 1, `{number}` with
    an order number."""
    return re.sub(r"{\w*id}", "1", path).replace("{number}", "A-1")
