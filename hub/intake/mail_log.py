"""aiosmtpd logs every SMTP command line, sender and recipient at INFO (logger
`mail.log`): a customer's address in every production log. Its INFO records are demoted
to DEBUG here, so addresses are logged only when someone asks for DEBUG."""

from __future__ import annotations

import logging

AIOSMTPD_LOGGER = "mail.log"


class DemoteToDebug(logging.Filter):
    """INFO becomes DEBUG; the record passes only if the logger wants DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_smtp_chatter() -> None:
    """Install the filter once (idempotent: every listener start calls it)."""
    logger = logging.getLogger(AIOSMTPD_LOGGER)
    if not any(isinstance(f, DemoteToDebug) for f in logger.filters):
        logger.addFilter(DemoteToDebug())
