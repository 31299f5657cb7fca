"""SQLModel tables, one module per aggregate; importing this registers them all."""

from hub.models.conversations import Conversation, ConversationLabel
from hub.models.customers import Customer, Identity
from hub.models.messages import Message
from hub.models.operators import ApiToken, CannedResponse, HubSetting, Operator
from hub.models.orders import Order, OrderStatusChange
from hub.models.queue import DeadLetter, QueueConsumer, QueueJob, QueueLease

__all__ = [
    "ApiToken",
    "CannedResponse",
    "Conversation",
    "ConversationLabel",
    "Customer",
    "DeadLetter",
    "HubSetting",
    "Identity",
    "Message",
    "Operator",
    "Order",
    "OrderStatusChange",
    "QueueConsumer",
    "QueueJob",
    "QueueLease",
]
