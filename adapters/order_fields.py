"""What the order feeds share at the edge: signed bodies, and a platform's loose fields made
into the hub's typed ones (or dropped, never a 500).

A signed body is still the platform's JSON of any shape a plugin or an old API version
makes: a field of the wrong type is dropped rather than refusing the whole order, and only
what the hub cannot do without (the order's id and number) refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from hub.domain.addresses import normalise_email, normalise_phone
from hub.domain.feeds import FeedItem
from hub.domain.json_input import JsonRefused, decode_json
from hub.domain.storable import storable_text
from hub.errors import InvalidInput

MAX_ITEMS = 250  # Shopify's own cap on an order's line items
MAX_NUMBER_CHARS = 64  # orders.number
MAX_URL_CHARS = 1000  # orders.tracking_url
MAX_NAME_CHARS = 200


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Base64 HMAC-SHA256 of the raw body (Shopify's and WooCommerce's scheme), compared in
    constant time; no secret or no header never matches."""
    if not secret or not header:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), header.strip().encode("ascii", "replace"))


def body_object(body: bytes) -> dict[str, Any]:
    try:
        data = decode_json(body)
    except (JsonRefused, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body is not a JSON object")
    return data


def delivery_id(header: str | None, topic: str, body: bytes) -> str:
    """The platform's delivery id (its retries repeat it); without one, the body's hash:
    a byte-identical repeat is still a repeat."""
    text = (header or "").strip()
    if text and len(text) <= 200 and text.isprintable():
        return text
    return "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()


def text(value: object, limit: int = MAX_NAME_CHARS) -> str | None:
    """A non-empty string (numbers as written) the database can hold (no NUL, no lone
    surrogate), cut to `limit`; anything else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    cleaned = " ".join(storable_text(str(value).replace("\x00", "")).split())
    return cleaned[:limit] or None


def object_at(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def source_id(value: object, what: str) -> str:
    """The platform's numeric id of an order: required, digits only."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(f"{what} must be the platform's numeric id")
    found = str(value).strip()
    if not found.isdigit() or len(found) > 30:
        raise InvalidInput(f"{what} must be the platform's numeric id")
    return found


def order_number(*candidates: object) -> str:
    """The number the customer sees: the first usable candidate, a leading '#' dropped."""
    for candidate in candidates:
        found = text(candidate, 1000)
        if found is not None:
            found = found.lstrip("#").strip()
        if found and len(found) <= MAX_NUMBER_CHARS:
            return found
    raise InvalidInput("the order has no usable number")


def decimal_text(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 18:
        return None
    return format(number, "f")


def currency(value: object) -> str | None:
    found = text(value, 8)
    return found.upper() if found and found.isalpha() and len(found) == 3 else None


def web_url(value: object) -> str | None:
    found = text(value, MAX_URL_CHARS + 1)
    if found is None or len(found) > MAX_URL_CHARS or " " in found:
        return None
    return found if found.lower().startswith(("https://", "http://")) else None


def email(*candidates: object) -> str | None:
    for candidate in candidates:
        found = text(candidate, 320)
        if found and (address := normalise_email(found)) is not None:
            return address
    return None


def phone(region: object, *candidates: object) -> str | None:
    """E.164 of the first number that parses; a national number with the address's
    country code."""
    country = text(region, 2)
    hint = country.upper() if country and len(country) == 2 and country.isalpha() else None
    for candidate in candidates:
        found = text(candidate, 40)
        if found and (number := normalise_phone(found, hint)) is not None:
            return number
    return None


def full_name(first: object, last: object, *fallbacks: object) -> str | None:
    """First and last name joined, else the first usable fallback (a whole name)."""
    joined = " ".join(p for p in (text(first), text(last)) if p)
    if joined:
        return joined[:MAX_NAME_CHARS]
    return next((t for f in fallbacks if (t := text(f))), None)


def items(value: object, *, name_keys: tuple[str, ...]) -> tuple[FeedItem, ...] | None:
    """Line items: each a name, a whole quantity, maybe a SKU and a price; an entry that
    is not an object is skipped; a list that is not a list leaves the items as they were."""
    if not isinstance(value, list):
        return None
    found: list[FeedItem] = []
    for entry in value[:MAX_ITEMS]:
        if not isinstance(entry, dict):
            continue
        name = next((t for key in name_keys if (t := text(entry.get(key)))), None) or "item"
        quantity = entry.get("quantity")
        qty = quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else 1
        found.append(
            FeedItem(
                name=name,
                qty=max(0, min(qty, 1_000_000)),
                sku=text(entry.get("sku"), 100),
                price=decimal_text(entry.get("price")),
            )
        )
    return tuple(found)


def timestamp(value: object, *, naive_is_utc: bool = False) -> str | None:
    """An ISO 8601 time as the platform wrote it, kept only when it parses (with a zone, or
    `naive_is_utc`: WooCommerce's `*_gmt` fields carry none)."""
    found = text(value, 40)
    if found is None:
        return None
    try:
        moment = datetime.fromisoformat(found.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        if not naive_is_utc:
            return None
        return found + "+00:00"
    return found
