"""Telegram: inbound conversion, outbound rendering, handler registration (python-telegram-bot)."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..platform import MALFORMED, Check, Outreach, webhook
from ..settings import Settings
from .app import build_telegram_app

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["PLATFORM", "build_telegram_app"]
log = logging.getLogger("ruhepuls.web")


class Telegram:
    name = "telegram"

    def enabled(self, settings: Settings) -> bool:
        return settings.telegram_enabled

    async def receive(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> APIRouter | None:
        from telegram import Update

        secret = rt.settings.telegram_webhook_secret
        if secret is None:  # no webhook without its secret: poll instead
            from .run import polling

            await stack.enter_async_context(polling(rt))
            return None
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

        s = rt.settings
        assert s.telegram_bot_token is not None
        try:
            async with Bot(s.telegram_bot_token.get_secret_value(), base_url=s.telegram_api_url) as bot:
                out = [Check(True, "Telegram accepts TELEGRAM_BOT_TOKEN")]
                if s.telegram_webhook_secret is None:
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
            out.append(Check(False, "no Telegram webhook is registered",
                             "run `ruhepuls telegram set-webhook https://your.host/telegram/webhook`"))  # fmt: skip
        elif info.last_error_message:
            out.append(Check(False, "Telegram could not deliver to the webhook lately",
                             "check that the URL reaches `ruhepuls serve` and that the secret matches"))  # fmt: skip
        else:
            out.append(Check(True, "the Telegram webhook is registered and delivers"))
        return out

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        from telegram import Bot

        from .outreach import TelegramOutreach

        s = rt.settings
        assert s.telegram_bot_token is not None
        bot = Bot(s.telegram_bot_token.get_secret_value(), base_url=s.telegram_api_url)
        await stack.enter_async_context(bot)
        return TelegramOutreach(rt, bot)


PLATFORM = Telegram()
