"""SQLModel tables, one module per aggregate; importing this registers them all."""

from hub.models.conversations import Conversation, ConversationLabel
from hub.models.customers import Customer, Identity
from hub.models.messages import Message
from hub.models.operators import ApiToken, CannedResponse, HubSetting, Operator
from hub.models.orders import Order, OrderNotification, OrderStatusChange
from hub.models.queue import DeadLetter, QueueConsumer, QueueJob, QueueLease
from hub.models.sessions import ConversationRead, OperatorSession
from hub.models.sources import MessageSource

__all__ = [
    "ApiToken",
    "CannedResponse",
    "Conversation",
    "ConversationLabel",
    "ConversationRead",
    "Customer",
    "DeadLetter",
    "HubSetting",
    "Identity",
    "Message",
    "MessageSource",
    "Operator",
    "OperatorSession",
    "Order",
    "OrderNotification",
    "OrderStatusChange",
    "QueueConsumer",
    "QueueJob",
    "QueueLease",
]
