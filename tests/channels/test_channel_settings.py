"""A half-configured Twilio or email channel fails at start, naming the variable."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import ConfigurationError
from tests.conftest import make_settings

SID = "AC" + "0" * 32


def check(**values: Any) -> None:
    make_settings(**values).check()


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"twilio_account_sid": SID}, "HUB_TWILIO_AUTH_TOKEN"),
        ({"twilio_auth_token": "t"}, "HUB_TWILIO_ACCOUNT_SID"),
        ({"twilio_sms_from": "+15550001111"}, "HUB_TWILIO_ACCOUNT_SID"),
        ({"twilio_account_sid": SID, "twilio_auth_token": "t"}, "HUB_TWILIO_SMS_FROM"),
        (
            {"twilio_account_sid": "nope", "twilio_auth_token": "t", "twilio_sms_from": "+1555"},
            "HUB_TWILIO_ACCOUNT_SID",
        ),
        (
            {"twilio_account_sid": SID, "twilio_auth_token": "t", "twilio_sms_from": "555-1234"},
            "HUB_TWILIO_SMS_FROM",
        ),
        (
            {
                "twilio_account_sid": SID,
                "twilio_auth_token": "t",
                "twilio_whatsapp_from": "whatsapp:0044",
            },
            "HUB_TWILIO_WHATSAPP_FROM",
        ),
        ({"smtp_url": "smtp://relay.test:25"}, "HUB_EMAIL_ADDRESS"),
        ({"email_address": "support@shop.test", "smtp_listen": ":2525"}, "HUB_SMTP_URL"),
        ({"email_address": "not an address"}, "HUB_EMAIL_ADDRESS"),
        (
            {"email_address": "support@shop.test", "smtp_url": "http://relay.test"},
            "HUB_SMTP_URL",
        ),
        (
            {"email_address": "support@shop.test", "smtp_url": "smtp://relay.test:25"},
            "HUB_SMTP_LISTEN",
        ),
    ],
)
def test_a_half_configured_channel_names_the_missing_variable(
    values: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        check(**values)


def test_fictional_numbers_and_test_domains_are_accepted() -> None:
    check(
        twilio_account_sid=SID,
        twilio_auth_token="t",
        twilio_sms_from="+15550001111",
        twilio_whatsapp_from="whatsapp:+15550002222",
        email_address="support@shop.test",
        smtp_url="smtps://user:p%40ss@relay.example.com:465",
        smtp_listen="0.0.0.0:2525",
    )
