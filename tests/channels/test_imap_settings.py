"""HUB_IMAP_URL is read at start: a wrong one stops the hub naming the variable."""

from __future__ import annotations

from typing import Any

import pytest

from hub.errors import ConfigurationError
from hub.intake.imap_account import parse_imap_url
from tests.conftest import make_settings

MAIL = {"email_address": "support@shop.test", "smtp_url": "smtp://relay.test:25"}


def check(**values: Any) -> None:
    make_settings(**values).check()


def test_an_imaps_url_gives_host_port_user_password_and_mailbox() -> None:
    account = parse_imap_url("imaps://support%40shop.test:p%40ss:w@imap.shop.test/Support%20Box")
    assert (account.host, account.port, account.tls) == ("imap.shop.test", 993, True)
    assert (account.user, account.password) == ("support@shop.test", "p@ss:w")
    assert account.mailbox == "Support Box"
    assert parse_imap_url("imaps://u:p@imap.shop.test:1993").mailbox == "INBOX"
    assert parse_imap_url("imap://u:p@127.0.0.1:1143/INBOX").port == 1143
    # The password never shows in logs or reprs.
    assert "p@ss" not in account.describe() and "p@ss" not in repr(account)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://u:s3cret@imap.shop.test", "must look like imaps://"),
        ("imaps://imap.shop.test/INBOX", "needs the user and password"),
        ("imaps://u@imap.shop.test/INBOX", "needs the user and password"),
        ("imaps://u:s3cret@imap.shop.test:99999", "invalid port"),
        ("imap://u:s3cret@imap.shop.test", "only on loopback"),
        ("imaps://u:s3cret@imap.shop.test/Вход", "plain ASCII"),
    ],
)
def test_a_wrong_imap_url_stops_the_start_naming_the_variable(url: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says) as refused:
        check(**MAIL, imap_url=url)
    assert "HUB_IMAP_URL" in refused.value.args[0]
    assert "s3cret" not in refused.value.args[0]


def test_imap_alone_receives_mail_and_one_way_in_is_required() -> None:
    check(**MAIL, imap_url="imaps://u:p@imap.shop.test/INBOX")  # no listener needed
    check(**MAIL, imap_url="imaps://u:p@imap.shop.test", smtp_listen="127.0.0.1:2525")
    with pytest.raises(ConfigurationError, match="HUB_SMTP_LISTEN or HUB_IMAP_URL"):
        check(**MAIL)
    with pytest.raises(ConfigurationError, match="HUB_EMAIL_ADDRESS is required"):
        check(imap_url="imaps://u:p@imap.shop.test")
    check(imap_url="")  # empty is unset
