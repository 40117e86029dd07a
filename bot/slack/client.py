"""The Slack Web API client and the signing secret, made from Slack's settings."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from .settings import SlackSettings

if TYPE_CHECKING:
    from ..runtime import Runtime


def web_client(rt: Runtime, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """The Web API client; pass a long-lived `session` to reuse connections."""
    s = rt.settings.section(SlackSettings)
    token = s.bot_token.get_secret_value() if s.bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=s.api_url,
        session=session,
        timeout=15,  # well inside the send lock (RUHEPULS_SEND_LOCK_SECONDS, 30 s): see bot.outreach.pump
        # no rate-limit retry handler: it would sleep out a Retry-After inside the request;
        # bot.slack.delivery and the worker wait through the shared limiter instead
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2)],
    )


def signing_secret(rt: Runtime) -> str:
    """The signing secret; without one (Socket Mode only) a random one refuses all HTTP."""
    s = rt.settings.section(SlackSettings).signing_secret
    return s.get_secret_value() if s else secrets.token_hex(16)
