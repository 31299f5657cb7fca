"""The `hub` command line (SPEC §3)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hub.errors import HubError, InvalidInput
from hub.runtime import logs
from hub.settings import Settings, load_settings


def _settings(**overrides: Any) -> Settings:
    settings = load_settings(**overrides)
    logs.configure(settings.log_level)
    return settings


def cmd_run(args: argparse.Namespace) -> None:
    from hub.runtime.server import serve

    asyncio.run(serve(_settings(), with_worker=True))


def cmd_web(args: argparse.Namespace) -> None:
    from hub.runtime.server import serve

    asyncio.run(serve(_settings(), with_worker=False))


def cmd_worker(args: argparse.Namespace) -> None:
    from hub.runtime.server import work

    asyncio.run(
        work(
            _settings(),
            args.metrics_port,
            telegram_polling=args.telegram_polling,
            mail=args.mail,
        )
    )


def cmd_migrate(args: argparse.Namespace) -> None:
    from hub.db import Database
    from hub.migrate import migrate

    async def go() -> bool:
        db = Database(_settings())
        try:
            return await migrate(db)
        finally:
            await db.close()

    print("migrated to the latest schema" if asyncio.run(go()) else "schema already up to date")


def cmd_demo(args: argparse.Namespace) -> None:
    from hub.commands.demo_data import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
    from hub.runtime.server import serve

    os.environ.setdefault("HUB_SANDBOX", "1")
    os.environ.setdefault("HUB_CSAT", "1")  # the demo shows the satisfaction question
    settings = _settings(sandbox=True)
    asyncio.run(seed_demo(settings))
    base = settings.base_url
    banner = (
        f"Support hub demo is running.\n"
        f"  Demo shop with the web chat: {base}/demo/shop\n"
        f"  Sandbox (every channel):     {base}/sandbox\n"
        f"  Operator inbox:              {base}/inbox\n"
        f"  REST API:                    {base}/api/v1/openapi.json\n"
        f"  Health:                      {base}/healthz\n"
        f"  Login: {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
        f"Press Ctrl+C to stop."
    )
    asyncio.run(serve(settings, with_worker=True, banner=banner))


def cmd_operator_create(args: argparse.Namespace) -> None:
    from hub.actions.operators import do_create_operator

    password = args.password
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password (empty: API token only): ") or None

    async def go(session: Any) -> str:
        operator = await do_create_operator(
            session, email=args.email, name=args.name, role=args.role, password=password
        )
        return f"created operator {operator.id} <{operator.email}> ({operator.role})"

    print(_with_session(go))


def cmd_token_create(args: argparse.Namespace) -> None:
    from hub.actions.operators import do_create_token, operator_by_email

    async def go(session: Any) -> str:
        return await do_create_token(session, await operator_by_email(session, args.email))

    token = _with_session(go)
    print(f"API token for {args.email} (shown once, keep it safe):", file=sys.stderr)
    print(token)


def cmd_token_list(args: argparse.Namespace) -> None:
    from hub.actions.access import list_tokens
    from hub.actions.operators import operator_by_email

    async def go(session: Any) -> str:
        owner = await operator_by_email(session, args.email) if args.email else None
        rows = await list_tokens(session, owner)
        lines = [f"{'ID':>6}  {'EMAIL':<32}  {'CREATED':<25}  LAST USED"]
        for row in rows:
            used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
            created = row.created_at.isoformat(timespec="seconds")
            lines.append(f"{row.id:>6}  {row.email:<32}  {created:<25}  {used}")
        return "\n".join(lines)

    print(_with_session(go))


def cmd_token_revoke(args: argparse.Namespace) -> None:
    from hub.actions.access import do_revoke_token, do_revoke_tokens_of
    from hub.actions.operators import operator_by_email

    if (args.id is None) == (args.email is None):
        raise InvalidInput("give a token ID or --email (not both)")

    async def go(session: Any) -> str:
        if args.email is not None:
            operator = await operator_by_email(session, args.email)
            revoked = await do_revoke_tokens_of(session, operator)
            return f"revoked {revoked} API token(s) of <{operator.email}>"
        await do_revoke_token(session, args.id)
        return f"revoked API token {args.id}"

    print(_with_session(go))


def cmd_operator_disable(args: argparse.Namespace) -> None:
    from hub.actions.access import do_disable_operator
    from hub.actions.operators import operator_by_email

    async def go(session: Any) -> str:
        operator = await operator_by_email(session, args.email)
        await do_disable_operator(session, operator)
        return f"disabled operator <{operator.email}>: signed out, tokens refused"

    print(_with_session(go))


def cmd_operator_enable(args: argparse.Namespace) -> None:
    from hub.actions.access import do_enable_operator
    from hub.actions.operators import operator_by_email

    async def go(session: Any) -> str:
        operator = await operator_by_email(session, args.email)
        do_enable_operator(session, operator)
        return f"enabled operator <{operator.email}>"

    print(_with_session(go))


def _new_password() -> str:
    """Asked on the terminal (twice); read from the first line of stdin when piped."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise InvalidInput("the two passwords differ")
    return first


def cmd_operator_password(args: argparse.Namespace) -> None:
    from hub.actions.access import do_set_password
    from hub.actions.operators import check_password, operator_by_email

    password = check_password(args.password if args.password is not None else _new_password())

    async def go(session: Any) -> str:
        operator = await operator_by_email(session, args.email)
        await do_set_password(session, operator, password)
        return f"password changed for <{operator.email}>: their inbox sessions ended"

    print(_with_session(go))


def cmd_orders_import(args: argparse.Namespace) -> None:
    from hub.commands.orders_import import import_orders, read_rows

    rows = read_rows(Path(args.file))
    summary = asyncio.run(import_orders(_settings(), rows))
    print(summary)


def cmd_shopify_backfill(args: argparse.Namespace) -> None:
    from hub.commands.shopify_backfill import backfill

    print(asyncio.run(backfill(_settings(), args.days)))


def cmd_bots_train(args: argparse.Namespace) -> None:
    from hub.commands.bots_train import train_model

    extra = Path(args.extra) if args.extra else load_settings().intent_extra
    if extra is not None and not extra.is_file():
        raise InvalidInput(f"no such file: {extra}")
    print(train_model(extra)[1])


def cmd_telegram_set_webhook(args: argparse.Namespace) -> None:
    from hub.commands.telegram_setup import set_webhook

    print(asyncio.run(set_webhook(_settings(), args.url)))


def cmd_agent_bot_token(args: argparse.Namespace) -> None:
    from hub.actions.agent_bot import do_create_bot_token

    token = _with_session(do_create_bot_token)
    print("External bot token (shown once, keep it safe):", file=sys.stderr)
    print(token)


def cmd_agent_bot_revoke(args: argparse.Namespace) -> None:
    from hub.actions.agent_bot import do_revoke_bot_tokens

    async def go(session: Any) -> str:
        return f"revoked {await do_revoke_bot_tokens(session)} external bot token(s)"

    print(_with_session(go))


def cmd_agent_bot_secret(args: argparse.Namespace) -> None:
    from hub.actions.agent_bot import signing_secret
    from hub.db import Database
    from hub.migrate import migrate
    from hub.runtime.secrets import load_secret_key

    settings = _settings()

    async def go() -> str:
        configured = settings.agent_bot_secret
        if configured is not None:
            return signing_secret(configured.get_secret_value(), b"")
        db = Database(settings)
        try:
            await migrate(db)
            secret = settings.secret_key.get_secret_value() if settings.secret_key else None
            return signing_secret(None, await load_secret_key(db, secret))
        finally:
            await db.close()

    print("X-Hub-Signature key of the events sent to HUB_AGENT_BOT_URL:", file=sys.stderr)
    print(asyncio.run(go()))


def _with_session(action: Callable[[Any], Coroutine[Any, Any, str]]) -> str:
    from hub.db import Database
    from hub.migrate import migrate

    async def go() -> str:
        db = Database(_settings())
        try:
            await migrate(db)
            async with db.session() as session:
                result = await action(session)
                await session.commit()
                return result
        finally:
            await db.close()

    return asyncio.run(go())


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 3650:
        raise argparse.ArgumentTypeError("N is a whole number of days, 1 to 3650")
    return int(text)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="hub",
        description="Omnichannel support hub: one thread per customer across Telegram, "
        "WhatsApp, SMS, email and web chat. Configured by HUB_* variables or a .env file.",
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="migrate if needed, then web + worker in one process").set_defaults(
        func=cmd_run
    )
    sub.add_parser("web", help="the HTTP half only (scale-out)").set_defaults(func=cmd_web)
    worker = sub.add_parser("worker", help="the queue consumers only (scale-out)")
    worker.add_argument("--metrics-port", type=int, help="serve this worker's /metrics here")
    worker.add_argument(
        "--telegram-polling", action="store_true", help="poll getUpdates instead of a webhook"
    )
    worker.add_argument(
        "--mail",
        action="store_true",
        help="also run the SMTP listener and IMAP polling (HUB_SMTP_LISTEN, HUB_IMAP_URL); "
        "one such worker process",
    )
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser(
        "demo", help="run with demo data and the sandbox channels, print URLs and a login"
    ).set_defaults(func=cmd_demo)

    operator = sub.add_parser("operator", help="manage operators").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = operator.add_parser("create", help="create an operator")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=["admin", "agent"])
    create.add_argument("--password", help="login password (omit: prompted, or token-only)")
    create.set_defaults(func=cmd_operator_create)
    disable = operator.add_parser(
        "disable",
        help="stop an operator: no sign-in, sessions end and API tokens are refused at once",
        description="The operator can no longer sign in; their inbox sessions end and their "
        "API tokens are refused from the next request on. `hub operator enable` undoes it "
        "(tokens work again; `hub token revoke --email E` removes them for good).",
    )
    disable.add_argument("--email", required=True, help="the operator's email")
    disable.set_defaults(func=cmd_operator_disable)
    enable = operator.add_parser(
        "enable", help="let a disabled operator sign in again (their tokens work again)"
    )
    enable.add_argument("--email", required=True, help="the operator's email")
    enable.set_defaults(func=cmd_operator_enable)
    password = operator.add_parser(
        "password",
        help="set an operator's password; their inbox sessions end",
        description="Sets a new login password (8+ characters); the operator's inbox sessions "
        "end (their API tokens stay: see `hub token revoke`). Without --password it is "
        "prompted for on the terminal (twice), or read from the first line of stdin when "
        "that is not a terminal.",
    )
    password.add_argument("--email", required=True, help="the operator's email")
    password.add_argument("--password", help="the new password (omit: prompted)")
    password.set_defaults(func=cmd_operator_password)

    token = sub.add_parser("token", help="manage REST API tokens").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    token_create = token.add_parser(
        "create", help="print a new API token for an operator (last line of stdout)"
    )
    token_create.add_argument("--email", required=True)
    token_create.set_defaults(func=cmd_token_create)
    token_list = token.add_parser(
        "list",
        help="list API tokens: id, operator, created, last used (never the secret)",
        description="One line per token: its ID (for `hub token revoke ID`), the operator's "
        "email, when it was created and last used (to the minute; `never` if unused). "
        "Tokens are stored hashed: the secret is never shown (it cannot be).",
    )
    token_list.add_argument("--email", help="only this operator's tokens")
    token_list.set_defaults(func=cmd_token_list)
    token_revoke = token.add_parser(
        "revoke",
        help="revoke a token by ID, or every token of an operator with --email",
        description="Revoke one token by its ID (see `hub token list`), or with --email every "
        "token of that operator. A revoked token is refused from the next request on.",
    )
    token_revoke.add_argument("id", nargs="?", type=int, metavar="ID", help="from `hub token list`")
    token_revoke.add_argument("--email", help="revoke every token of this operator instead")
    token_revoke.set_defaults(func=cmd_token_revoke)

    orders = sub.add_parser("orders", help="orders").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    imp = orders.add_parser(
        "import",
        help="bulk import orders from CSV, with a progress bar (safe to re-run)",
        description="Columns: number,status[,name,phone,email,telegram_id,total,currency,"
        "tracking_url,items]; items is a JSON list. Re-running updates, never duplicates.",
    )
    imp.add_argument("file", metavar="FILE.csv")
    imp.set_defaults(func=cmd_orders_import)

    shopify = sub.add_parser("shopify", help="Shopify order feed").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    pull = shopify.add_parser(
        "backfill",
        help="pull recent orders through the Admin API, with a progress bar (safe to re-run)",
        description="Orders updated in the last N days, from HUB_SHOPIFY_SHOP with "
        "HUB_SHOPIFY_ACCESS_TOKEN (scope read_orders). Nobody is notified of history.",
    )
    pull.add_argument("--days", type=_days, default=60, metavar="N", help="default 60")
    pull.set_defaults(func=cmd_shopify_backfill)

    bots = sub.add_parser("bots", help="the bots").add_subparsers(
        dest="bots_command", required=True, metavar="ACTION"
    )
    bots_train = bots.add_parser(
        "train",
        help="retrain the intent model from bots/intent_corpus/*.tsv (+ the shop's phrases: "
        "--extra or HUB_INTENT_EXTRA) and print the dev-set report",
    )
    bots_train.add_argument("--extra", metavar="FILE.tsv", help="more 'label<TAB>text' lines")
    bots_train.set_defaults(func=cmd_bots_train)
    agent_bot = sub.add_parser(
        "agent-bot", help="the external bot (HUB_AGENT_BOT_URL): its token and signing key"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    agent_bot.add_parser(
        "token",
        help="print a new token the external bot calls the REST API with (last line of stdout)",
        description="The token reads, answers and hands off conversations that are with the "
        "bot, nothing else. It is shown once and stored hashed.",
    ).set_defaults(func=cmd_agent_bot_token)
    agent_bot.add_parser(
        "revoke", help="revoke every external bot token (refused from the next request on)"
    ).set_defaults(func=cmd_agent_bot_revoke)
    agent_bot.add_parser(
        "secret",
        help="print the key the events' X-Hub-Signature is made with",
        description="HUB_AGENT_BOT_SECRET when set, else a key derived from the hub's secret "
        "key (the same in every process). Give it to the external bot to check signatures.",
    ).set_defaults(func=cmd_agent_bot_secret)
    telegram = sub.add_parser("telegram", help="Telegram channel").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    hook = telegram.add_parser(
        "set-webhook", help="register HUB_PUBLIC_URL/webhooks/telegram and the secret"
    )
    hook.add_argument("--url", help="override the webhook URL")
    hook.set_defaults(func=cmd_telegram_set_webhook)
    return root


def _explain(error: ValidationError) -> str:
    """Name the variable a user set wrong, not pydantic's field path."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(p) for p in problem["loc"])
        lines.append(f"HUB_{field.upper()}: {problem['msg']}")
    return "invalid configuration: " + "; ".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except ValidationError as exc:
        print(f"hub: error: {_explain(exc)}", file=sys.stderr)
        return 2
    except HubError as exc:
        print(f"hub: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"hub: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from hub.runtime.startup_errors import database_error

        explained = database_error(exc)
        if explained is None:
            raise
        print(f"hub: error: {explained}", file=sys.stderr)
        return 1
    return 0
