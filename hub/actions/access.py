"""Taking access back (SPEC §10): list and revoke API tokens, disable and enable operators,
set a password. Sessions and tokens are checked on every request (hub/actions/sessions.py,
`operator_for_token`), so what is taken back here stops working on the next request.

A disabled operator keeps their tokens (refused while disabled, working again once enabled);
`do_revoke_tokens_of` removes them for good.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.operators import check_password, hash_password
from hub.actions.sessions import do_end_sessions_of
from hub.domain.types import OperatorRole
from hub.errors import AccessDenied, NotFound
from hub.models import (
    ApiToken,
    Operator,
)
from hub.models.base import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenRow:
    """What may be shown of a token: never the secret (only its hash is stored anyway)."""

    id: int
    operator_id: int
    email: str
    created_at: datetime
    last_used_at: datetime | None


async def list_tokens(session: AsyncSession, operator: Operator | None = None) -> list[TokenRow]:
    """Every API token (or `operator`'s), oldest first."""
    query = (
        select(ApiToken, col(Operator.email))
        .join(Operator, col(Operator.id) == col(ApiToken.operator_id))
        .order_by(col(ApiToken.id))
    )
    if operator is not None:
        query = query.where(col(ApiToken.operator_id) == operator.id)
    return [
        TokenRow(token.id or 0, token.operator_id, email, token.created_at, token.last_used_at)
        for token, email in (await session.execute(query)).all()
    ]


async def do_revoke_token(session: AsyncSession, token_id: int) -> None:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"API token {token_id} does not exist")
    await session.delete(token)
    log.info("api token revoked", extra={"token_id": token_id, "operator_id": token.operator_id})


async def do_revoke_tokens_of(session: AsyncSession, operator: Operator) -> int:
    """Revoke every token of `operator`; answers how many there were."""
    result = await session.execute(delete(ApiToken).where(col(ApiToken.operator_id) == operator.id))
    revoked = int(getattr(result, "rowcount", 0) or 0)
    log.info("api tokens revoked", extra={"operator_id": operator.id, "count": revoked})
    return revoked


async def operator_by_id(session: AsyncSession, operator_id: int) -> Operator:
    operator = await session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} does not exist")
    return operator


def access_disable_operator(me: Operator, target: Operator) -> None:
    """Admins only; and an admin cannot disable their own account (locking themselves out)."""
    access_admin(me)
    if me.id == target.id:
        raise AccessDenied("you cannot disable your own account")


async def do_disable_operator(session: AsyncSession, operator: Operator) -> None:
    """The operator can no longer sign in; their sessions end now, their tokens are refused."""
    if operator.disabled_at is None:
        operator.disabled_at = utcnow()
        session.add(operator)
    await do_end_sessions_of(session, operator.id or 0)
    log.info("operator disabled", extra={"operator_id": operator.id})


def do_enable_operator(session: AsyncSession, operator: Operator) -> None:
    operator.disabled_at = None
    session.add(operator)
    log.info("operator enabled", extra={"operator_id": operator.id})


async def do_set_password(
    session: AsyncSession, operator: Operator, password: str, *, keep_session: str | None = None
) -> None:
    """A new password; every session of the operator ends, but `keep_session` (the raw id of
    the caller's own, when operators change their own password)."""
    check_password(password)
    # argon2 is deliberately slow: keep it off the event loop.
    operator.password_hash = await asyncio.to_thread(hash_password, password)
    session.add(operator)
    await do_end_sessions_of(session, operator.id or 0, keep_raw=keep_session)
    log.info("operator password changed", extra={"operator_id": operator.id})


def access_admin(operator: Operator) -> None:
    """Managing operators and canned responses is for admins only."""
    if operator.role != OperatorRole.ADMIN:
        raise AccessDenied("only an admin can manage operators and canned responses")
