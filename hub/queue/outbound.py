"""The outbound queue's job: the one place that writes and reads its payload.

A job names a stored reply by id; everything to send is read from the database when the
job runs, so a job queued before an edit or a restart still sends what is stored. The
payload is `{"message_id": int}` plus `"progress"` on a retry after a partial send: the
shape every earlier version queued, so jobs left in a queue across an upgrade still run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hub.queue.port import NewJob


@dataclass(frozen=True, slots=True)
class OutboundJob:
    """One send of one stored reply. `progress` is what the adapter said the provider
    already accepted (ProviderError.progress), handed back untouched on the next try."""

    message_id: int
    conversation_id: int | None = None  # the partition key; not part of the payload
    progress: str | None = None

    @classmethod
    def read(cls, payload: str) -> OutboundJob:
        """The job of a queued payload; raises ValueError (or KeyError/TypeError) when it
        is not one, which the consumer counts as a failed try."""
        data = json.loads(payload)
        progress = data.get("progress")
        return cls(
            message_id=int(data["message_id"]),
            progress=progress if isinstance(progress, str) else None,
        )

    def payload(self) -> str:
        data: dict[str, object] = {"message_id": self.message_id}
        if self.progress is not None:
            data["progress"] = self.progress
        return json.dumps(data)

    def queued(self) -> NewJob:
        """The queue entry: one conversation's replies share a partition (they go out in
        order), and the message's dedupe key makes queueing it twice harmless."""
        if self.conversation_id is None:
            raise ValueError("a new outbound job needs its conversation for its partition")
        return NewJob(
            key=f"conversation:{self.conversation_id}",
            payload=self.payload(),
            dedupe_key=f"message:{self.message_id}",
        )
