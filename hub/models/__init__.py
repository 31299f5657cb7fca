"""SQLModel tables, one module per aggregate; importing this registers them all."""

from hub.models.agent_bot import AgentBotToken, AgentBotWait
from hub.models.attachments import Attachment
from hub.models.contacts import ConversationResolution, MessageNoteKind
from hub.models.conversations import Conversation, ConversationLabel
from hub.models.csat import CsatRating
from hub.models.customers import Customer, CustomerEvent, Identity, MergeSuggestion
from hub.models.feeds import FeedDelivery, FeedOrderLink
from hub.models.macros import Macro
from hub.models.messages import Message
from hub.models.notes import MessageNote
from hub.models.operators import ApiToken, CannedResponse, HubSetting, Operator
from hub.models.orders import Order, OrderNotification, OrderStatusChange
from hub.models.queue import DeadLetter, QueueConsumer, QueueJob, QueueLease
from hub.models.routing import RoutingRule, Team, TeamMember
from hub.models.sessions import ConversationRead, OperatorSession
from hub.models.sources import MessageSource
from hub.models.webchat import WebchatPresence
from hub.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "AgentBotToken",
    "AgentBotWait",
    "ApiToken",
    "Attachment",
    "CannedResponse",
    "Conversation",
    "ConversationLabel",
    "ConversationRead",
    "ConversationResolution",
    "CsatRating",
    "Customer",
    "CustomerEvent",
    "DeadLetter",
    "FeedDelivery",
    "FeedOrderLink",
    "HubSetting",
    "Identity",
    "Macro",
    "MergeSuggestion",
    "Message",
    "MessageNote",
    "MessageNoteKind",
    "MessageSource",
    "Operator",
    "OperatorSession",
    "Order",
    "OrderNotification",
    "OrderStatusChange",
    "QueueConsumer",
    "QueueJob",
    "QueueLease",
    "RoutingRule",
    "Team",
    "TeamMember",
    "WebchatPresence",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
