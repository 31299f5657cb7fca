"""Reading a received mail off the event loop, under a time budget, never losing it.

Why: parsing, quote stripping and sanitising cost what the sender makes them cost (a 33 KB
quoted-printable line froze the hub for 16.8 s when this ran on the event loop). The full
reading runs in a worker process (`hub.runtime.cpu_pool`); when it is not done within
BUDGET_SECONDS, or fails in a way the adapter did not foresee, the adapter's cheap reading
(headers and raw text, linear in size) stores the mail instead, flagged `mail.unparsed`.
Only a mail without a usable From address is refused (InvalidInput), as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from hub.domain.messages import InboundMessage
from hub.errors import InvalidInput
from hub.runtime.cpu_pool import BudgetExceeded, CpuPool

log = logging.getLogger(__name__)

BUDGET_SECONDS = 5.0
WARM_UP_MAIL = b"From: warm-up@example.com\r\nSubject: warm-up\r\n\r\nHello\r\n"
FullParse = Callable[[bytes, "str | None", float], InboundMessage]
# The cheap reading also takes `reason=`: why the full one was not used.
CheapParse = Callable[..., InboundMessage]


class MailReader:
    """`await reader(raw, envelope_from, received_at)`: the mail as an InboundMessage.

    `full` and `cheap` must pickle (module-level functions or partials of them): `full`
    runs in a worker process, `cheap` on the event loop, only after `full` gave up."""

    def __init__(self, full: FullParse, cheap: CheapParse, pool: CpuPool | None = None) -> None:
        self.full = full
        self.cheap = cheap
        # The first reading in a new worker process imports the parser: not on a budget.
        self.pool = pool or CpuPool(workers=1, warm_up=partial(full, WARM_UP_MAIL, None, 0.0))

    async def __call__(
        self, raw: bytes, envelope_from: str | None, received_at: float
    ) -> InboundMessage:
        try:
            return await self.pool.run(
                self.full, raw, envelope_from, received_at, budget=BUDGET_SECONDS
            )
        except InvalidInput:
            raise
        except BudgetExceeded as exc:
            reason = f"time budget exhausted ({exc}): the raw text is kept, unstripped"
        except Exception as exc:  # a bug in a parser must not lose the mail
            log.exception("a mail could not be read; keeping its raw text")
            reason = f"the mail could not be read ({exc!r}): the raw text is kept"
        log.warning("mail of %d bytes stored unparsed: %s", len(raw), reason)
        return self.cheap(raw, envelope_from, received_at, reason=reason)

    def close(self) -> None:
        self.pool.close()
