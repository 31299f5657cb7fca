"""What passed between sandbox customers and the hub, per channel and customer address.

The page's customer side writes `inbound` entries (with the webhook's or listener's answer);
the fake providers write `outbound` ones (with the provider status they last reported).
Kept in memory, bounded: the sandbox is a try-it-out tool for one process, not a record.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

MAX_ENTRIES = 5000
Direction = Literal["inbound", "outbound"]


@dataclass
class Entry:
    seq: int
    channel: str
    address: str
    direction: Direction
    text: str
    status: str  # inbound: accepted/refused; outbound: the provider's status
    at: float
    detail: str = ""  # the webhook's answer, an email subject, a template id
    ref: str | None = None  # the provider's id (Twilio MessageSid, mail Message-ID)
    history: list[str] = field(default_factory=list)


class Exchange:
    def __init__(self) -> None:
        self._entries: deque[Entry] = deque(maxlen=MAX_ENTRIES)
        self._seq = itertools.count(1)
        self.version = 0  # changes on every add or status change: the page polls it

    def add(
        self,
        channel: str,
        address: str,
        direction: Direction,
        text: str,
        status: str,
        *,
        detail: str = "",
        ref: str | None = None,
    ) -> Entry:
        entry = Entry(
            next(self._seq), channel, address, direction, text, status, time.time(), detail, ref
        )
        entry.history.append(status)
        self._entries.append(entry)
        self.version += 1
        return entry

    def set_status(self, entry: Entry, status: str, detail: str | None = None) -> None:
        entry.status = status
        entry.history.append(status)
        if detail is not None:
            entry.detail = detail
        self.version += 1

    def of(self, channel: str, address: str) -> list[Entry]:
        return [e for e in self._entries if e.channel == channel and e.address == address]

    def outbound_ref(self, channel: str, address: str) -> str | None:
        """The provider id of the hub's latest message to this customer (mail threading)."""
        for entry in reversed(self._entries):
            if (entry.channel, entry.address, entry.direction) == (channel, address, "outbound"):
                return entry.ref
        return None
