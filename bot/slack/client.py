"""The Slack Web API client and the signing secret, made from Slack's settings."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from .settings import SlackSettings

if TYPE_CHECKING:
    from ..runtime import Runtime
    from .installs import Workspaces

log = logging.getLogger("ruhepuls.slack")


async def call(client: AsyncWebClient, method: str, **kwargs: Any) -> dict[str, Any] | None:
    """One Web API call made while answering a person (`method` as the client names it); a
    refusal or network trouble is logged by method and error code only, never the content,
    and gives None."""
    try:
        response = await getattr(client, method)(**kwargs)
        return dict(response.data) if isinstance(response.data, dict) else None
    except SlackApiError as exc:
        log.warning("slack %s failed: %s", method, exc.response.get("error", "unknown"))
    except Exception as exc:  # network trouble after the retry handlers gave up
        log.warning("slack %s failed: %s", method, type(exc).__name__)
    return None


def web_client(rt: Runtime, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """The Web API client; pass a long-lived `session` to reuse connections."""
    s = rt.settings.section(SlackSettings)
    token = s.bot_token.get_secret_value() if s.bot_token and not s.oauth else None  # OAuth: per workspace
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


def workspaces(rt: Runtime, session: aiohttp.ClientSession | None = None) -> Workspaces:
    """Each workspace's Web API client: the OAuth installations' tokens when SLACK_CLIENT_ID and
    SLACK_CLIENT_SECRET are set, else SLACK_BOT_TOKEN for the one workspace."""
    from .installs import RedisInstallations, Workspaces

    s = rt.settings.section(SlackSettings)
    store = RedisInstallations(rt.redis, rt.secret) if s.oauth else None
    return Workspaces(web_client(rt, session), store)
