"""Who the sandbox can write as: the demo customers, or a new one given on the page."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from hub.commands.demo_data import DEMO_ORDERS
from hub.domain.addresses import normalise_email
from hub.errors import InvalidInput

CHANNELS = ("telegram", "sms", "whatsapp", "email", "webchat")
# Demo customers have no Telegram account in the demo data: the sandbox gives them one.
TELEGRAM_IDS_FROM = 710_000_001
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_NAME = 100


@dataclass(frozen=True)
class Customer:
    key: str
    name: str
    phone: str | None = None
    email: str | None = None
    telegram_id: str | None = None

    def address(self, channel: str) -> str | None:
        if channel in ("sms", "whatsapp"):
            return self.phone
        if channel == "email":
            return self.email
        if channel == "telegram":
            return self.telegram_id
        return None


@dataclass(frozen=True)
class Persona:
    """One customer on one channel: what the page writes as."""

    channel: str
    key: str
    name: str
    address: str
    phone: str | None = None  # what a Telegram customer can share as a contact


def demo_customers() -> list[Customer]:
    found: dict[str, Customer] = {}
    for order in DEMO_ORDERS:
        who = order.customer
        if not who.name or who.name in found:
            continue
        key = re.sub(r"[^a-z0-9]+", "-", who.name.lower()).strip("-")
        found[who.name] = Customer(
            key=key,
            name=who.name,
            phone=who.phone,
            email=who.email,
            telegram_id=who.telegram_id or str(TELEGRAM_IDS_FROM + len(found)),
        )
    return list(found.values())


def new_address(channel: str) -> str:
    """A fresh, plausible address for a new sandbox customer."""
    if channel == "telegram":
        return str(secrets.randbelow(900_000_000) + 100_000_000)
    if channel in ("sms", "whatsapp"):
        return f"+1555{secrets.randbelow(10_000_000):07d}"
    if channel == "email":
        return f"customer-{secrets.token_hex(3)}@sandbox.test"
    return ""


def check_address(channel: str, address: str) -> str:
    address = address.strip()
    if channel == "telegram" and not (address.isdigit() and 0 < int(address) < 2**52):
        raise InvalidInput("a Telegram user id is a positive number, like 123456789")
    if channel in ("sms", "whatsapp") and not _E164.match(address):
        raise InvalidInput("a phone number is E.164, like +15551234567")
    if channel == "email":
        normal = normalise_email(address)
        if normal is None:
            raise InvalidInput("that is not an e-mail address")
        return normal
    return address


def persona(channel: str, key: str, name: str = "", address: str = "") -> Persona:
    """The customer the page asked for on `channel`, or a clear error."""
    if channel not in CHANNELS or channel == "webchat":
        raise InvalidInput(f"pick one of: {', '.join(CHANNELS[:-1])}")
    for customer in demo_customers():
        if customer.key == key:
            found = customer.address(channel)
            if found is None:
                raise InvalidInput(
                    f"{customer.name} has no {channel} address in the demo data: "
                    "pick another channel or a new customer"
                )
            return Persona(channel, key, customer.name, found, customer.phone)
    if key != "new":
        raise InvalidInput("pick a demo customer or a new one")
    name = " ".join(name.split())[:MAX_NAME] or "Sandbox customer"
    if not address.strip():
        raise InvalidInput("a new customer needs an address")
    return Persona(channel, "new", name, check_address(channel, address))
