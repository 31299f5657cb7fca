"""Conversation views: the inbox list, one thread, its messages, replies and state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.agent_bot import access_bot_conversation, do_bot_hand_off, do_bot_reply
from hub.actions.attachments import attachments_of
from hub.actions.contact_log import do_log_contact, note_kinds
from hub.actions.conversations import do_assign, do_set_labels, do_set_status, get_conversation
from hub.actions.csat import csat_policy, do_ask_after_status
from hub.actions.replies import do_add_note
from hub.actions.reply_writer import ReplyRequest
from hub.actions.teams import do_set_priority, do_set_team
from hub.actions.unit import unit_of_work
from hub.domain.types import ConversationStatus, SenderType
from hub.errors import AccessDenied, InvalidInput
from hub.models import Conversation
from hub.queries import conversations as conversation_queries
from hub.web.api import pages, serialize
from hub.web.api.calls import Call, Reply
from hub.web.api.schemas import (
    AssignBody,
    ConversationOut,
    ConversationPage,
    ConversationQuery,
    HandoffBody,
    LabelsBody,
    MessageOut,
    MessagePage,
    PageQuery,
    PriorityBody,
    ReplyBody,
    StatusBody,
    TeamBody,
)
from hub.web.api.spec import ApiRoute
from hub.web.keys import REPLIES


def _assignee(raw: str | None, call: Call) -> int | str | None:
    if raw is None or raw == conversation_queries.UNASSIGNED:
        return raw
    return call.operator_id if raw == "me" else int(raw)


async def list_conversations(call: Call) -> ConversationPage:
    query = call.query_as(ConversationQuery)
    where = conversation_queries.ConversationFilter(
        status=query.status,
        channel=query.channel,
        assignee=_assignee(query.assignee, call),
        label=query.label,
        q=query.q.strip() if query.q else None,
    )
    after = pages.decode_time_and_id(query.cursor)
    async with call.hub.db.session() as session:
        rows = await conversation_queries.list_conversations(
            session, where, after=after, limit=query.limit + 1
        )
        page = rows[: query.limit]
        details = await conversation_queries.conversation_details(session, page)
    more = len(rows) > query.limit
    return ConversationPage(
        items=serialize.conversations(page, details),
        next_cursor=pages.time_and_id(page[-1].last_message_at, page[-1].id) if more else None,
    )


async def _answer(session: AsyncSession, conversation: Conversation) -> ConversationOut:
    details = await conversation_queries.conversation_details(session, [conversation])
    return serialize.conversation(conversation, details)


async def _readable(session: AsyncSession, call: Call) -> Conversation:
    """The conversation named by the path, if the caller may read it (the external bot
    reads only conversations that are with the bot)."""
    conversation = await get_conversation(session, call.id())
    if call.agent_bot:
        access_bot_conversation(conversation)
    return conversation


async def show_conversation(call: Call) -> ConversationOut:
    async with call.hub.db.session() as session:
        return await _answer(session, await _readable(session, call))


async def list_messages(call: Call) -> MessagePage:
    query = call.query_as(PageQuery)
    after = pages.decode_id(query.cursor)
    async with call.hub.db.session() as session:
        conversation = await _readable(session, call)
        assert conversation.id is not None
        rows = await conversation_queries.list_messages(
            session, conversation.id, after_id=after, limit=query.limit + 1
        )
        page = rows[: query.limit]
        kinds = await note_kinds(session, [m.id for m in page])
        files = await attachments_of(session, [m.id for m in page if m.id is not None])
    more = len(rows) > query.limit
    return MessagePage(
        items=[serialize.message(m, kinds.get(m.id or 0), files.get(m.id or 0, [])) for m in page],
        next_cursor=pages.after_id(page[-1].id) if more else None,
    )


async def post_message(call: Call) -> Reply:
    """Stored first; the send is queued only once the message is committed."""
    body = call.body_as(ReplyBody)
    if call.agent_bot:
        return await _bot_message(call, body)
    if body.note_kind is not None:
        return await _log_contact(call, body)
    if not body.private:  # group-committed with the replies that arrive with it
        request = ReplyRequest(call.id(), body.text, call.operator_id, body.channel)
        stored = await call.request.app[REPLIES].reply(request)
        return Reply(serialize.stored_reply(stored), 201)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await get_conversation(session, call.id())
        message = await do_add_note(
            session,
            conversation,
            body.text,
            sender_type=SenderType.OPERATOR,
            operator_id=call.operator_id,
            channel=body.channel,
        )
    return Reply(serialize.message(message), 201)


async def _bot_message(call: Call, body: ReplyBody) -> Reply:
    """The external bot's answer (`sender_type: bot`), sent like any reply, or its note."""
    if body.note_kind is not None:
        raise InvalidInput("the bot cannot log a phone call or visit")
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await get_conversation(session, call.id())
        message = await do_bot_reply(
            session, conversation, body.text, private=body.private, channel=body.channel
        )
    return Reply(serialize.message(message), 201)


async def hand_off(call: Call) -> ConversationOut:
    """The external bot hands the conversation to a person (operators take a conversation
    over by replying or assigning it)."""
    if not call.agent_bot:
        raise AccessDenied("only the external bot hands off; operators reply or assign")
    body = call.body_as(HandoffBody)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await do_bot_hand_off(
            session, await get_conversation(session, call.id()), body.reason
        )
        return await _answer(session, conversation)


async def _log_contact(call: Call, body: ReplyBody) -> Reply:
    """A phone call or in-store visit: a private note of that kind, never sent."""
    if "private" in body.model_fields_set and not body.private:
        raise InvalidInput("a logged call or visit is a private note: private must be true")
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await get_conversation(session, call.id())
        message = await do_log_contact(
            session, conversation, body.note_kind or "", body.text, operator_id=call.operator_id
        )
    return Reply(serialize.message(message, body.note_kind), 201)


async def assign_conversation(call: Call) -> ConversationOut:
    body = call.body_as(AssignBody)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await do_assign(
            session, await get_conversation(session, call.id()), body.operator_id
        )
        return await _answer(session, conversation)


async def set_conversation_status(call: Call) -> ConversationOut:
    body = call.body_as(StatusBody)
    snooze_until: datetime | None = body.snooze_until
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await get_conversation(session, call.id())
        was = conversation.status
        await do_set_status(
            session,
            conversation,
            ConversationStatus(body.status),
            snooze_until,
            by=call.operator_id,
        )
        await do_ask_after_status(
            session, conversation, was, by=call.operator_id, policy=csat_policy(call.hub.settings)
        )
        return await _answer(session, conversation)


async def set_conversation_labels(call: Call) -> ConversationOut:
    body = call.body_as(LabelsBody)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await do_set_labels(
            session, await get_conversation(session, call.id()), body.labels
        )
        return await _answer(session, conversation)


async def set_conversation_team(call: Call) -> ConversationOut:
    body = call.body_as(TeamBody)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = await do_set_team(
            session, await get_conversation(session, call.id()), body.team_id
        )
        return await _answer(session, conversation)


async def set_conversation_priority(call: Call) -> ConversationOut:
    body = call.body_as(PriorityBody)
    async with unit_of_work(call.hub.db, call.hub.queue, call.hub.broker) as session:
        conversation = do_set_priority(
            session, await get_conversation(session, call.id()), body.priority
        )
        return await _answer(session, conversation)


_TAGS = ("conversations",)
ROUTES = [
    ApiRoute(
        "GET",
        "/conversations",
        list_conversations,
        "List conversations, newest activity first",
        ConversationPage,
        query=ConversationQuery,
        tags=_TAGS,
    ),
    ApiRoute(
        "GET",
        "/conversations/{id}",
        show_conversation,
        "A conversation with its customer summary",
        ConversationOut,
        tags=_TAGS,
        bot=True,
    ),
    ApiRoute(
        "GET",
        "/conversations/{id}/messages",
        list_messages,
        "Messages of a conversation, oldest first; next_cursor leads to newer ones",
        MessagePage,
        query=PageQuery,
        tags=_TAGS,
        bot=True,
    ),
    ApiRoute(
        "POST",
        "/conversations/{id}/messages",
        post_message,
        "Reply (through the customer's last inbound channel unless `channel` is given) "
        "or add a private note; with the external bot's token, the bot's answer "
        "(`sender_type: bot`) in a conversation that is with the bot",
        MessageOut,
        status=201,
        body=ReplyBody,
        tags=_TAGS,
        bot=True,
    ),
    ApiRoute(
        "POST",
        "/conversations/{id}/handoff",
        hand_off,
        "The external bot hands the conversation to a person: no longer with the bot, "
        "open, waiting for an operator (the bot's token only)",
        ConversationOut,
        body=HandoffBody,
        tags=_TAGS,
        bot=True,
    ),
    ApiRoute(
        "POST",
        "/conversations/{id}/assign",
        assign_conversation,
        "Assign the conversation to an operator, or unassign it with null",
        ConversationOut,
        body=AssignBody,
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/conversations/{id}/status",
        set_conversation_status,
        "Open, pend, resolve or snooze the conversation",
        ConversationOut,
        body=StatusBody,
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/conversations/{id}/labels",
        set_conversation_labels,
        "Replace the conversation's labels",
        ConversationOut,
        body=LabelsBody,
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/conversations/{id}/team",
        set_conversation_team,
        "Put the conversation in a team (routing, business hours), or out of it with null",
        ConversationOut,
        body=TeamBody,
        tags=_TAGS,
    ),
    ApiRoute(
        "POST",
        "/conversations/{id}/priority",
        set_conversation_priority,
        "Set the conversation's priority (low, normal, high, urgent): its SLA targets",
        ConversationOut,
        body=PriorityBody,
        tags=_TAGS,
    ),
]
