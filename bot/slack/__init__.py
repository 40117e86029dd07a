"""Slack: inbound conversion, outbound rendering, handler registration (slack-bolt)."""

from __future__ import annotations

import argparse
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
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from classifier import Lang
    from classifier.text import TextCatalog
    from flows.teams import Team

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

        from .app import build_slack_app
        from .client import signing_secret, workspaces
        from .delivery import Delivery, pacing

        session = aiohttp.ClientSession()  # one connection pool to the Web API for the app's life
        stack.push_async_callback(session.close)
        clients = workspaces(rt, session)
        delivery = Delivery(pacing(rt), session, rt.sessions, clients)
        stack.push_async_callback(delivery.drain)  # queued cards go out before the session closes
        await stack.enter_async_context(delivery.recovering())  # queues a killed process left
        bolt = build_slack_app(rt, session, delivery, clients)
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

        router = webhook("/slack/events", events)
        if bolt.oauth_flow is not None:
            add_install_routes(router, bolt)
        return router

    async def check(self, rt: Runtime) -> list[Check]:
        return await _check(rt)

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        import aiohttp

        from .client import workspaces
        from .outreach import SlackOutreach

        session = await stack.enter_async_context(aiohttp.ClientSession())
        return SlackOutreach(rt, workspaces(rt, session))

    def texts(self) -> TextCatalog:
        from .texts import slack_texts

        return slack_texts()

    async def unreachable(self, rt: Runtime, team: Team, lang: Lang) -> str | None:
        """With OAuth installs: the app must be installed in the team's workspace, and a team
        must say which workspace when there are several."""
        if not rt.settings.section(SlackSettings).oauth:
            return None
        from .client import workspaces
        from .texts import say

        clients = workspaces(rt)
        if await clients.seat(team.workspace) is not None:
            return None
        installed = await clients.installed()
        if team.workspace is None and len(installed) > 1:
            return say("which_workspace", lang, team=team.id, count=len(installed))
        where = team.workspace or "?"
        return say("not_installed", lang, team=team.id, workspace=where, install=install_url(rt))

    async def notes(self, rt: Runtime, team: Team, lang: Lang) -> list[str]:
        why = await self.unreachable(rt, team, lang)
        return [why] if why else []

    def commands(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        verbs = sub.add_parser("slack", help="Slack: the workspaces the app is installed in (OAuth installs)")
        vsub = verbs.add_subparsers(dest="slack_command", required=True)
        vsub.add_parser(
            "workspaces", help="list the workspaces (and Enterprise Grid organisations) with their ids"
        )

    def run(self, settings: Settings, args: argparse.Namespace) -> None:
        import asyncio

        from ..runtime import runtime
        from .client import workspaces

        async def main() -> str:
            async with runtime(settings) as rt:
                if not settings.section(SlackSettings).oauth:
                    return "one workspace, with SLACK_BOT_TOKEN (set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install in several)"
                rows = [
                    f"{b.team_id or '-'}  {b.team_name or ''}  "
                    + (f"organisation {b.enterprise_id} (org-wide)" if b.is_enterprise_install else "")
                    for b in sorted(await workspaces(rt).installed(), key=lambda b: b.team_id or "")
                ]
                return "\n".join(rows) or f"installed nowhere yet: open {install_url(rt)}"

        print(asyncio.run(main()))


def manifest_scopes() -> frozenset[str]:
    """The bot scopes the app manifest asks for: read from bot/slack/manifest.yaml, the one
    place they are written (the Socket Mode manifest must ask for the same)."""
    from importlib import resources

    from classifier.text import read_yaml

    raw = read_yaml(resources.files(__package__).joinpath("manifest.yaml").read_text("utf-8"))
    return frozenset(raw["oauth_config"]["scopes"]["bot"])


async def _check(rt: Runtime) -> list[Check]:
    from .client import web_client, workspaces

    s = rt.settings.section(SlackSettings)
    out: list[Check] = []
    if s.oauth:
        clients = workspaces(rt)
        installed = await clients.installed()
        if not installed:
            out.append(Check(False, "Slack is installed in no workspace yet", f"open {install_url(rt)}"))
        for bot in installed:
            client = clients.with_token(bot.bot_token)
            out += await _token_checks(client, f"the installation in {bot.team_id or bot.enterprise_id}")
    else:
        out += await _token_checks(web_client(rt), "SLACK_BOT_TOKEN")
    if not s.signing_secret and not s.app_token:
        out.append(
            Check(
                False,
                "Slack is not reachable for events",
                "set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN",
            )
        )
    return out


async def _token_checks(client: AsyncWebClient, what: str) -> list[Check]:
    """Whether Slack accepts a token, and whether it has every scope the manifest asks for."""
    from slack_sdk.errors import SlackApiError

    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown")
        return [
            Check(
                False,
                f"Slack refuses {what} ({error})",
                "copy the Bot User OAuth Token (xoxb-…) again from the app's Install App page, or install again",
            )
        ]
    except Exception as exc:
        return [Check(False, f"Slack's Web API is not reachable ({type(exc).__name__})", "check the network")]
    out = [Check(True, f"Slack accepts {what}")]
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
    return out


def install_url(rt: Runtime) -> str:
    return f"{rt.settings.base_url}/slack/install"


def add_install_routes(router: APIRouter, bolt: AsyncApp) -> None:
    """`GET /slack/install` (the page with "Add to Slack", which sets the state cookie) and
    `GET /slack/oauth_redirect` (Slack sends the installer back with a code), run by bolt's
    OAuth flow: the code is exchanged for the workspace's token and kept (bot.slack.installs)."""
    from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response

    flow = bolt.oauth_flow
    assert flow is not None

    async def install(request: Request) -> Response:
        return to_starlette_response(await flow.handle_installation(to_async_bolt_request(request, b"")))

    async def redirect(request: Request) -> Response:
        return to_starlette_response(await flow.handle_callback(to_async_bolt_request(request, b"")))

    router.add_api_route(flow.install_path, install, methods=["GET"])
    router.add_api_route(flow.redirect_uri_path, redirect, methods=["GET"])


PLATFORM = Slack()
