"""`hub agent-bot`: the external bot's token and signing key, as an admin sets the bot up."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from tests.support.cli import clean_env, run_hub


async def test_the_bot_token_is_printed_once_and_revoked(tmp_path: Path) -> None:
    env = clean_env()
    code, out, err = await run_hub(tmp_path, env, "agent-bot", "token")
    assert code == 0, err
    token = out.strip().splitlines()[-1]
    assert token.startswith("hubbot_") and " " not in token and token not in err
    code, out, err = await run_hub(tmp_path, env, "agent-bot", "revoke")
    assert (code, out.strip()) == (0, "revoked 1 external bot token(s)"), err


async def test_the_signing_key_is_the_configured_one_else_derived_from_the_secret_key(
    tmp_path: Path,
) -> None:
    env = clean_env(HUB_SECRET_KEY="the-hubs-secret-key")
    code, out, err = await run_hub(tmp_path, env, "agent-bot", "secret")
    assert code == 0, err
    derived = hmac.new(b"the-hubs-secret-key", b"agent-bot-signing", hashlib.sha256).hexdigest()
    assert out.strip() == derived and "the-hubs-secret-key" not in out + err
    # Without HUB_SECRET_KEY the key comes from the one stored in the database: stable.
    env = clean_env()
    first = await run_hub(tmp_path, env, "agent-bot", "secret")
    again = await run_hub(tmp_path, env, "agent-bot", "secret")
    assert first[0] == again[0] == 0 and first[1] == again[1] and len(first[1].strip()) == 64
    env = clean_env(HUB_AGENT_BOT_SECRET="shop-chosen-key")
    assert (await run_hub(tmp_path, env, "agent-bot", "secret"))[1].strip() == "shop-chosen-key"


async def test_a_bot_url_that_is_not_http_stops_the_start_naming_the_variable(
    tmp_path: Path,
) -> None:
    env = clean_env(HUB_AGENT_BOT_URL="ftp://bot.example/events")
    code, _, err = await run_hub(tmp_path, env, "agent-bot", "secret")
    assert code == 2 and "HUB_AGENT_BOT_URL" in err
