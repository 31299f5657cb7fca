"""API calls that arrive together with one token share its lookup (hub.web.token_lookups);
a token revoked meanwhile is still refused on the next request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.actions.access import do_revoke_tokens_of
from hub.models import Operator
from hub.web import token_lookups
from tests.support import RunningHub
from tests.support.api import Api


async def test_concurrent_calls_share_one_token_lookup_and_a_revoke_still_stops_the_next(
    hub: RunningHub, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    arrived: list[str] = []
    everyone_in = asyncio.Event()
    original = token_lookups.operator_for_token
    share = token_lookups.TokenLookups.operator

    async def counted(session: Any, token: str) -> Operator | None:
        looked_up.append(token)
        await everyone_in.wait()  # every call below arrives while this lookup runs
        return await original(session, token)

    async def arriving(self: token_lookups.TokenLookups, db: Any, token: str) -> Any:
        arrived.append(token)
        if len(arrived) == 8:
            everyone_in.set()
        return await share(self, db, token)

    monkeypatch.setattr(token_lookups, "operator_for_token", counted)
    monkeypatch.setattr(token_lookups.TokenLookups, "operator", arriving)
    answers = await asyncio.wait_for(
        asyncio.gather(*(api.call("GET", "/teams") for _ in range(8))), 20
    )
    assert [status for status, _, _ in answers] == [200] * 8
    assert looked_up == [api.token]  # one lookup for the eight

    async with hub.hub.db.session() as session:
        operator = await session.get(Operator, api.operator_id)
        assert operator is not None
        await do_revoke_tokens_of(session, operator)
        await session.commit()
    status, body, _ = await api.call("GET", "/teams")
    assert status == 401 and body["error"]["code"] == "unauthorized"
