"""The inbox UI in the operator's language: templates write English, a catalog per locale
translates. Catalogs are JSON files (English text → translation) so no build step is needed;
`templates/i18n/<locale>/*.json` are merged, one file per part of the UI.

Only literal text is ever looked up: templates call `_("literal")` (tests/web/test_i18n.py
rejects anything else), and values such as customer names go in as `%(name)s` variables,
which jinja escapes. Errors from the actions are translated here, by code or by the English
message's shape, for the inbox only: the REST API keeps its English messages.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
from jinja2 import pass_context

from hub.actions.operator_locale import UI_LOCALES
from hub.actions.system_notes import note_text
from hub.errors import HubError
from hub.resources import templates_dir

DEFAULT_LOCALE = "en"
MAX_ACCEPT_LANGUAGE_CHARS = 500
# `pgettext("order", "delivered")` is the catalog key "order\u0004delivered" (gettext's own
# convention): for the same English word that needs different translations.
CONTEXT_SEPARATOR = "\x04"


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


def with_context(meaning: str, text: str) -> str:
    return f"{meaning}{CONTEXT_SEPARATOR}{text}"


@pass_context
def _pgettext(context: Any, meaning: str, text: str) -> str:
    return catalog(ui_locale(context)).get(with_context(meaning, text), text)


@pass_context
def _npgettext(context: Any, meaning: str, singular: str, plural: str, n: int) -> str:
    return _pgettext(context, meaning, singular if n == 1 else plural)


# ---- choosing a language before anyone is signed in --------------------------------------


def from_accept_language(header: str | None) -> str | None:
    """The first supported language the browser asks for (by q-value), or None."""
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate((header or "")[:MAX_ACCEPT_LANGUAGE_CHARS].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in UI_LOCALES and quality > 0:
            ranked.append((-quality, order, primary))
    return min(ranked)[2] if ranked else None


def login_locale(chosen: str | None, accept_language: str | None) -> str:
    """The login page: a `?lang=` link (or the form's hidden copy of it) wins, then the
    browser's Accept-Language, then English."""
    if chosen in UI_LOCALES:
        return str(chosen)
    return from_accept_language(accept_language) or DEFAULT_LOCALE


# ---- dates --------------------------------------------------------------------------------

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(locale: str, moment: datetime) -> str:
    if locale == "ru":
        return f"{moment.day:02d}.{moment.month:02d}.{moment.year}"
    return f"{_MONTHS_EN[moment.month - 1]} {moment.day}, {moment.year}"


def format_datetime(locale: str, moment: datetime) -> str:
    """Server-side text in UTC (the page's script rewrites it in the browser's zone)."""
    return f"{format_date(locale, moment)}, {moment:%H:%M} UTC"


@pass_context
def _ui_datetime(context: Any, moment: datetime) -> str:
    return format_datetime(ui_locale(context), moment)


@pass_context
def _ui_date(context: Any, moment: datetime) -> str:
    return format_date(ui_locale(context), moment)


# ---- errors the inbox shows -----------------------------------------------------------------

ERRORS_BY_CODE = {
    "csrf": "This form expired or is not yours. Reload the page and try again.",
    "window_closed": (
        "The WhatsApp 24-hour window is closed: pick another channel or send a template."
    ),
}
# The English messages of hub/errors raised by the actions and inbox forms, by shape:
# named groups become the translation's variables.
ERRORS_BY_MESSAGE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (r"name must not be empty", "The name must not be empty."),
        (r"name is longer than (?P<n>\d+) characters", "The name is longer than %(n)s characters."),
        (
            r"only an admin can manage operators and canned responses",
            "Only an admin can manage operators and canned responses.",
        ),
        (
            r"shortcut is 1-64 letters, digits, '_' or '-', without spaces",
            "A shortcut is 1-64 letters, digits, '_' or '-', without spaces.",
        ),
        (r"text must not be empty", "The text must not be empty."),
        (r"text is longer than (?P<n>\d+) characters", "The text is longer than %(n)s characters."),
        (
            r"the shortcut /(?P<shortcut>.+) already exists",
            "The shortcut /%(shortcut)s already exists.",
        ),
        (r"conversation (?P<id>\d+) not found", "Conversation %(id)s does not exist."),
        (r"customer (?P<id>\d+) not found", "Customer %(id)s does not exist."),
        (r"operator (?P<id>\d+) does not exist", "Operator %(id)s does not exist."),
        (r"nothing has the id (?P<id>.+)", "Nothing has the id %(id)s."),
        (r"no such part of a thread", "This page names nothing that exists."),
        (r"a label is at most 64 characters", "A label is at most 64 characters."),
        (r"a customer cannot be merged with itself", "A customer cannot be merged with itself."),
        (r"unknown channel (?P<channel>.+)", "Unknown channel %(channel)s."),
        (
            r"the customer has no (?P<channel>\w+) address to reply to",
            "The customer has no %(channel)s address to reply to.",
        ),
        (r"(?P<email>.+) is not a valid email address", "%(email)s is not a valid email address."),
        (r"role must be admin or agent", "The role must be admin or agent."),
        (r"a password has at least 8 characters", "A password has at least 8 characters."),
        (
            r"an operator with email (?P<email>.+) already exists",
            "An operator with email %(email)s already exists.",
        ),
        (
            r"give a valid date and time to snooze until",
            "Give a valid date and time to snooze until.",
        ),
        (r"snooze until a time in the future", "Snooze until a time in the future."),
        (r"unknown snooze preset", "Unknown snooze preset."),
        (
            r"a macro sets the status to open, pending or resolved",
            "A macro sets the status to open, pending or resolved.",
        ),
        (r"a macro does at least one thing", "A macro must do at least one thing."),
        (
            r"a macro named (?P<name>.+) already exists",
            "A macro named %(name)s already exists.",
        ),
        (r"macro (?P<id>\d+) not found", "This macro no longer exists."),
        (r"canned response (?P<id>\d+) not found", "This canned response no longer exists."),
        (
            r"no conversation has the label (?P<label>.+)",
            "No conversation has the label %(label)s.",
        ),
        (r"a label must not be empty", "A label must not be empty."),
        (
            r"snooze_until is required to snooze a conversation",
            "Give a date and time to snooze until.",
        ),
        (r"unknown status", "Unknown status."),
        (
            r"the customer's conversation #(?P<id>\d+) is still open: continue there",
            "The customer's conversation #%(id)s is still open: continue there.",
        ),
        (
            r"this conversation was merged into #(?P<id>\d+)",
            "This conversation was merged into #%(id)s.",
        ),
        (r"this identity is already proven", "This address is already proven."),
        (
            r"this customer has no such (identity|suggestion)",
            "This page names nothing that exists.",
        ),
        (r"suggestion \d+ not found", "This suggestion no longer exists."),
        (
            r"one of these customers was just merged into another; reload",
            "One of these customers was just merged into another: reload the page.",
        ),
        (r"you cannot disable your own account", "You cannot disable your own account."),
        (r"API token (?P<id>\d+) does not exist", "API token %(id)s does not exist."),
        (r"the inbox language is one of .+", "Pick English or Russian."),
        (r"webhook (?P<id>\d+) not found", "Webhook %(id)s does not exist."),
        (r"only an admin can manage webhooks", "Only an admin can manage webhooks."),
        (
            r"the URL (must be 1 to \d+ characters|is not valid|must be an absolute https:// URL"
            r"|must not contain spaces or control characters|must use https://)",
            "The URL must be an absolute https:// address on a public host.",
        ),
        (
            r"the URL points at (this machine \(loopback\)|a private or reserved address)",
            "The URL points at this machine or a private network: the hub does not send there.",
        ),
        (
            r"the URL must not carry a user name or password",
            "The URL must not carry a user name or password.",
        ),
        (r"choose at least one event", "Choose at least one event."),
        (r"unknown event (?P<name>'[^']*'); known: .+", "Unknown event %(name)s."),
        (r"at most (?P<n>\d+) webhooks", "At most %(n)s webhooks."),
    )
)


def error_msgids() -> set[str]:
    """Every msgid this module looks up (the catalog test counts them as used)."""
    return {*ERRORS_BY_CODE.values(), *(msgid for _, msgid in ERRORS_BY_MESSAGE)}


def error_text(locale: str, error: HubError) -> str:
    """`error`'s message in `locale`; English messages of unknown shape are shown as they are."""
    if error.code in ERRORS_BY_CODE:
        return translate(locale, ERRORS_BY_CODE[error.code])
    for pattern, msgid in ERRORS_BY_MESSAGE:
        found = pattern.fullmatch(error.message)
        if found:
            return translate(locale, msgid) % found.groupdict()
    return error.message


@pass_context
def _error_message(context: Any, error: HubError) -> str:
    return error_text(ui_locale(context), error)


@pass_context
def _ui_lang(context: Any) -> str:
    return ui_locale(context)


@pass_context
def _shown_text(context: Any, message: Any) -> str:
    """A message's text for the viewing operator: a note the hub wrote itself (in the
    template's `notes`, by message id) in their language, anything else as stored."""
    notes = context.get("notes") or {}
    note = notes.get(getattr(message, "id", None))
    text: str = message.text
    return text if note is None else note_text(ui_locale(context), note, text)


def install(env: jinja2.Environment) -> None:
    """`{{ _("Text") }}` and `{% trans %}` in any template, with `%(name)s` variables
    (`pgettext("meaning", "Text")` when one English word needs two translations);
    `ui_lang()` for `<html lang>`, `|ui_datetime` and `|ui_date`, `error_message(error)`,
    `shown_text(message)` for a message's text (the hub's own notes translated)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    env.globals.update(ui_lang=_ui_lang, error_message=_error_message, shown_text=_shown_text)
    env.filters.update(ui_datetime=_ui_datetime, ui_date=_ui_date)
