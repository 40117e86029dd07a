"""Slack adapter: Slack payloads in, survey events to `flows`, Block Kit out.

Clicks replace the clicked message in place (through the click's `response_url`, `chat.update`
where there is none), so an answer is never echoed as a message of its own; everything else is
posted to the person's direct-message channel. Delivery respects Slack's rate limits without
making a request wait (bot.slack.delivery).
Requests are verified by `bot.web` (signature and timestamp) before bolt sees them; a re-delivered event is dropped by
the store's seen-event check, keyed on Slack's `event_id`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from classifier import Lang
from flows import events as ev
from flows import messages as msg

from ..admin import Admin, is_admin_command
from ..runtime import Runtime
from ..texts import say
from . import manifest_scopes
from .client import call, signing_secret, web_client
from .delivery import ANSWER_WITHIN, Delivery, Op, pacing
from .installs import RedisStates, Workspaces, address
from .leads import register_lead_actions
from .render import (
    ACTION_PREFIX,
    HOME_CLEAR,
    HOME_MOVE,
    home_view,
    payload,
)
from .settings import SlackSettings

log = logging.getLogger("ruhepuls.slack")


class SlackConversation:
    """Runs one inbound event through `flows` and delivers the answer to Slack."""

    def __init__(self, rt: Runtime, delivery: Delivery) -> None:
        self.rt = rt
        self.delivery = delivery

    async def handle(
        self,
        client: AsyncWebClient,
        *,
        team: str,
        user: str,
        channel: str,
        event: ev.Event,
        event_id: str | None = None,
        clicked_ts: str | None = None,
        response_url: str | None = None,
    ) -> None:
        lang = self.rt.settings.language
        person = self.rt.person("slack", f"{team}:{user}")
        by = asyncio.get_running_loop().time() + ANSWER_WITHIN
        handled = await self.rt.handle(
            "slack",
            person,
            event,
            event_id=event_id,
            lang=lang,
            reach=("slack", address(team, user)),
            watch=self.delivery.outbox.watch_key(person),
        )
        if handled.unavailable:  # said below the clicked question, which stays to be pressed again
            clicked_ts = response_url = None
        ops: list[Op] = []
        for m in handled.messages:  # the first message replaces the one that was clicked
            if isinstance(m, msg.Delete):
                if clicked_ts:
                    ops.append(Op("delete", channel, {}, clicked_ts, response_url))
            else:
                block_json, fallback = payload(m)
                fields = {"blocks": block_json, "text": fallback}
                if clicked_ts:
                    ops.append(Op("replace", channel, fields, clicked_ts, response_url))
                else:
                    ops.append(Op("post", channel, fields))
            clicked_ts = response_url = None
        await self.delivery.send(
            client, team, person, ops, by=by, waiting=handled.waiting, local=handled.unavailable
        )


def build_slack_app(
    rt: Runtime,
    session: aiohttp.ClientSession | None = None,
    delivery: Delivery | None = None,
    clients: Workspaces | None = None,
) -> AsyncApp:
    """The bolt app with Ruhepuls's listeners registered; with SLACK_CLIENT_ID and
    SLACK_CLIENT_SECRET, installed per workspace through bolt's OAuth flow (`clients`' store)."""
    s = rt.settings.section(SlackSettings)
    prefix = s.response_url_prefix
    signing = signing_secret(rt)
    flow = None
    if s.oauth and clients is not None and clients.store is not None:
        flow = AsyncOAuthFlow(
            client=web_client(rt, session),
            settings=AsyncOAuthSettings(
                client_id=s.client_id,
                client_secret=s.client_secret.get_secret_value() if s.client_secret else None,
                scopes=sorted(manifest_scopes()),
                redirect_uri=s.redirect_uri,
                installation_store=clients.store,
                installation_store_bot_only=True,
                state_store=RedisStates(rt.sessions),
                logger=logging.getLogger("slack_bolt"),
            ),
        )
    app = AsyncApp(
        client=web_client(rt, session),
        oauth_flow=flow,
        signing_secret=signing,
        # bot.web verifies every HTTP request before bolt parses it (bolt would parse first, and
        # a malformed body would become a 500); Socket Mode needs no signature.
        request_verification_enabled=False,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("slack_bolt"),
    )
    convo = SlackConversation(rt, delivery or Delivery(pacing(rt), session))
    if flow is not None:
        app.enable_token_revocation_listeners()  # app_uninstalled, tokens_revoked: the token goes

    @app.error
    async def on_error(error: Exception) -> BoltResponse:
        # A bug must not become a 500 (Slack would retry, the person sees an error): log where
        # it happened, without the exception text, which could quote a payload.
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb else "?"
        log.error("slack listener failed: %s at %s", type(error).__name__, where)
        return BoltResponse(status=200, body="")

    # First: bolt tries the listeners in the order they were added, building each one's
    # arguments, so the request that comes most (a click) matches at the first try.
    @app.action(re.compile(f"^{re.escape(ACTION_PREFIX)}"))
    async def on_click(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        event = ev.decode(action.get("value"))
        container = body.get("container") or {}
        user = (body.get("user") or {}).get("id")
        team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        ts = container.get("message_ts")
        if (
            event is None
            or not isinstance(user, str)
            or not isinstance(team, str)
            or not isinstance(channel, str)
            or not isinstance(ts, str)
        ):
            log.info("ignored a click that does not decode")
            return
        action_ts = action.get("action_ts")
        url = body.get("response_url")
        trusted = isinstance(url, str) and url.startswith(prefix)  # no other host
        await convo.handle(
            client,
            team=team,
            user=user,
            channel=channel,
            event=event,
            clicked_ts=ts,
            event_id=f"a{action_ts}" if isinstance(action_ts, str) else None,
            response_url=url if trusted and isinstance(url, str) else None,
        )

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        user, channel = event.get("user"), event.get("channel")
        team = body.get("team_id") or event.get("team")
        if not (isinstance(user, str) and isinstance(channel, str) and isinstance(team, str)):
            return
        text = event.get("text")
        await convo.handle(
            client,
            team=team,
            user=user,
            channel=channel,
            event=ev.Typed(text if isinstance(text, str) else ""),
            event_id=body.get("event_id") if isinstance(body.get("event_id"), str) else None,
        )

    @app.event("app_home_opened")
    async def on_home(ack: AsyncAck) -> None:
        await ack()

    @app.action(HOME_MOVE)
    async def on_move_home(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """The person moves their result out of the message history into the App Home: the
        result's blocks come from the clicked message itself (nothing of it was stored)."""
        await ack()
        user, team = (body.get("user") or {}).get("id"), (body.get("team") or {}).get("id")
        container, message = body.get("container") or {}, body.get("message") or {}
        channel, ts, blocks = container.get("channel_id"), container.get("message_ts"), message.get("blocks")
        url = body.get("response_url")
        if not all(isinstance(x, str) for x in (user, team, channel, ts)) or not isinstance(blocks, list):
            return
        lang: Lang = "en" if action.get("value") == "en" else "de"
        trusted = isinstance(url, str) and url.startswith(prefix)
        home = Op("home", str(channel), {"user_id": user, "view": home_view(blocks, lang)})
        gone = Op("delete", str(channel), {}, str(ts), url if trusted and isinstance(url, str) else None)
        await convo.delivery.send(client, str(team), rt.person("slack", f"{team}:{user}"), [home, gone])

    @app.action(HOME_CLEAR)
    async def on_clear_home(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user, team = (body.get("user") or {}).get("id"), (body.get("team") or {}).get("id")
        if not (isinstance(user, str) and isinstance(team, str)):
            return
        lang: Lang = "en" if action.get("value") == "en" else "de"
        home = Op("home", "", {"user_id": user, "view": home_view(None, lang)})
        await convo.delivery.send(client, team, rt.person("slack", f"{team}:{user}"), [home])

    admin = Admin(rt)
    register_lead_actions(app, rt, convo.delivery)

    @app.command("/ruhepuls")
    async def on_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        lang = rt.settings.language
        user, team, origin = command.get("user_id"), command.get("team_id"), command.get("channel_id")
        if not (isinstance(user, str) and isinstance(team, str)):
            await ack()
            return
        text = (command.get("text") or "").strip()
        if is_admin_command(text):  # answered only to the admin who asked (ephemeral)
            await ack(text=await admin.run(f"slack:{user}", text, lang))
            return
        opened = await call(client, "conversations_open", users=user)
        channel = ((opened or {}).get("channel") or {}).get("id")
        if not isinstance(channel, str):
            await ack(text=rt.conversations.config.texts.unavailable(lang))
            return
        if channel != origin:
            await ack(text=say("dm_sent", lang))
        else:
            await ack()
        await convo.handle(client, team=team, user=user, channel=channel, event=ev.Typed(text or "start"))

    return app
