"""Macros: admins create, edit and delete them; an operator runs one on a conversation in
one step (reply with variables filled, labels added, taken, status set), in one commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub.actions.canned import MAX_TEXT_CHARS
from hub.actions.conversations import do_assign, do_set_labels, do_set_status
from hub.actions.customers import get_customer
from hub.actions.replies import do_reply
from hub.domain.types import ConversationStatus, SenderType
from hub.errors import Conflict, InvalidInput, NotFound
from hub.models import Conversation, Macro, Message, Operator
from hub.queries.conversations import labels_of
from hub.queries.variables import fill_variables, reply_variables

MAX_NAME_CHARS = 100
MAX_LABEL_CHARS = 64
# Snoozing needs a time the macro cannot know in advance.
MACRO_STATUSES = (
    ConversationStatus.OPEN.value,
    ConversationStatus.PENDING.value,
    ConversationStatus.RESOLVED.value,
)


@dataclass(frozen=True)
class MacroSteps:
    """What a macro does, checked."""

    name: str
    text: str
    labels: list[str]
    status: str | None
    assign_to_me: bool


def check_macro(
    name: str, text: str, labels: list[str], status: str | None, assign_to_me: bool
) -> MacroSteps:
    clean_name = " ".join(name.split())
    if not clean_name:
        raise InvalidInput("name must not be empty")
    if len(clean_name) > MAX_NAME_CHARS:
        raise InvalidInput(f"name is longer than {MAX_NAME_CHARS} characters")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"text is longer than {MAX_TEXT_CHARS} characters")
    clean_labels = sorted({label.strip() for label in labels if label.strip()})
    if any(len(label) > MAX_LABEL_CHARS for label in clean_labels):
        raise InvalidInput("a label is at most 64 characters")
    if status is not None and status not in MACRO_STATUSES:
        raise InvalidInput("a macro sets the status to open, pending or resolved")
    steps = MacroSteps(clean_name, text.strip(), clean_labels, status, assign_to_me)
    if not (steps.text or steps.labels or steps.status or steps.assign_to_me):
        raise InvalidInput("a macro does at least one thing")
    return steps


async def list_macros(session: AsyncSession) -> list[Macro]:
    return list((await session.scalars(select(Macro).order_by(col(Macro.name)))).all())


async def get_macro(session: AsyncSession, macro_id: int) -> Macro:
    macro = await session.get(Macro, macro_id)
    if macro is None:
        raise NotFound(f"macro {macro_id} not found")
    return macro


async def _save(session: AsyncSession, macro: Macro, steps: MacroSteps) -> Macro:
    taken = await session.scalar(
        select(Macro).where(col(Macro.name) == steps.name, col(Macro.id) != macro.id)
    )
    if taken is not None:
        raise Conflict(f"a macro named {steps.name} already exists")
    macro.name, macro.text, macro.labels = steps.name, steps.text, steps.labels
    macro.status, macro.assign_to_me = steps.status, steps.assign_to_me
    session.add(macro)
    try:
        await session.flush()  # two admins saving the same name at once: the index decides
    except IntegrityError:
        raise Conflict(f"a macro named {steps.name} already exists") from None
    return macro


async def do_create_macro(session: AsyncSession, steps: MacroSteps) -> Macro:
    return await _save(session, Macro(name=steps.name), steps)


async def do_update_macro(session: AsyncSession, macro: Macro, steps: MacroSteps) -> Macro:
    return await _save(session, macro, steps)


async def do_delete_macro(session: AsyncSession, macro: Macro) -> None:
    await session.delete(macro)


async def do_run_macro(
    session: AsyncSession,
    conversation: Conversation,
    macro: Macro,
    operator: Operator,
    *,
    channel: str | None = None,
) -> tuple[Conversation, Message | None]:
    """Reply first (it takes the thread from the bot and may land in the customer's open
    conversation), then labels, assignment and status on the conversation it went to."""
    message = None
    if macro.text.strip():
        customer = await get_customer(session, conversation.customer_id)
        text = fill_variables(macro.text, await reply_variables(session, customer, operator))
        message = await do_reply(
            session,
            conversation,
            text,
            sender_type=SenderType.OPERATOR,
            operator_id=operator.id,
            channel=channel,
        )
        if message.conversation_id != conversation.id:
            conversation = await session.get(Conversation, message.conversation_id) or conversation
    if macro.labels:
        current = (await labels_of(session, [conversation.id or 0]))[conversation.id or 0]
        await do_set_labels(session, conversation, [*current, *macro.labels])
    if macro.assign_to_me:
        await do_assign(session, conversation, operator.id)
    if macro.status is not None and macro.status != conversation.status:
        await do_set_status(
            session, conversation, ConversationStatus(macro.status), None, by=operator.id
        )
    return conversation, message
