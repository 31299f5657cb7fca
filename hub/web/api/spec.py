"""Route definitions of the REST API, and the OpenAPI document generated from them.

Every route is declared once as an `ApiRoute` (method, path, models, statuses); the same
declaration registers the aiohttp handler and writes the route into the OpenAPI document,
so the document lists exactly the routes that exist with the models they really use.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hub.web.api.schemas import MAX_ID, Error

if TYPE_CHECKING:
    from aiohttp import web

    from hub.web.api.calls import Call, Reply

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
Handler = Callable[["Call"], Awaitable["BaseModel | Reply | web.StreamResponse"]]
# A route whose answer is a file, not JSON (its `response` is None).
BINARY = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
# Path parameters the API uses, with their schemas; ids are the database's int4 keys.
PATH_PARAMS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "identity_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "suggestion_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "macro_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "number": {"type": "string", "minLength": 1, "maxLength": 64},
}
_PARAM = re.compile(r"{(\w+)}")
# (model, mode) -> {"$ref": ...}, as pydantic.json_schema.models_json_schema answers.
Refs = Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]]


@dataclass(frozen=True)
class ApiRoute:
    """One operation: what it takes, what it answers, and which errors it may give."""

    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str  # below PREFIX, with {id}/{number} placeholders
    handler: Handler
    summary: str
    response: type[BaseModel] | None  # None: the bytes of a file (see BINARY)
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: bool = True
    # The external bot's token (`hub agent-bot token`) is accepted too; every other route
    # refuses it (403).
    bot: bool = False
    # Other success statuses with the same body (PUT answers 201 or 200).
    also: tuple[int, ...] = ()
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def full_path(self) -> str:
        return PREFIX + self.path

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def error_statuses(self) -> list[int]:
        """Errors any route may give, plus the route's own."""
        common = {401} if self.auth else set()
        if self.bot:
            common.add(403)
        if self.body is not None:
            common |= {400, 422}
        if self.query is not None:
            common.add(422)
        if self.path_params:
            common.add(404)
        return sorted(common | set(self.errors))


def _schemas(
    routes: Sequence[ApiRoute], extra: Sequence[type[BaseModel]] = ()
) -> tuple[Refs, dict[str, Any]]:
    models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Error, "serialization"): None}
    for model in extra:
        models[(model, "serialization")] = None
    for route in routes:
        if route.response is not None:
            models[(route.response, "serialization")] = None
        if route.body is not None:
            models[(route.body, "validation")] = None
        if route.query is not None:
            models[(route.query, "validation")] = None
    refs, defs = models_json_schema(list(models), ref_template=REF)
    return refs, defs.get("$defs", {})


def _parameters(route: ApiRoute, query_schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
        for name in route.path_params
    ]
    if query_schema is not None:
        required = set(query_schema.get("required", []))
        for name, schema in query_schema.get("properties", {}).items():
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": schema,
            }
            if "description" in schema:
                parameter["description"] = schema["description"]
            parameters.append(parameter)
    return parameters


def _operation(route: ApiRoute, refs: Refs, defs: dict[str, Any]) -> dict[str, Any]:
    def ref(model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(refs[(model, mode)])

    answer: dict[str, Any] = {"content": BINARY}
    if route.response is not None:
        answer = {"content": {"application/json": {"schema": ref(route.response, "serialization")}}}
    responses: dict[str, Any] = {
        str(status): {"description": HTTPStatus(status).phrase, **answer}
        for status in (route.status, *route.also)
    }
    error = {"content": {"application/json": {"schema": ref(Error, "serialization")}}}
    for status in route.error_statuses:
        responses[str(status)] = {"description": HTTPStatus(status).phrase, **error}
        if status == 429:
            responses["429"]["headers"] = {
                "Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}
            }
    query_schema = None
    if route.query is not None:
        name = ref(route.query, "validation")["$ref"].rsplit("/", 1)[-1]
        query_schema = defs[name]
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": list(route.tags),
        "parameters": _parameters(route, query_schema),
        "responses": responses,
        "security": _security(route),
    }
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(route.body, "validation")}},
        }
    return operation


# What every outgoing webhook POST carries besides its JSON body.
HOOK_HEADERS = [
    {
        "name": "X-Hub-Signature",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the '
        "subscription's secret>`; refuse a stale `t` (say, over 5 minutes)",
    },
    {
        "name": "X-Hub-Event",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "the event name, as in the body's `event`",
    },
    {
        "name": "X-Hub-Delivery",
        "in": "header",
        "required": True,
        "schema": {"type": "string"},
        "description": "the delivery id, as in the body's `id`; the same on every retry",
    },
]


def _hooks(events: Mapping[str, type[BaseModel]], refs: Refs) -> dict[str, Any]:
    """OpenAPI 3.1's `webhooks`: what the hub POSTs to a subscription's URL per event."""
    return {
        name: {
            "post": {
                "summary": f"`{name}`",
                "description": (model.__doc__ or "").strip(),
                "parameters": HOOK_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": dict(refs[(model, "serialization")])}
                    },
                },
                "responses": {
                    "200": {"description": "any 2xx: delivered"},
                    "500": {
                        "description": "3xx, 408, 429, 5xx or no answer: tried again later; "
                        "any other 4xx: failed for good"
                    },
                },
            }
        }
        for name, model in events.items()
    }


def _security(route: ApiRoute) -> list[dict[str, list[str]]]:
    if not route.auth:
        return []
    return [{"bearer": []}, {"agentBot": []}] if route.bot else [{"bearer": []}]


def openapi_document(
    routes: Sequence[ApiRoute],
    *,
    server_url: str,
    events: Mapping[str, type[BaseModel]] | None = None,
) -> dict[str, Any]:
    """An OpenAPI 3.1 document for `routes`, schemas taken from their pydantic models;
    `events`: the outgoing webhooks' payload models, by event name."""
    events = events or {}
    refs, defs = _schemas(routes, list(events.values()))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.full_path, {})[route.method.lower()] = _operation(route, refs, defs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Omnichannel support hub",
            "version": "1",
            "description": "Conversations, customers, orders and canned responses.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "webhooks": _hooks(events, refs),
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token from `hub token create` or the login route",
                },
                "agentBot": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the external bot's token from `hub agent-bot token`: "
                    "reads and answers conversations that are with the bot, and hands them "
                    "off; refused (403) everywhere else",
                },
            },
        },
    }
