"""Telegram: inbound conversion, outbound rendering, handler registration (python-telegram-bot)."""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import logging
import re
import sys
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from classifier import Lang
from flows.teams import Team

from ..platform import MALFORMED, Check, Outreach, Platform, webhook
from ..settings import Settings
from .settings import TelegramSettings

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["PLATFORM"]
log = logging.getLogger("ruhepuls.web")
_USERNAMES: dict[tuple[str, str], str] = {}
"""The bot's username by (API URL, token), once Telegram said it (it changes only with the bot)."""


class Telegram(Platform):
    name = "telegram"
    settings = TelegramSettings
    token_shapes = (
        re.compile(r"bot\d+:[A-Za-z0-9_-]{10,}"),  # the bot token inside a Bot API URL
        re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{30,}"),  # the bot token on its own
        re.compile(r"(?i)\b(x-telegram-bot-api-secret-token)(['\":= ]+)[^'\",\s]+"),
    )
    loggers = ("telegram",)
    joins_by_link = True  # a bot cannot read a group's members

    def findings(self, settings: Settings) -> list[Check]:
        s = settings.section(TelegramSettings)
        if s.enabled and settings.public and not s.webhook_secret:
            return [
                Check(
                    False,
                    "Telegram on a public HOST without TELEGRAM_WEBHOOK_SECRET polls instead",
                    "set TELEGRAM_WEBHOOK_SECRET and run `ruhepuls telegram set-webhook`",
                )
            ]
        return []

    async def notes(self, rt: Runtime, team: Team, lang: Lang) -> list[str]:
        if not team.join_code:
            return []
        return [f"members join with the link {await self.join_url(rt, team.join_code)}"]

    async def join_url(self, rt: Runtime, code: str) -> str:
        """The bot's own link (its username asked of Telegram); `<your_bot>` where that cannot be
        asked (no TELEGRAM_BOT_TOKEN here, Telegram unreachable)."""
        return f"https://t.me/{await self._username(rt.settings) or '<your_bot>'}?start={code}"

    async def _username(self, settings: Settings) -> str | None:
        """The bot's username, asked of Telegram once per process (`--personal 25` makes 25 links)."""
        from telegram import Bot
        from telegram.error import TelegramError

        s = settings.section(TelegramSettings)
        if s.bot_token is None:
            return None
        token = s.bot_token.get_secret_value()
        if (known := _USERNAMES.get((s.api_url, token))) is not None:
            return known
        try:
            async with Bot(token, base_url=s.api_url) as bot:  # getMe
                _USERNAMES[(s.api_url, token)] = name = str(bot.username)
                return name
        except TelegramError as exc:
            log.info("telegram username not asked: %s", type(exc).__name__)
            return None

    def commands(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        verbs = sub.add_parser("telegram", help="Telegram: register the webhook, or run by long polling")
        verb = verbs.add_subparsers(dest="telegram_command", required=True)
        hook = verb.add_parser(
            "set-webhook", help="register URL (ending in /telegram/webhook) once at deploy time"
        )
        hook.add_argument("url")
        verb.add_parser("poll", help="run the bot by long polling (no public URL needed)")

    def run(self, settings: Settings, args: argparse.Namespace) -> None:
        from .run import poll, set_webhook

        if not self.enabled(settings):
            sys.exit("ruhepuls: set TELEGRAM_BOT_TOKEN first")
        if args.telegram_command == "set-webhook":
            set_webhook(settings, args.url)
        else:
            poll(settings)

    async def receive(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> APIRouter | None:
        from telegram import Update

        secret = rt.settings.section(TelegramSettings).webhook_secret
        if secret is None:  # no webhook without its secret: poll instead
            from .run import polling

            await stack.enter_async_context(polling(rt))
            return None
        from .app import build_telegram_app
        from .outreach import sweeping

        app = build_telegram_app(rt)
        await app.initialize()  # getMe
        stack.push_async_callback(app.shutdown)
        stack.push_async_callback(app.bot_data["outbox"].drain)  # cards behind a 429 go out first
        await stack.enter_async_context(app.bot_data["outbox"].recovering())  # a killed process's queues
        await stack.enter_async_context(sweeping(rt, app.bot))
        expected = secret.get_secret_value().encode()

        async def admit(request: Request) -> Response | None:
            given = request.headers.get("x-telegram-bot-api-secret-token", "")
            if not hmac.compare_digest(given.encode(), expected):
                return JSONResponse({"error": "wrong secret token"}, status_code=403)
            return None

        async def on_update(request: Request, body: bytes) -> Response:
            try:
                data = json.loads(body)
                if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                    raise ValueError("not an update")
                update = Update.de_json(data, app.bot)
                for who in (update.effective_chat, update.effective_user):  # ids Telegram sends as numbers
                    if who is not None and (not isinstance(who.id, int) or isinstance(who.id, bool)):
                        raise TypeError("an id that is not a number")
            except MALFORMED:
                log.info("telegram update not understood")
                return JSONResponse({"error": "malformed update"}, status_code=400)
            await app.process_update(update)  # handler errors go to its error handler
            return JSONResponse({})

        return webhook("/telegram/webhook", on_update, admit)

    async def check(self, rt: Runtime) -> list[Check]:
        from telegram import Bot
        from telegram.error import InvalidToken, TelegramError

        s = rt.settings.section(TelegramSettings)
        assert s.bot_token is not None
        try:
            async with Bot(s.bot_token.get_secret_value(), base_url=s.api_url) as bot:
                out = [Check(True, "Telegram accepts TELEGRAM_BOT_TOKEN")]
                if s.webhook_secret is None:
                    return [*out, Check(True, "Telegram runs by polling (no TELEGRAM_WEBHOOK_SECRET)")]
                info = await bot.get_webhook_info()
        except InvalidToken:
            return [
                Check(False, "Telegram refuses TELEGRAM_BOT_TOKEN", "copy the token from @BotFather again")
            ]
        except TelegramError as exc:
            return [
                Check(
                    False,
                    f"Telegram's Bot API answers {type(exc).__name__}",
                    "check the token and the network",
                )
            ]
        if not info.url:
            out.append(
                Check(
                    False,
                    "no Telegram webhook is registered",
                    "run `ruhepuls telegram set-webhook https://your.host/telegram/webhook`",
                )
            )
        elif info.last_error_message:
            out.append(
                Check(
                    False,
                    "Telegram could not deliver to the webhook lately",
                    "check that the URL reaches `ruhepuls serve` and that the secret matches",
                )
            )
        else:
            out.append(Check(True, "the Telegram webhook is registered and delivers"))
        return out

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        from telegram import Bot

        from .outreach import TelegramOutreach

        s = rt.settings.section(TelegramSettings)
        assert s.bot_token is not None
        bot = Bot(s.bot_token.get_secret_value(), base_url=s.api_url)
        await stack.enter_async_context(bot)
        return TelegramOutreach(rt, bot)


PLATFORM = Telegram()
