"""Typed keys for what the aiohttp application shares (no globals)."""

from __future__ import annotations

import jinja2
from aiohttp import web

from hub.services import Hub

HUB = web.AppKey("hub", Hub)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
