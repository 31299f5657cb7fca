"""Typed keys for what the aiohttp application shares (no globals)."""

from __future__ import annotations

import jinja2
from aiohttp import web

from hub.actions.order_puts import OrderPuts
from hub.runtime.services import Hub
from hub.web.login_limits import LoginLimiter
from hub.web.webchat.limits import WebchatLimits

HUB = web.AppKey("hub", Hub)
# PUT /orders of this process, written in batches (hub.actions.order_puts).
ORDER_PUTS = web.AppKey("order_puts", OrderPuts)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
WEBCHAT_LIMITS = web.AppKey("webchat_limits", WebchatLimits)
LOGIN_LIMITER = web.AppKey("login_limiter", LoginLimiter)  # one budget for API and inbox
