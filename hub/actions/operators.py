"""Operators, passwords (argon2) and API tokens (shown once, stored hashed)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.domain.addresses import normalise_email
from hub.domain.types import OperatorRole
from hub.errors import Conflict, InvalidInput, NotFound
from hub.models import ApiToken, Operator
from hub.models.base import utcnow
from hub.runtime.secrets import token_hash

_hasher = PasswordHasher()
MIN_PASSWORD_CHARS = 8


@cache
def _dummy_hash() -> str:
    """Verifying against this keeps a wrong email as slow as a wrong password.

    Made on first use: hashing costs argon2's 64 MiB, which a process that never sees a
    login should not carry.
    """
    return _hasher.hash("not a real password")


def _verify(stored: str | None, password: str) -> None:
    _hasher.verify(stored or _dummy_hash(), password)


def check_operator(
    email: str, name: str, role: str, password: str | None
) -> tuple[str, OperatorRole]:
    clean = normalise_email(email)
    if clean is None:
        raise InvalidInput(f"{email!r} is not a valid email address")
    if not name.strip():
        raise InvalidInput("name must not be empty")
    try:
        parsed_role = OperatorRole(role)
    except ValueError:
        raise InvalidInput("role must be admin or agent") from None
    if password is not None:
        check_password(password)
    return clean, parsed_role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput("a password has at least 8 characters")
    return password


def hash_password(password: str) -> str:
    """argon2 (slow on purpose, 64 MiB): callers on the event loop run it in a thread."""
    return _hasher.hash(check_password(password))


async def do_create_operator(
    session: AsyncSession, *, email: str, name: str, role: str, password: str | None
) -> Operator:
    clean, parsed_role = check_operator(email, name, role, password)
    if await session.scalar(select(Operator).where(col(Operator.email) == clean)) is not None:
        raise Conflict(f"an operator with email {clean} already exists")
    operator = Operator(
        email=clean,
        name=name.strip(),
        role=parsed_role.value,
        # argon2 is slow on purpose: off the event loop, like every other hashing here.
        password_hash=await asyncio.to_thread(hash_password, password) if password else None,
    )
    session.add(operator)
    await session.flush()
    return operator


async def operator_by_email(session: AsyncSession, email: str) -> Operator:
    clean = normalise_email(email) or email.strip().lower()
    operator = await session.scalar(select(Operator).where(col(Operator.email) == clean))
    if operator is None:
        raise NotFound(f"no operator with email {clean}")
    return operator


async def do_create_token(session: AsyncSession, operator: Operator) -> str:
    token = "hub_" + secrets.token_urlsafe(32)
    session.add(ApiToken(operator_id=operator.id, token_hash=token_hash(token)))  # type: ignore[arg-type]
    await session.flush()
    return token


# A token's last use is written at most this often: not a write per API call.
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


async def operator_for_token(session: AsyncSession, token: str) -> Operator | None:
    """The operator a token belongs to; None for an unknown (revoked) token or a disabled
    operator. Notes the token's last use (the caller commits when `session.dirty`). One
    statement: it runs before every API call."""
    found = (
        await session.execute(
            select(ApiToken, Operator)
            .join(Operator, col(Operator.id) == col(ApiToken.operator_id))
            .where(col(ApiToken.token_hash) == token_hash(token))
        )
    ).first()
    if found is None:
        return None
    row, operator = found[0], found[1]
    if operator.disabled:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
        row.last_used_at = now
        session.add(row)
    return operator


async def check_login(session: AsyncSession, email: str, password: str) -> Operator | None:
    """The operator this email and password sign in, else None (also when disabled)."""
    clean = normalise_email(email) or email.strip().lower()
    operator = await session.scalar(select(Operator).where(col(Operator.email) == clean))
    stored = operator.password_hash if operator is not None else None
    try:
        # argon2 is deliberately slow: keep it off the event loop.
        await asyncio.to_thread(_verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if operator is None or not stored or operator.disabled:
        return None  # a disabled operator's right password opens nothing
    return operator
