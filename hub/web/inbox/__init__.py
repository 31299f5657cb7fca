"""The operators' inbox (SPEC §8): server-rendered pages, form posts, live notices."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hub.web.inbox import (
    admin,
    admin_desk,
    contacts,
    customers,
    forms,
    live,
    locale,
    login,
    originals,
    reports,
    routing,
    views,
    webhooks,
)
from hub.web.login_limits import LoginLimiter


def routes(limiter: LoginLimiter) -> list[web.RouteDef]:
    conversation = "/inbox/conversations/{id}"
    return [
        web.get("/inbox", views.inbox_page),
        web.get("/inbox/", views.inbox_page),
        web.get("/inbox/rows", views.rows_fragment),
        web.get("/inbox/events", live.stream),
        web.get("/inbox/login", login.login_form),
        login.login_view(limiter),
        web.post("/inbox/logout", login.logout),
        web.post(locale.SWITCH, locale.switch),
        web.get(conversation, views.thread_page),
        web.get(conversation + "/parts/{part}", views.thread_fragment),
        web.post(conversation + "/reply", forms.reply),
        web.post(conversation + "/assign", forms.assign),
        web.post(conversation + "/status", forms.status),
        web.post(conversation + "/labels", forms.labels),
        web.post(conversation + "/bot", forms.bot),
        web.post(conversation + "/contact", contacts.log_contact),
        web.get(originals.PATH, originals.original_mail),
        web.post("/inbox/customers/{id}/name", forms.rename),
        web.get("/inbox/customers/{id}/merge", customers.merge_page),
        web.post("/inbox/customers/{id}/merge", customers.merge),
        web.post(
            "/inbox/customers/{id}/identities/{identity_id}/confirm", customers.confirm_identity
        ),
        web.post(
            "/inbox/customers/{id}/suggestions/{suggestion_id}/dismiss",
            customers.dismiss_suggestion,
        ),
        web.get("/inbox/reports", reports.reports_page),
        web.get(admin.ADMIN, admin.admin_page),
        web.post(admin.ADMIN + "/operators", admin.add_operator),
        web.post(admin.ADMIN + "/canned", admin.add_canned),
        web.post(admin.ADMIN + "/operators/{id}/disable", admin.disable_operator),
        web.post(admin.ADMIN + "/operators/{id}/enable", admin.enable_operator),
        web.post(admin.ADMIN + "/operators/{id}/password", admin.set_password),
        web.post(admin.ADMIN + "/tokens/{id}/revoke", admin.revoke_token),
        *routing.routes(),
        *desk_routes(conversation),
        web.get(webhooks.WEBHOOKS, webhooks.webhooks_page),
        web.post(webhooks.WEBHOOKS, webhooks.create_webhook),
        web.post(webhooks.WEBHOOKS + "/{id}/rotate", webhooks.rotate_secret),
        web.post(webhooks.WEBHOOKS + "/{id}/switch", webhooks.switch),
        web.post(webhooks.WEBHOOKS + "/{id}/delete", webhooks.delete),
    ]


def desk_routes(conversation: str) -> list[web.RouteDef]:
    """Canned responses, labels and macros managed by admins; macros run by operators."""
    return [
        web.post(conversation + "/macro", admin_desk.run_macro),
        web.post(admin.ADMIN + "/canned/{id}", admin_desk.update_canned),
        web.post(admin.ADMIN + "/canned/{id}/delete", admin_desk.delete_canned),
        web.post(admin.ADMIN + "/labels/rename", admin_desk.rename_label),
        web.post(admin.ADMIN + "/labels/delete", admin_desk.delete_label),
        web.post(admin.ADMIN + "/macros", admin_desk.add_macro),
        web.post(admin.ADMIN + "/macros/{id}", admin_desk.update_macro),
        web.post(admin.ADMIN + "/macros/{id}/delete", admin_desk.delete_macro),
    ]


def install(app: web.Application, limiter: LoginLimiter) -> None:
    app[live.CLOSING] = asyncio.Event()
    app[reports.CACHE] = reports.ReportCache()
    app.on_shutdown.append(live.closing)
    app.add_routes(routes(limiter))
