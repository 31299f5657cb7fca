"""The `hub` command as an operator runs it: from any directory, stdout for results only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HUB = str(Path(sys.executable).parent / "hub")


def hub(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return subprocess.run(
        [HUB, *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_on_every_command(tmp_path: Path) -> None:
    for command in (
        [],
        ["run"],
        ["worker"],
        ["operator", "create"],
        ["token", "create"],
        ["token", "list"],
        ["token", "revoke"],
        ["operator", "disable"],
        ["operator", "enable"],
        ["operator", "password"],
        ["orders", "import"],
        ["telegram", "set-webhook"],
        ["shopify", "backfill"],
    ):
        result = hub(tmp_path, *command, "--help")
        assert result.returncode == 0 and "usage: hub" in result.stdout, command


def test_the_access_verbs_explain_what_they_take_back(tmp_path: Path) -> None:
    explained = {
        ("token", "list"): ["stored hashed", "never shown", "last used", "--email"],
        ("token", "revoke"): ["ID", "--email", "next request"],
        ("operator", "disable"): ["sessions end", "tokens", "enable"],
        ("operator", "password"): ["sessions", "prompted", "stdin"],
    }
    for command, words in explained.items():
        text = " ".join(hub(tmp_path, *command, "--help").stdout.split())
        for word in words:
            assert word in text, (command, word, text)


def test_operator_then_token_prints_the_token_alone_on_the_last_line(tmp_path: Path) -> None:
    created = hub(
        tmp_path,
        "operator",
        "create",
        "--email",
        "Ann@Shop.test",
        "--name",
        "Ann",
        "--role",
        "admin",
        "--password",
        "long-password",
    )
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "hub.db").exists()  # ./hub.db is relative to the current directory
    token = hub(tmp_path, "token", "create", "--email", "ann@shop.test")
    assert token.returncode == 0, token.stderr
    last = token.stdout.strip().splitlines()[-1]
    assert last.startswith("hub_") and " " not in last
    assert last not in token.stderr  # secrets never reach the logs


def test_readable_errors_not_tracebacks(tmp_path: Path) -> None:
    missing = hub(tmp_path, "token", "create", "--email", "nobody@shop.test")
    assert missing.returncode == 2 and "no operator" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_port = hub(tmp_path, "migrate", env={"HUB_PORT": "not-a-port"})
    assert bad_port.returncode == 2 and "HUB_PORT" in bad_port.stderr
    half = hub(tmp_path, "run", env={"HUB_TELEGRAM_BOT_TOKEN": "123:abc"})
    assert half.returncode == 2 and "HUB_TELEGRAM_WEBHOOK_SECRET" in half.stderr


def test_orders_import_is_idempotent_with_a_progress_bar(tmp_path: Path) -> None:
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text(
        "number,status,name,phone,email,total,currency,tracking_url\n"
        "A-1,created,Anna,+1 555 555 0142,anna@shop.test,10.50,eur,\n"
        "A-2,shipped,Anna,,anna@shop.test,5,EUR,https://track.test/A-2\n"
        "A-3,created,Bob,not a phone,,1,EUR,\n",
        encoding="utf-8",
    )
    first = hub(tmp_path, "orders", "import", str(csv_file))
    assert first.returncode == 0, first.stderr
    assert "2 created, 0 updated, 1 skipped" in first.stdout
    assert "line 4" in first.stdout and "importing" in first.stderr  # tqdm's bar on stderr
    again = hub(tmp_path, "orders", "import", str(csv_file))
    assert "0 created, 2 updated, 1 skipped" in again.stdout


@pytest.mark.parametrize("url", ["http://hub.test/webhooks/telegram", "https://hub.test:9000/x"])
def test_set_webhook_checks_telegrams_https_and_port_rules(tmp_path: Path, url: str) -> None:
    env = {"HUB_TELEGRAM_BOT_TOKEN": "123:abc", "HUB_TELEGRAM_WEBHOOK_SECRET": "s"}
    result = hub(tmp_path, "telegram", "set-webhook", "--url", url, env=env)
    assert result.returncode == 2 and "Telegram" in result.stderr
