"""The inbox in English and Russian: the catalog is complete, the operator's choice sticks,
the switch is a CSRF-checked form, and customers' words are never translated or unescaped."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import aiohttp
import pytest
from jinja2 import Environment
from sqlalchemy import select
from sqlmodel import col

from hub.actions.canned import check_canned
from hub.actions.customers import check_customer_name
from hub.actions.operator_locale import check_ui_locale
from hub.actions.operators import check_operator, do_create_operator
from hub.errors import HubError, InvalidInput, NotFound
from hub.models import Operator
from hub.resources import templates_dir
from hub.web import i18n
from hub.web.app import templates
from tests.support import RunningHub
from tests.support.api import PASSWORD, Api, Browser, customer_writes
from tests.support.inbox import XSS

GETTEXT = {"_", "gettext"}
PGETTEXT = {"pgettext"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Operator-facing templates (the demo shop is the customer's side, in the shop's language).
OPERATOR_TEMPLATES = ("base.html", "inbox/*.html", "sandbox/*.html")
JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
SCRIPT_OR_COMMENT = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->", re.S | re.I)
SHOWN_ATTRIBUTE = re.compile(r'\b(placeholder|title|aria-label|alt)="([^"]*)"')
ATTRIBUTES_ONLY = re.compile(r'^(?:[\w-]+="[^"]*"\s*)+$')
# Words the same in both languages: language names (each in itself), key names, units.
NOT_TRANSLATED = re.compile(r"^(?:EN|RU|English|Русский|UTC|p90|[a-z]|Enter|Esc|Tab|Ctrl)$")


# ---- the catalog ------------------------------------------------------------------------


def template_msgids(env: Environment) -> Iterator[tuple[str, int, str | None]]:
    """(template, line, msgid) of every `_()` call; msgid None when it is not a literal."""
    for path in sorted(templates_dir().rglob("*.html")):
        name = str(path.relative_to(templates_dir()))
        found = env.extract_translations(path.read_text("utf-8"))  # type: ignore[attr-defined]
        for line, function, message in found:
            if function in PGETTEXT:  # (meaning, text): keyed as gettext keys them
                meaning, text = message[:2]
                literal = isinstance(meaning, str) and isinstance(text, str)
                yield name, line, i18n.with_context(meaning, text) if literal else None
                continue
            if function not in GETTEXT:
                continue
            first = message[0] if isinstance(message, tuple) else message
            yield name, line, first if isinstance(first, str) else None


def catalog_files(locale: str) -> dict[str, dict[str, str]]:
    return {
        path.name: json.loads(path.read_text("utf-8"))
        for path in sorted((templates_dir() / "i18n" / locale).glob("*.json"))
    }


def test_every_msgid_is_a_literal_with_a_russian_entry_and_every_entry_is_used() -> None:
    used = list(template_msgids(templates()))
    assert used, "no _() calls found: is the extraction broken?"
    not_literal = [f"{name}:{line}" for name, line, msgid in used if msgid is None]
    assert not_literal == [], (
        f"_() takes literal text only (values go in as %(name)s): {not_literal}"
    )
    russian = i18n.catalog("ru")
    wanted = {msgid for _, _, msgid in used if msgid} | i18n.error_msgids()
    missing = sorted(wanted - russian.keys())
    assert missing == [], f"no Russian in templates/i18n/ru/*.json for: {missing}"
    unused = {
        file: sorted(set(entries) - wanted)
        for file, entries in catalog_files("ru").items()
        if set(entries) - wanted
    }
    assert unused == {}, f"catalog entries no template or error uses: {unused}"


def literal_text(source: str) -> list[str]:
    """Text a page shows that is not inside `{{ }}`: visible text and shown attributes."""
    found = []
    for match in SHOWN_ATTRIBUTE.finditer(source):
        value = JINJA.sub("", match.group(2)).strip()
        if re.search(r"[^\W\d_]", value) and not NOT_TRANSLATED.match(value):
            found.append(f'{match.group(1)}="{value}"')
    text = re.sub(r"<[^>]*>", "\n", SCRIPT_OR_COMMENT.sub(" ", JINJA.sub(" ", source)))
    for chunk in (line.strip() for line in text.split("\n")):
        if ATTRIBUTES_ONLY.match(chunk) or NOT_TRANSLATED.match(chunk):
            continue
        if re.search(r"[^\W\d_]", chunk):
            found.append(chunk)
    return found


def test_no_operator_page_shows_literal_text_outside_the_catalog() -> None:
    found = {
        str(path.relative_to(templates_dir())): literal_text(path.read_text("utf-8"))
        for pattern in OPERATOR_TEMPLATES
        for path in sorted(templates_dir().glob(pattern))
    }
    assert {name: text for name, text in found.items() if text} == {}, (
        'write operator-facing text as {{ _("...") }}'
    )
    assert literal_text('<p title="Hi">Hello <b>{{ x }}</b></p>') == ['title="Hi"', "Hello"]


def test_translations_keep_their_placeholders_and_agree_across_files() -> None:
    seen: dict[str, tuple[str, str]] = {}
    for file, entries in catalog_files("ru").items():
        for msgid, text in entries.items():
            assert text.strip(), (file, msgid)
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), (
                file,
                msgid,
            )
            assert "%" not in PLACEHOLDER.sub("", text), (file, msgid, "a bare % breaks %-format")
            if msgid in seen:
                assert seen[msgid][1] == text, f"{msgid!r}: {seen[msgid][0]} and {file} disagree"
            seen[msgid] = (file, text)


# ---- errors, dates, the browser's language --------------------------------------------


def raised(call: object, *args: object) -> HubError:
    assert callable(call)
    with pytest.raises(HubError) as caught:
        call(*args)
    return caught.value


@pytest.mark.parametrize(
    ("error", "russian"),
    [
        (raised(check_operator, "nope", "A", "agent", None), "'nope' — неверный адрес эл. почты."),
        (raised(check_operator, "a@b.test", " ", "agent", None), "Имя не может быть пустым."),
        (raised(check_operator, "a@b.test", "A", "boss", None), "Роль — администратор или агент."),
        (
            raised(check_operator, "a@b.test", "A", "agent", "short"),
            "В пароле не меньше 8 символов.",
        ),
        (raised(check_customer_name, "x" * 300), "Имя длиннее 200 символов."),
        (
            raised(check_canned, "a b", "t"),
            "Сокращение — от 1 до 64 букв, цифр, «_» или «-», без пробелов.",
        ),
        (raised(check_ui_locale, "de"), "Выберите английский или русский."),
        (NotFound("conversation 7 not found"), "Разговора 7 нет."),
        (
            InvalidInput("something new the catalog does not know"),
            "something new the catalog does not know",
        ),
    ],
)
def test_action_errors_are_translated_by_their_shape(error: HubError, russian: str) -> None:
    assert i18n.error_text("ru", error) == russian


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-GB,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE, ru;q=0.5, en;q=0.4", "ru"),
        ("en;q=0.2, ru;q=0.9", "ru"),
        ("ru;q=0, en", "en"),
        ("de, fr", None),
        ("", None),
        ("ru;q=bogus, en;q=0.1", "en"),
    ],
)
def test_the_browsers_language_is_picked_by_quality(header: str, locale: str | None) -> None:
    assert i18n.from_accept_language(header) == locale


def test_one_english_word_can_have_two_translations_by_meaning() -> None:
    page = templates().from_string('{{ _("delivered") }}|{{ pgettext("order", "delivered") }}')
    assert page.render(ui_locale="ru") == "доставлено|доставлен"  # a message | an order
    assert page.render(ui_locale="en") == "delivered|delivered"


def test_dates_are_written_the_way_each_language_writes_them() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 3, 7, 9, 5, tzinfo=UTC)
    assert i18n.format_datetime("en", moment) == "Mar 7, 2026, 09:05 UTC"
    assert i18n.format_datetime("ru", moment) == "07.03.2026, 09:05 UTC"
    assert i18n.format_date("ru", moment) == "07.03.2026"


# ---- the running inbox -----------------------------------------------------------------


async def locale_of(hub: RunningHub, operator_id: int) -> str:
    async with hub.hub.db.session() as session:
        operator = await session.get(Operator, operator_id)
    assert operator is not None
    return operator.locale


async def switch(browser: Browser, locale: str, back: str = "/inbox") -> tuple[int, str]:
    status, _, response = await browser.post(
        "/inbox/me/locale", {"locale": locale, "back": back, "csrf": await browser.csrf()}
    )
    return status, response.headers.get("Location", "")


def lang(html: str) -> str:
    found = re.search(r'<html lang="(\w+)">', html)
    assert found, html[:200]
    return found.group(1)


async def test_switching_language_changes_every_page_and_lasts_across_sessions(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    message = await customer_writes(hub, 9301, "where is my parcel")
    thread = f"/inbox/conversations/{message.conversation_id}"
    _, html, _ = await agent.get("/inbox")
    assert lang(html) == "en" and "Sign out" in html and "Выйти" not in html
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d\d:\d\d UTC</time>", html)

    assert await switch(agent, "ru", back=thread + "?status=all") == (303, thread + "?status=all")
    assert await locale_of(hub, api.operator_id) == "ru"
    _, html, _ = await agent.get("/inbox")
    assert lang(html) == "ru" and "Выйти" in html and "Sign out" not in html
    assert re.search(r'data-tab="open"[^>]*>Открытые <span class="count">1<', html)
    assert re.search(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d UTC</time>", html)
    _, html, _ = await agent.get(thread)
    assert "Добавить заметку" in html and "Отправить через" in html and "Заказы" in html
    _, html, _ = await agent.get(thread + "/parts/head", headers={"Hub-Fetch": "1"})
    assert "Взять себе" in html  # fragments the page refetches are in Russian too

    # A new session (another browser) opens in Russian straight away.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        other = Browser(hub, http)
        assert await other.sign_in(api.email) == 303
        _, html, _ = await other.get("/inbox")
        assert lang(html) == "ru" and "Выйти" in html
        assert await switch(other, "en") == (303, "/inbox")
    _, html, _ = await agent.get("/inbox")
    assert lang(html) == "en" and "Sign out" in html


async def test_the_language_switch_needs_a_session_the_csrf_token_and_a_known_language(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    for form in ({"locale": "ru"}, {"locale": "ru", "csrf": "forged"}):
        status, _, _ = await agent.post("/inbox/me/locale", form)
        assert status == 403
    async with aiohttp.ClientSession() as http:
        status, _, _ = await Browser(hub, http).post(
            "/inbox/me/locale", {"locale": "ru", "csrf": await agent.csrf()}
        )
        assert status == 401
    assert await switch(agent, "de") == (422, "")
    token = await agent.csrf()
    _, body, _ = await agent.post(
        "/inbox/me/locale", {"locale": "xx", "csrf": token}, headers={"Hub-Fetch": "1"}
    )
    assert json.loads(body)["error"]["message"] == "Pick English or Russian."
    assert await locale_of(hub, api.operator_id) == "en"
    assert await switch(agent, "ru", back="https://evil.example/inbox") == (303, "/inbox")
    assert await locale_of(hub, api.operator_id) == "ru"


async def test_the_login_page_follows_the_browser_and_the_lang_link(
    hub: RunningHub, api: Api
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = Browser(hub, http)
        russian = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"}
        _, html, _ = await browser.get("/inbox/login", headers=russian)
        assert lang(html) == "ru" and ">Войти</button>" in html and "Пароль" in html
        _, html, _ = await browser.get("/inbox/login", headers={"Accept-Language": "de, en;q=0.5"})
        assert lang(html) == "en" and ">Sign in</button>" in html
        _, html, _ = await browser.get("/inbox/login?lang=en", headers=russian)
        assert lang(html) == "en"
        assert 'href="/inbox/login?lang=ru&amp;next=%2Finbox"' in html
        _, html, _ = await browser.get("/inbox/login?lang=xx", headers=russian)
        assert lang(html) == "ru"
        # A wrong password answers in the language the form was shown in.
        _, html, _ = await browser.get("/inbox/login?lang=ru")
        assert 'name="lang" value="ru"' in html
        token = browser.cookie("hub_login_csrf") or ""
        status, html, _ = await browser.post(
            "/inbox/login",
            {"email": api.email, "password": "wrong", "csrf": token, "lang": "ru"},
        )
        assert status == 401 and "Неверная почта или пароль." in html
        # Signed in, the operator's own choice wins over the browser's.
        assert await browser.sign_in(api.email) == 303
        _, html, _ = await browser.get("/inbox", headers=russian)
        assert lang(html) == "en"


async def test_customer_strings_are_never_translated_or_unescaped(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    await switch(agent, "ru")
    named = await customer_writes(hub, 9311, "Sign out", first_name="Open", last_name="Pending")
    hostile = await customer_writes(hub, 9312, XSS, first_name=XSS, last_name=None)
    await api.ok(
        "PUT", "/orders/5001", {"customer": {"telegram_id": "9311"}, "status": "shipped"}, 201
    )
    await api.ok(
        "PUT", "/orders/5002", {"customer": {"telegram_id": "9311"}, "status": "Resolve"}, 201
    )
    _, html, _ = await agent.get("/inbox")
    assert "<span data-name>Open Pending</span>" in html
    assert '<span class="last" data-last>Sign out</span>' in html
    _, html, _ = await agent.get(f"/inbox/conversations/{named.conversation_id}")
    assert '<div class="text" data-text>Sign out</div>' in html
    assert '<span class="badge">отправлен</span>' in html  # a known order status is ours
    assert '<span class="badge">Resolve</span>' in html  # a shop's own status is data
    _, html, _ = await agent.get(f"/inbox/conversations/{hostile.conversation_id}")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    status, html, _ = await agent.get(f"/inbox/customers/{named.customer_id}/merge?q=x")
    assert status == 200 and "Объединить с клиентом Open Pending" in html


async def test_errors_are_shown_in_the_operators_language_and_the_api_stays_english(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    message = await customer_writes(hub, 9321, "hello")
    await switch(agent, "ru")
    token = await agent.csrf()
    rename = f"/inbox/customers/{message.customer_id}/name"
    status, html, _ = await agent.post(rename, {"name": " ", "csrf": token})
    assert status == 422 and "Имя не может быть пустым." in html and lang(html) == "ru"
    status, body, _ = await agent.post(
        rename, {"name": " ", "csrf": token}, headers={"Hub-Fetch": "1"}
    )
    assert status == 422 and json.loads(body)["error"]["message"] == "Имя не может быть пустым."
    status, html, _ = await agent.get("/inbox/conversations/999999")
    assert status == 404 and "Не найдено" in html
    status, html, _ = await agent.get("/inbox/admin")  # an agent, not an admin
    assert status == 403 and "управляет только администратор" in html
    # The REST API keeps its English messages, whoever calls it.
    got, data, _ = await api.call("POST", "/canned-responses", {"shortcut": "a b", "text": "t"})
    assert got in (403, 422) and data["error"]["message"].isascii()
    got, data, _ = await api.call("GET", "/conversations/999999")
    assert got == 404 and data["error"]["message"] == "conversation 999999 not found"


async def test_an_admin_gives_a_new_operator_their_language(hub: RunningHub, api: Api) -> None:
    async with hub.hub.db.session() as session:
        await do_create_operator(
            session, email="boss@shop.test", name="Boss", role="admin", password=PASSWORD
        )
        await session.commit()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        admin = Browser(hub, http)
        assert await admin.sign_in("boss@shop.test") == 303
        _, html, _ = await admin.get("/inbox/admin")
        assert '<select name="locale"' in html
        new = {"name": "Ira", "email": "ira@shop.test", "role": "agent", "password": PASSWORD}
        status, _, _ = await admin.post(
            "/inbox/admin/operators", {**new, "locale": "fr", "csrf": await admin.csrf()}
        )
        assert status == 422
        async with hub.hub.db.session() as session:
            found = await session.scalar(
                select(Operator).where(col(Operator.email) == new["email"])
            )
            assert found is None  # a refused language creates nobody
        status, _, _ = await admin.post(
            "/inbox/admin/operators", {**new, "locale": "ru", "csrf": await admin.csrf()}
        )
        assert status == 303
        _, html, _ = await admin.get("/inbox/admin")
        assert re.search(
            r'data-operator="ira@shop.test"><td>Ira</td><td>ira@shop.test</td>'
            r"<td>agent</td><td>Русский</td>",
            html,
        )
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        ira = Browser(hub, http)
        assert await ira.sign_in("ira@shop.test") == 303
        _, html, _ = await ira.get("/inbox")
        assert lang(html) == "ru" and "(агент)" in html
