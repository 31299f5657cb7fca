"""Macro views: the macros an operator can run, and running one on a conversation."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hub.actions.conversations import get_conversation
from hub.actions.macros import do_run_macro, get_macro, list_macros
from hub.actions.unit import unit_of_work
from hub.models import Macro
from hub.queries import conversations as conversation_queries
from hub.web.api import serialize
from hub.web.api.calls import Call
from hub.web.api.schemas import ChannelName, ConversationOut, MessageOut, Out
from hub.web.api.spec import ApiRoute


class MacroOut(Out):
    id: int
    name: str
    text: str = Field(description="the reply it sends (variables filled per conversation)")
    labels: list[str]
    status: str | None = Field(description="open, pending or resolved; null: left as it is")
    assign_to_me: bool
    created_at: datetime


class MacroList(Out):
    items: list[MacroOut]
    next_cursor: str | None = Field(description="always null: every macro is listed")


class MacroRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: ChannelName | None = Field(
        None, description="where its reply goes; default: the customer's last inbound channel"
    )


class MacroRunOut(Out):
    conversation: ConversationOut
    message: MessageOut | None = Field(description="the reply sent, null when it sends none")


def _macro(row: Macro) -> MacroOut:
    return MacroOut(
        id=row.id or 0,
        name=row.name,
        text=row.text,
        labels=list(row.labels),
        status=row.status,
        assign_to_me=row.assign_to_me,
        created_at=row.created_at,
    )


async def list_all(call: Call) -> MacroList:
    async with call.hub.db.session() as session:
        rows = await list_macros(session)
    return MacroList(items=[_macro(r) for r in rows], next_cursor=None)


async def run_macro(call: Call) -> MacroRunOut:
    """One step, one commit: the reply, labels, assignment and status together."""
    body = call.body_as(MacroRunBody)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await get_conversation(session, call.id())
        macro = await get_macro(session, call.id("macro_id"))
        conversation, message = await do_run_macro(
            session, conversation, macro, call.me, channel=body.channel
        )
        details = await conversation_queries.conversation_details(session, [conversation])
        return MacroRunOut(
            conversation=serialize.conversation(conversation, details),
            message=serialize.message(message) if message is not None else None,
        )


ROUTES = [
    ApiRoute("GET", "/macros", list_all, "List macros by name", MacroList, tags=("macros",)),
    ApiRoute(
        "POST",
        "/conversations/{id}/macros/{macro_id}",
        run_macro,
        "Run a macro on the conversation: its reply (variables filled), labels added, "
        "assignment to the caller and status, in one step",
        MacroRunOut,
        body=MacroRunBody,
        errors=(404, 409),
        tags=("conversations", "macros"),
    ),
]
