"""The inbox's doors: sessions, CSRF, the login limiter, and customer strings kept inert."""

from __future__ import annotations

import aiohttp
import pytest

from hub.models import Message
from hub.web.inbox.common import safe_next
from hub.web.keys import LOGIN_LIMITER
from tests.factories import messages_of
from tests.support import RunningHub
from tests.support.api import PASSWORD, Api, Browser, customer_writes
from tests.support.inbox import XSS


async def test_no_inbox_page_is_readable_without_a_session(
    hub: RunningHub, api: Api, browser: Browser
) -> None:
    message = await customer_writes(hub, 8001, "private question")
    thread = f"/inbox/conversations/{message.conversation_id}"
    for path in ("/inbox", thread, f"/inbox/customers/{message.customer_id}/merge"):
        status, html, response = await browser.get(path)
        assert status == 303 and response.headers["Location"].startswith("/inbox/login")
        assert "private question" not in html
    for path in ("/inbox/rows", f"{thread}/parts/messages", "/inbox/events"):
        status, html, _ = await browser.get(path, headers={"Hub-Fetch": "1"})
        assert status == 401 and "private question" not in html
    status, html, _ = await browser.post(f"{thread}/reply", {"text": "hi", "csrf": "x"})
    assert status == 401
    status, html, _ = await browser.get("/inbox/login")
    assert status == 200
    assert '<input type="email" name="email"' in html
    assert '<input type="password" name="password"' in html
    assert "private question" not in html


async def test_sign_in_sets_a_hardened_cookie_and_opens_the_inbox_and_the_api(
    hub: RunningHub, api: Api, browser: Browser
) -> None:
    assert await browser.sign_in(api.email) == 303
    session_cookie = next(m for m in browser.http.cookie_jar if m.key == "hub_session")
    assert session_cookie["httponly"] and session_cookie["samesite"] == "Lax"
    assert not session_cookie["secure"]  # plain http on loopback; https sets Secure
    message = await customer_writes(hub, 8002, "is my order on its way")
    status, html, _ = await browser.get("/inbox")
    assert status == 200 and "Ivan Petrov" in html
    status, html, _ = await browser.get(f"/inbox/conversations/{message.conversation_id}")
    assert status == 200 and "is my order on its way" in html

    # The same session authenticates the REST API; unsafe calls need the CSRF header.
    async with browser.http.get(f"{hub.url}/api/v1/conversations") as response:
        assert response.status == 200
        [conversation] = (await response.json())["items"]
    path = f"{hub.url}/api/v1/conversations/{conversation['id']}/labels"
    async with browser.http.post(path, json={"labels": ["vip"]}) as response:
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "csrf"
    headers = {"X-CSRF-Token": await browser.csrf()}
    async with browser.http.post(path, json={"labels": ["vip"]}, headers=headers) as response:
        assert response.status == 200 and (await response.json())["labels"] == ["vip"]


async def test_each_sign_in_makes_a_new_session_and_sign_out_ends_it(
    hub: RunningHub, api: Api, browser: Browser
) -> None:
    assert await browser.sign_in(api.email) == 303
    first = browser.cookie("hub_session")
    assert await browser.sign_in(api.email) == 303
    second = browser.cookie("hub_session")
    assert first and second and first != second
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        other.cookie_jar.update_cookies({"hub_session": first})
        async with other.get(f"{hub.url}/inbox", allow_redirects=False) as response:
            assert response.status == 303  # the old id names nothing any more
    status, _, _ = await browser.post("/inbox/logout", {"csrf": await browser.csrf()})
    assert status == 303
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        other.cookie_jar.update_cookies({"hub_session": second})
        async with other.get(f"{hub.url}/inbox", allow_redirects=False) as response:
            assert response.status == 303


async def test_wrong_passwords_are_refused_then_rate_limited(
    hub: RunningHub, api: Api, browser: Browser
) -> None:
    hub.runner.app[LOGIN_LIMITER].clock = lambda: 1000.0  # frozen: no wait runs out
    for _ in range(5):
        assert await browser.sign_in(api.email, "wrong password") == 401
    await browser.get("/inbox/login")
    token = browser.cookie("hub_login_csrf") or ""
    status, html, response = await browser.post(
        "/inbox/login", {"email": api.email, "password": PASSWORD, "csrf": token}
    )
    assert status == 429 and int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in html


async def test_forms_without_the_csrf_token_are_refused(
    hub: RunningHub, api: Api, browser: Browser
) -> None:
    message = await customer_writes(hub, 8003, "hello")
    thread = f"/inbox/conversations/{message.conversation_id}"
    # A login form posted from elsewhere (no matching double-submit token) is refused.
    status, _, _ = await browser.post(
        "/inbox/login", {"email": api.email, "password": PASSWORD, "csrf": "forged"}
    )
    assert status == 403 and browser.cookie("hub_session") is None
    assert await browser.sign_in(api.email) == 303
    for form in ({"text": "forged reply"}, {"text": "forged reply", "csrf": "wrong"}):
        status, _, _ = await browser.post(f"{thread}/reply", form)
        assert status == 403
    for action, form in (
        ("assign", {"operator_id": "me"}),
        ("status", {"status": "resolved"}),
        ("labels", {"labels": "x"}),
        ("bot", {"bot_active": "0"}),
    ):
        status, _, _ = await browser.post(f"{thread}/{action}", form)
        assert status == 403, action
    status, _, _ = await browser.post(f"/inbox/customers/{message.customer_id}/name", {"name": "X"})
    assert status == 403
    status, _, _ = await browser.post("/inbox/logout", {})
    assert status == 403
    stored = await messages_of(hub.hub, conversation_id=message.conversation_id)
    assert [m.text for m in stored if m.sender_type == "operator"] == []
    token = await browser.csrf()
    status, _, _ = await browser.post(f"{thread}/reply", {"text": "a real reply", "csrf": token})
    assert status == 303


async def test_customer_strings_render_inert_everywhere(
    hub: RunningHub, api: Api, browser: Browser
) -> None:
    message: Message = await customer_writes(
        hub, 8004, XSS, first_name=XSS, last_name=XSS, language_code="<i>x</i>"
    )
    await api.ok(
        "PUT",
        "/orders/1042",
        {
            "customer": {"telegram_id": "8004"},
            "status": "<script>alert(2)</script>",
            "tracking_url": "javascript:alert(1)",
            "items": [{"name": XSS, "qty": 1}],
        },
        status=201,
    )
    await api.ok("POST", f"/conversations/{message.conversation_id}/labels", {"labels": [XSS[:60]]})
    assert await browser.sign_in(api.email) == 303
    pages = [
        "/inbox",
        "/inbox?status=all&q=" + "%3Cscript%3E",
        f"/inbox/conversations/{message.conversation_id}",
        f"/inbox/conversations/{message.conversation_id}/parts/card",
        f"/inbox/customers/{message.customer_id}/merge?q=script",
    ]
    for path in pages:
        status, html, _ = await browser.get(path)
        assert status == 200, path
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "javascript:alert" not in html, path
    _, thread, _ = await browser.get(pages[2])
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in thread


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/inbox/conversations/7?tab=mine", "/inbox/conversations/7?tab=mine"),
        ("/sandbox?channel=sms", "/sandbox?channel=sms"),
        ("/sandbox", "/sandbox"),
        ("//evil.example/inbox", "/inbox"),
        ("https://evil.example/inbox", "/inbox"),
        ("/inbox/..\\evil", "/inbox"),
        ("/inboxes-elsewhere", "/inbox"),
        ("/sandboxed", "/inbox"),
        (None, "/inbox"),
    ],
)
def test_after_login_only_the_hubs_own_signed_in_pages_are_followed(
    target: str | None, expected: str
) -> None:
    assert safe_next(target) == expected
