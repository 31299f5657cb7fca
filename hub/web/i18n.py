"""The inbox UI in the operator's language: templates write English, a catalog per locale
translates. Catalogs are JSON files (English text → translation) so no build step is needed;
`templates/i18n/<locale>/*.json` are merged, one file per part of the UI."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jinja2
from jinja2 import pass_context

from hub.resources import templates_dir

UI_LOCALES = ("en", "ru")
DEFAULT_LOCALE = "en"


@cache
def catalog(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    if locale == DEFAULT_LOCALE:
        return merged
    for path in sorted((templates_dir() / "i18n" / locale).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def ui_locale(context: Any) -> str:
    """The page's language: an explicit `ui_locale`, else the signed-in operator's choice."""
    explicit = context.get("ui_locale")
    if isinstance(explicit, str) and explicit in UI_LOCALES:
        return explicit
    me = context.get("me")
    locale = getattr(getattr(me, "operator", None), "locale", None)
    return locale if locale in UI_LOCALES else DEFAULT_LOCALE


def translate(locale: str, text: str) -> str:
    return catalog(locale).get(text, text)


@pass_context
def _gettext(context: Any, text: str) -> str:
    return translate(ui_locale(context), text)


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return translate(ui_locale(context), singular if n == 1 else plural)


def install(env: jinja2.Environment) -> None:
    """`{{ _("Text") }}` and `{% trans %}` in any template, with `%(name)s` variables."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
