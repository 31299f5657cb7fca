"""Web chat: the socket lives in the hub's web layer; sending is a push to the visitor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hub.domain.messages import DeliveryReceipt, OutboundMessage
from hub.domain.types import Channel

Push = Callable[[OutboundMessage], Awaitable[None]]


class WebchatSender:
    """Replies reach open sockets live; an offline visitor sees them in the welcome history."""

    channel = Channel.WEBCHAT
    max_text_length = 20_000

    def __init__(self, push: Push) -> None:
        self._push = push

    async def send(self, message: OutboundMessage) -> DeliveryReceipt:
        await self._push(message)
        return DeliveryReceipt(external_id=None)

    async def close(self) -> None:
        return None
