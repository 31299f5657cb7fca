"""The Core tables behind the models, for statements that skip the ORM on hot paths (the
router, the queue, bot answers, delivery), typed once here instead of at every use."""

from __future__ import annotations

from sqlalchemy import Table, inspect
from sqlmodel import SQLModel

from hub.models.attachments import Attachment
from hub.models.conversations import Conversation
from hub.models.customers import Customer, Identity
from hub.models.messages import Message
from hub.models.queue import QueueJob
from hub.models.sources import MessageSource


def core_table(model: type[SQLModel]) -> Table:
    table = inspect(model).local_table
    if not isinstance(table, Table):  # a model mapped to a join or a select: never here
        raise TypeError(f"{model.__name__} is not mapped to one table")
    return table


ATTACHMENTS = core_table(Attachment)
CONVERSATIONS = core_table(Conversation)
CUSTOMERS = core_table(Customer)
IDENTITIES = core_table(Identity)
MESSAGES = core_table(Message)
QUEUE_JOBS = core_table(QueueJob)
SOURCES = core_table(MessageSource)
