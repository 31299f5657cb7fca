"""Customer-facing texts of bots and notifications: jinja2 templates per locale.

`templates/messages/{locale}/{name}.j2`; plain text (these go to messengers, SMS and mail
bodies, never into HTML), so no HTML escaping: a tracking link keeps its `&`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import jinja2

from hub.resources import templates_dir

LOCALES = ("ru", "en")
DEFAULT_LOCALE = "en"
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")
_LATIN = re.compile(r"[a-zA-Z]")


def text_locale(text: str) -> str | None:
    """The language a text is written in, when its letters say so."""
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    if cyrillic == latin == 0:
        return None
    return "ru" if cyrillic >= latin else "en"


def pick_locale(customer_locale: str | None, text: str | None = None) -> str:
    """The customer's own locale (Telegram language_code, ...) when we speak it, else the
    language of what they wrote, else the default."""
    if customer_locale:
        base = customer_locale.lower().replace("_", "-").split("-", 1)[0]
        if base in LOCALES:
            return base
    return (text_locale(text) if text else None) or DEFAULT_LOCALE


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir() / "messages"),
        autoescape=False,  # plain-text messages, see the module docstring
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def has_template(locale: str, name: str) -> bool:
    return (templates_dir() / "messages" / locale / f"{name}.j2").is_file()


def render(locale: str, name: str, variables: Mapping[str, Any]) -> str:
    """One message text; surrounding blank lines trimmed, at most one blank line in a row."""
    template = _environment().get_template(f"{locale}/{name}.j2")
    text = template.render(**variables)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
