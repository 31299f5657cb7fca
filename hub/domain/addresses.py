"""Normalising the addresses people type; provider-given numbers are taken as they are."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalise_phone(text: str, region: str | None = None) -> str | None:
    """E.164 for a number a person typed; a possible-but-unassigned number is kept."""
    candidate = text.strip()
    if not candidate:
        return None
    if not candidate.startswith("+") and region is None and candidate.isdigit():
        candidate = "+" + candidate  # Telegram contacts carry the number without the plus
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(text: str) -> str | None:
    """Lower-cased address checked for syntax only (no DNS, test domains accepted)."""
    try:
        result = validate_email(text.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None
    return result.normalized.lower()
