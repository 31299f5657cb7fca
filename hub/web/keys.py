"""Typed keys for what the aiohttp application shares (no globals)."""

from __future__ import annotations

import jinja2
from aiohttp import web

from hub.actions.order_puts import OrderPuts
from hub.actions.reply_writer import ReplyWriter
from hub.runtime.services import Hub
from hub.web.login_limits import LoginLimiter
from hub.web.token_lookups import TokenLookups
from hub.web.webchat.limits import WebchatLimits

HUB = web.AppKey("hub", Hub)
# PUT /orders of this process, written in batches (hub.actions.order_puts).
ORDER_PUTS = web.AppKey("order_puts", OrderPuts)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
WEBCHAT_LIMITS = web.AppKey("webchat_limits", WebchatLimits)
# This process's group commit of operator replies (API and inbox share it).
REPLIES = web.AppKey("replies", ReplyWriter)
LOGIN_LIMITER = web.AppKey("login_limiter", LoginLimiter)  # one budget for API and inbox
TOKEN_LOOKUPS = web.AppKey("token_lookups", TokenLookups)  # API token lookups in flight
