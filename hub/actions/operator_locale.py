"""The language an operator reads the inbox in: their own choice, kept on their row so it
follows them to every session and device."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import InvalidInput, NotFound
from hub.models import Operator

UI_LOCALES = ("en", "ru")


def check_ui_locale(value: str) -> str:
    clean = value.strip().lower()
    if clean not in UI_LOCALES:
        raise InvalidInput(f"the inbox language is one of {', '.join(UI_LOCALES)}")
    return clean


async def do_set_operator_locale(session: AsyncSession, operator_id: int, locale: str) -> None:
    clean = check_ui_locale(locale)
    operator = await session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    operator.locale = clean
    session.add(operator)
    await session.flush()
