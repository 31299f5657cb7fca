"""Canned responses: texts operators insert with `/shortcut`."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.errors import Conflict, InvalidInput, NotFound
from hub.models import CannedResponse

SHORTCUT = re.compile(r"^[\w-]{1,64}$")
MAX_TEXT_CHARS = 20_000


def check_canned(shortcut: str, text: str) -> tuple[str, str]:
    """A shortcut is one word (typed after `/` in the reply box); the text is not empty."""
    clean = shortcut.strip().removeprefix("/")
    if not SHORTCUT.fullmatch(clean):
        raise InvalidInput("shortcut is 1-64 letters, digits, '_' or '-', without spaces")
    if not text.strip():
        raise InvalidInput("text must not be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"text is longer than {MAX_TEXT_CHARS} characters")
    return clean, text


async def list_canned(
    session: AsyncSession, *, after_id: int | None, limit: int
) -> list[CannedResponse]:
    query = select(CannedResponse)
    if after_id is not None:
        query = query.where(col(CannedResponse.id) > after_id)
    rows = await session.scalars(query.order_by(col(CannedResponse.id)).limit(limit))
    return list(rows.all())


async def do_create_canned(session: AsyncSession, shortcut: str, text: str) -> CannedResponse:
    clean, text = check_canned(shortcut, text)
    taken = await session.scalar(
        select(CannedResponse).where(col(CannedResponse.shortcut) == clean)
    )
    if taken is not None:
        raise Conflict(f"the shortcut /{clean} already exists")
    canned = CannedResponse(shortcut=clean, text=text)
    session.add(canned)
    try:
        # Two operators may create the same shortcut at once: the unique index decides.
        await session.flush()
    except IntegrityError:
        raise Conflict(f"the shortcut /{clean} already exists") from None
    return canned


async def get_canned(session: AsyncSession, canned_id: int) -> CannedResponse:
    canned = await session.get(CannedResponse, canned_id)
    if canned is None:
        raise NotFound(f"canned response {canned_id} not found")
    return canned


async def do_update_canned(
    session: AsyncSession, canned: CannedResponse, shortcut: str, text: str
) -> CannedResponse:
    clean, text = check_canned(shortcut, text)
    taken = await session.scalar(
        select(CannedResponse).where(
            col(CannedResponse.shortcut) == clean, col(CannedResponse.id) != canned.id
        )
    )
    if taken is not None:
        raise Conflict(f"the shortcut /{clean} already exists")
    canned.shortcut, canned.text = clean, text
    session.add(canned)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"the shortcut /{clean} already exists") from None
    return canned


async def do_delete_canned(session: AsyncSession, canned: CannedResponse) -> None:
    await session.delete(canned)
