"""Inbox form posts: thin calls to the same actions the REST API uses."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession

from hub.actions.attachments import do_add_outbound_attachment
from hub.actions.conversations import (
    do_assign,
    do_set_bot_active,
    do_set_labels,
    do_set_status,
    get_conversation,
)
from hub.actions.csat import csat_policy, do_ask_after_status
from hub.actions.customers import do_rename_customer, get_customer
from hub.actions.replies import do_add_note, do_reply
from hub.actions.reply_writer import ReplyRequest
from hub.actions.unit import unit_of_work
from hub.domain.types import ConversationStatus, SenderType
from hub.errors import InvalidInput
from hub.queries.canned import expand_canned
from hub.queries.variables import fill_variables, reply_variables
from hub.web.api.calls import path_id
from hub.web.inbox.attachments import Upload, upload_action
from hub.web.inbox.common import action, hub_of, safe_next
from hub.web.inbox.snooze import operator_zone, picked_until, preset_until
from hub.web.keys import REPLIES
from hub.web.sessions import SignedIn

Form = MultiDictProxy[str]


def _thread_url(conversation_id: int) -> str:
    return f"/inbox/conversations/{conversation_id}"


async def reply(request: web.Request) -> web.StreamResponse:
    """A plain form, or a multipart one that may carry a file (read as a stream)."""
    if request.content_type == "multipart/form-data":
        return await _reply_with_file(request)
    return await _reply_form(request)


async def _reply(request: web.Request, me: SignedIn, form: Form, upload: Upload | None) -> str:
    """Send through the chosen channel (default: the customer's last one), or add a note."""
    conversation_id = path_id(request.match_info["id"])
    hub = hub_of(request)
    channel = form.get("channel") or None
    if upload is None and form.get("mode") != "note":  # group-committed, like the API's
        async with hub.db.session() as session:
            text = await _reply_text(session, conversation_id, form, me)
        replying = ReplyRequest(conversation_id, text, me.operator.id, channel)
        await request.app[REPLIES].reply(replying)
        return _thread_url(conversation_id)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        conversation = await get_conversation(session, conversation_id)
        text = await _reply_text(session, conversation_id, form, me)
        if upload is not None and not text.strip():
            text = upload.filename  # a file alone: its name is the message's text
        add = do_add_note if form.get("mode") == "note" else do_reply
        message = await add(
            session,
            conversation,
            text,
            sender_type=SenderType.OPERATOR,
            operator_id=me.operator.id,
            channel=channel,
        )
        if upload is not None:
            await do_add_outbound_attachment(
                session,
                message.id or 0,
                storage_key=upload.storage_key,
                content_type=upload.content_type,
                filename=upload.filename,
                size=upload.size,
            )
    return _thread_url(conversation_id)


async def _reply_text(session: AsyncSession, conversation_id: int, form: Form, me: SignedIn) -> str:
    """The typed text with its canned responses expanded and variables filled in."""
    conversation = await get_conversation(session, conversation_id)
    text = await expand_canned(session, form.get("text", ""))
    customer = await get_customer(session, conversation.customer_id)
    return fill_variables(text, await reply_variables(session, customer, me.operator))


async def _reply_without_file(request: web.Request, me: SignedIn, form: Form) -> str:
    return await _reply(request, me, form, None)


_reply_form = action(_reply_without_file)
_reply_with_file = upload_action(_reply)


@action
async def assign(request: web.Request, me: SignedIn, form: Form) -> str:
    conversation_id = path_id(request.match_info["id"])
    raw = form.get("operator_id", "")
    operator_id = me.operator.id if raw == "me" else (path_id(raw) if raw else None)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_assign(session, await get_conversation(session, conversation_id), operator_id)
    return _thread_url(conversation_id)


@action
async def status(request: web.Request, me: SignedIn, form: Form) -> str:
    conversation_id = path_id(request.match_info["id"])
    try:
        new = ConversationStatus(form.get("status", ""))
    except ValueError:
        raise InvalidInput("unknown status") from None
    until = None
    if new is ConversationStatus.SNOOZED:
        zone = operator_zone(form.get("tz", ""), form.get("tz_offset", "0"))
        now = datetime.now(UTC)
        preset = form.get("preset", "")
        if preset:
            until = preset_until(preset, zone, now)
        else:
            until = picked_until(form.get("snooze_until", ""), zone, now)
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        conversation = await get_conversation(session, conversation_id)
        was = conversation.status
        await do_set_status(session, conversation, new, until, by=me.operator.id)
        await do_ask_after_status(
            session, conversation, was, by=me.operator.id, policy=csat_policy(hub.settings)
        )
    return _thread_url(conversation_id)


@action
async def labels(request: web.Request, me: SignedIn, form: Form) -> str:
    conversation_id = path_id(request.match_info["id"])
    wanted = form.get("labels", "").split(",")
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        await do_set_labels(session, await get_conversation(session, conversation_id), wanted)
    return _thread_url(conversation_id)


@action
async def bot(request: web.Request, me: SignedIn, form: Form) -> str:
    conversation_id = path_id(request.match_info["id"])
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        conversation = await get_conversation(session, conversation_id)
        do_set_bot_active(session, conversation, form.get("bot_active") == "1")
    return _thread_url(conversation_id)


@action
async def rename(request: web.Request, me: SignedIn, form: Form) -> str:
    customer_id = path_id(request.match_info["id"])
    hub = hub_of(request)
    async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
        do_rename_customer(session, await get_customer(session, customer_id), form.get("name", ""))
    return safe_back(form)


def safe_back(form: Form) -> str:
    return safe_next(form.get("back"))
