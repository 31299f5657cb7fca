"""Schemathesis against the running hub's own `/api/v1/openapi.json`, over real HTTP.

With a valid token and seeded data: no 5xx, and statuses, content types, headers and bodies
match the document, for generated valid and invalid requests alike. With no token or a wrong
one: every route that the document marks as secured answers 401 whatever else is sent.
Schemathesis is synchronous (requests), so it runs in a thread while the hub serves on the
test's event loop.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import given
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.fuzz import fuzz
from tests.support import RunningHub
from tests.support.api import Api, customer_writes, make_api

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# A correctness test, not a latency one: a loaded CI machine may answer one request slowly.
TIMEOUT = 60

POSITIVE_EXAMPLES = 15
NEGATIVE_EXAMPLES = 10
AUTH_EXAMPLES = 4


def operations(hub_url: str) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{hub_url}/api/v1/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def secured(operation: Any) -> bool:
    return bool(operation.definition.raw.get("security"))


def run(operation: Any, mode: GenerationMode, examples: int, check: Callable[[Case], None]) -> int:
    """Feed `examples` generated cases of `operation` to `check`; answers how many ran."""
    ran = 0

    @fuzz(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def each(case: Case) -> None:
        nonlocal ran
        ran += 1
        check(case)

    each()
    return ran


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    """An admin: every route is open to it, so every generated request can reach its handler
    (what an agent may not do is tested in test_operators.py)."""
    return await make_api(hub, "root@shop.test", "Root", role="admin")


async def seed(hub: RunningHub, api: Api) -> None:
    """Something for the ids 1..3 (the ones generators favour) to name."""
    for user_id in (7001, 7002, 7003):
        await customer_writes(hub, user_id, f"hello from {user_id}")
    await api.ok(
        "PUT",
        "/orders/1042",
        {"customer": {"telegram_id": "7001"}, "status": "created"},
        status=201,
    )
    await api.ok("POST", "/canned-responses", {"shortcut": "hi", "text": "Hello!"}, status=201)


async def test_generated_requests_with_a_valid_token_never_fail_and_match_the_schema(
    hub: RunningHub, api: Api
) -> None:
    await seed(hub, api)
    headers = {"Authorization": f"Bearer {api.token}"}

    statuses: Counter[int] = Counter()

    def fuzz_all() -> dict[str, int]:
        counts: dict[str, int] = {}
        for operation in operations(hub.url):

            def positive(case: Case) -> None:
                response = case.call_and_validate(
                    base_url=hub.url, headers=headers, checks=CONFORMANCE, timeout=TIMEOUT
                )
                statuses[response.status_code] += 1

            def negative(case: Case) -> None:
                response = case.call_and_validate(
                    base_url=hub.url,
                    headers=headers,
                    checks=[*CONFORMANCE, negative_data_rejection],
                    timeout=TIMEOUT,
                )
                statuses[response.status_code] += 1

            counts[operation.label] = run(
                operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES, positive
            ) + run(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, negative)
        return counts

    counts = await asyncio.to_thread(fuzz_all)
    assert len(counts) >= 14 and all(counts.values()), counts
    # Generated requests reached real rows too, not only validation errors.
    assert statuses[200] + statuses[201] > 0 and not any(s >= 500 for s in statuses), statuses


async def test_every_secured_route_refuses_a_missing_or_wrong_token(
    hub: RunningHub, api: Api
) -> None:
    await seed(hub, api)
    refusals = {
        "none": {},
        "wrong": {"Authorization": "Bearer hub_wrong-token-0000"},
        "truncated": {"Authorization": f"Bearer {(api.token or '')[:-4]}"},
        "not bearer": {"Authorization": f"Token {api.token}"},
    }

    def probe_all() -> tuple[set[str], set[str]]:
        guarded, public = set(), set()
        for operation in operations(hub.url):
            if not secured(operation):
                public.add(operation.label)
                continue
            guarded.add(operation.label)
            for name, headers in refusals.items():

                def refused(
                    case: Case, headers: dict[str, str] = headers, name: str = name
                ) -> None:
                    case.headers = {
                        k: v
                        for k, v in (case.headers or {}).items()
                        if k.lower() != "authorization"
                    }
                    response = case.call(base_url=hub.url, headers=headers, timeout=TIMEOUT)
                    assert response.status_code == 401, (name, case.operation.label, response.text)
                    assert response.json()["error"]["code"] == "unauthorized"
                    case.validate_response(response, checks=CONFORMANCE, headers=headers)

                run(operation, GenerationMode.POSITIVE, AUTH_EXAMPLES, refused)
        return guarded, public

    guarded, public = await asyncio.to_thread(probe_all)
    assert public == {"POST /api/v1/auth/login"}
    assert len(guarded) >= 13
