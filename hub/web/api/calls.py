"""One API call: authenticate, parse the body and query into models, answer the model.

Views receive a `Call` with everything already checked, and return a response model (or a
`Reply` when the status varies); so a view is a few lines calling `hub/actions`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from hub.errors import BadRequest, InvalidInput, NotFound, Unauthorized
from hub.models import Operator
from hub.runtime.services import Hub
from hub.web.api.auth import authenticate, authenticate_bot
from hub.web.api.schemas import MAX_ID
from hub.web.api.spec import ApiRoute
from hub.web.keys import HUB

M = TypeVar("M", bound=BaseModel)
_ID = re.compile(r"[1-9][0-9]{0,9}")


@dataclass(frozen=True)
class Reply:
    """An answer whose status is decided by the view (201 created / 200 updated)."""

    model: BaseModel
    status: int


@dataclass
class Call:
    request: web.Request
    hub: Hub
    operator: Operator | None
    body: BaseModel | None
    query: BaseModel | None
    # The external bot called (with its token); `operator` is then None.
    agent_bot: bool = False

    @property
    def me(self) -> Operator:
        if self.operator is None:
            raise Unauthorized("an API token is required")
        return self.operator

    @property
    def operator_id(self) -> int:
        assert self.me.id is not None
        return self.me.id

    def body_as(self, model: type[M]) -> M:
        assert isinstance(self.body, model), "the route declares another body model"
        return self.body

    def query_as(self, model: type[M]) -> M:
        assert isinstance(self.query, model), "the route declares another query model"
        return self.query

    def id(self, name: str = "id") -> int:
        return path_id(self.request.match_info[name])

    def text_param(self, name: str) -> str:
        return self.request.match_info[name]


def path_id(raw: str) -> int:
    """A path id in its one canonical form; any other form (`abc`, `-1`, `007`, a number
    beyond the database's ids) names nothing: 404."""
    if not _ID.fullmatch(raw) or int(raw) > MAX_ID:
        raise NotFound(f"nothing has the id {raw[:40]!r}")
    return int(raw)


def validation_message(error: ValidationError) -> str:
    """A short, readable summary of what failed (never the submitted values)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False)[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_model(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; decimals stay exact (money never goes through floats)."""
    raw = await request.read()
    if not raw.strip():
        raise BadRequest("the body must be a JSON object")
    try:
        data = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def endpoint(route: ApiRoute) -> web.RouteDef:
    """The aiohttp route for an ApiRoute: checks first, then the view, then the answer."""

    async def handle(request: web.Request) -> web.StreamResponse:
        hub = request.app[HUB]
        bot = route.auth and await authenticate_bot(request, hub, bot_route=route.bot)
        operator = await authenticate(request, hub) if route.auth and not bot else None
        if "id" in route.path_params:
            path_id(request.match_info["id"])  # 404 before any complaint about the body
        query = parse_model(route.query, dict(request.query)) if route.query else None
        body = parse_model(route.body, await read_json_object(request)) if route.body else None
        result = await route.handler(Call(request, hub, operator, body, query, bot))
        if isinstance(result, web.StreamResponse):
            if route.response is not None:
                raise TypeError(f"{route.handler.__name__} answered bytes, not JSON")
            return result
        model, status = (
            (result.model, result.status) if isinstance(result, Reply) else (result, route.status)
        )
        if route.response is None or not isinstance(model, route.response):
            raise TypeError(f"{route.handler.__name__} answered {type(model).__name__}")
        return web.json_response(model.model_dump(mode="json"), status=status)

    handle.__name__ = route.handler.__name__
    return web.route(route.method, route.full_path, handle)
