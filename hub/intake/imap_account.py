"""`HUB_IMAP_URL` read once, at start: a wrong URL stops the hub naming the variable.

Pure parsing, no I/O, so `Settings.check` can call it without opening a connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import unquote, urlsplit

from hub.errors import ConfigurationError

DEFAULT_PORTS = {"imaps": 993, "imap": 143}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


@dataclass(frozen=True)
class ImapAccount:
    """Where to log in and which mailbox to watch; `tls` is implicit TLS (imaps://)."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    mailbox: str = "INBOX"
    tls: bool = True

    def describe(self) -> str:
        """For logs: never the password."""
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.mailbox}"


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def parse_imap_url(url: str) -> ImapAccount:
    """`imaps://user:pass@host[:port][/mailbox]`; plain `imap://` only to a loopback host
    (a password in clear text must not cross a network)."""
    name = "HUB_IMAP_URL"
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigurationError(f"{name} must look like imaps://user:pass@host:port/INBOX")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ConfigurationError(f"{name} has an invalid port") from None
    if not parts.username or parts.password is None:
        raise ConfigurationError(f"{name} needs the user and password: imaps://user:pass@host")
    if parts.scheme == "imap" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{name}: plain imap:// is accepted only on loopback; use imaps:// for {parts.hostname}"
        )
    mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
    if not mailbox.isascii() or any(c in mailbox for c in '"\\\r\n'):
        raise ConfigurationError(f"{name}: the mailbox name must be plain ASCII, got {mailbox!r}")
    return ImapAccount(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password),
        mailbox=mailbox,
        tls=parts.scheme == "imaps",
    )
