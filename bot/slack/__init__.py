"""Slack: inbound conversion, outbound rendering, handler registration (slack-bolt)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import time
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..platform import MALFORMED, Check, Outreach, Platform, webhook
from ..settings import Settings
from .settings import SlackSettings

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["PLATFORM"]
log = logging.getLogger("ruhepuls.web")


def signed(request: Request, body: bytes, secret: bytes) -> bool:
    """Slack's HMAC-SHA256 signature over the raw bytes `v0:{timestamp}:{body}`, at most 5
    minutes old, compared in constant time. Nothing is decoded before it holds."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if (
        not re.fullmatch(r"[0-9]{1,12}", timestamp) or not signature.isascii()
    ):  # ASCII digits: "²" is a digit too
        return False
    if abs(time.time() - int(timestamp)) > 300:
        return False
    mac = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest(f"v0={mac.hexdigest()}".encode(), signature.encode())


class Slack(Platform):
    name = "slack"
    settings = SlackSettings
    token_shapes = (
        re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+"),  # bot, user and refresh tokens
        re.compile(r"\bxapp-[A-Za-z0-9-]+"),  # the Socket Mode app token
        re.compile(r"(?i)\b(x-slack-signature)(['\":= ]+)[^'\",\s]+"),
    )
    loggers = ("slack_sdk", "slack_bolt")

    def findings(self, settings: Settings) -> list[Check]:
        s = settings.section(SlackSettings)
        if s.bot_token and not s.enabled:
            return [
                Check(
                    False,
                    "SLACK_BOT_TOKEN is set but Slack is off",
                    "set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)",
                )
            ]
        return []

    async def receive(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> APIRouter | None:
        import aiohttp
        from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response

        from flows.limits import Limiter

        from .app import build_slack_app
        from .client import signing_secret, web_client
        from .delivery import Delivery

        session = aiohttp.ClientSession()  # one connection pool to the Web API for the app's life
        stack.push_async_callback(session.close)
        delivery = Delivery(Limiter(rt.sessions, rt.secret), session, rt.sessions, web_client(rt, session))
        stack.push_async_callback(delivery.drain)  # queued cards go out before the session closes
        await stack.enter_async_context(delivery.recovering())  # queues a killed process left
        bolt = build_slack_app(rt, session, delivery)
        secret = signing_secret(rt).encode()
        app_token = rt.settings.section(SlackSettings).app_token
        if app_token:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            socket = AsyncSocketModeHandler(bolt, app_token.get_secret_value())
            await socket.connect_async()  # type: ignore[no-untyped-call]
            stack.push_async_callback(socket.close_async)
            log.info("slack socket mode connected")

        async def events(request: Request, body: bytes) -> Response:
            if not signed(request, body, secret):  # over the raw bytes: nothing is decoded before
                return JSONResponse({"error": "invalid signature"}, status_code=401)
            try:
                response = to_starlette_response(
                    await bolt.async_dispatch(to_async_bolt_request(request, body))
                )
            except MALFORMED:
                log.info("slack request not understood")
                return JSONResponse({"error": "malformed request"}, status_code=400)
            if request.headers.get("x-slack-retry-num"):
                # Processing a retry is safe (the store drops an event id it has seen); tell
                # Slack to stop retrying either way.
                response.headers["x-slack-no-retry"] = "1"
            return response

        return webhook("/slack/events", events)

    async def check(self, rt: Runtime) -> list[Check]:
        return await _check(rt)

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        import aiohttp

        from .client import web_client
        from .outreach import SlackOutreach

        session = await stack.enter_async_context(aiohttp.ClientSession())
        return SlackOutreach(rt, web_client(rt, session))


def manifest_scopes() -> frozenset[str]:
    """The bot scopes the app manifest asks for: read from bot/slack/manifest.yaml, the one
    place they are written (the Socket Mode manifest must ask for the same)."""
    from importlib import resources

    from classifier.text import read_yaml

    raw = read_yaml(resources.files(__package__).joinpath("manifest.yaml").read_text("utf-8"))
    return frozenset(raw["oauth_config"]["scopes"]["bot"])


async def _check(rt: Runtime) -> list[Check]:
    from slack_sdk.errors import SlackApiError

    from .client import web_client

    try:
        auth = await web_client(rt).auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown")
        return [
            Check(
                False,
                f"Slack refuses SLACK_BOT_TOKEN ({error})",
                "copy the Bot User OAuth Token (xoxb-…) again from the app's Install App page",
            )
        ]
    except Exception as exc:
        return [Check(False, f"Slack's Web API is not reachable ({type(exc).__name__})", "check the network")]
    out = [Check(True, "Slack accepts SLACK_BOT_TOKEN")]
    granted = {s.strip() for s in str(auth.headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
    missing = sorted(manifest_scopes() - granted) if granted else []
    if missing:
        out.append(
            Check(
                False,
                f"the Slack app lacks the scopes {', '.join(missing)}",
                "add them under OAuth & Permissions (or recreate the app from bot/slack/manifest.yaml) and reinstall",
            )
        )
    elif granted:
        out.append(Check(True, "the Slack app has every scope the manifest asks for"))
    s = rt.settings.section(SlackSettings)
    if not s.signing_secret and not s.app_token:
        out.append(
            Check(
                False,
                "Slack is not reachable for events",
                "set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN",
            )
        )
    return out


PLATFORM = Slack()
