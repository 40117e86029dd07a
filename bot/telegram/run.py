"""`ruhepuls telegram set-webhook URL` and `ruhepuls telegram poll`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator

from telegram import Update

from ..runtime import Runtime, runtime
from ..settings import Settings
from .app import build_telegram_app
from .outreach import sweeping
from .settings import TelegramSettings

log = logging.getLogger("ruhepuls.telegram")


def set_webhook(settings: Settings, url: str) -> None:
    """Register the webhook with the secret token, once at deploy time."""
    secret = settings.section(TelegramSettings).webhook_secret
    if secret is None:
        sys.exit("ruhepuls: set TELEGRAM_WEBHOOK_SECRET first (letters, digits, _ and -)")

    async def main() -> None:
        async with runtime(settings) as rt:
            app = build_telegram_app(rt)
            async with app:
                await app.bot.set_webhook(
                    url,
                    secret_token=secret.get_secret_value(),
                    allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
                )
        print(f"webhook set: {url}")

    asyncio.run(main())


@contextlib.asynccontextmanager
async def polling(rt: Runtime) -> AsyncIterator[None]:
    """Run Telegram by long polling while the context is open (removes any webhook first)."""
    app = build_telegram_app(rt, polling=True)
    async with app:
        await app.bot.delete_webhook()
        assert app.updater is not None
        await app.updater.start_polling(allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY])
        await app.start()
        log.info("telegram polling")
        try:
            async with sweeping(rt, app.bot), app.bot_data["outbox"].recovering():
                yield
        finally:
            await app.bot_data["outbox"].drain()  # cards behind a 429 go out before we stop
            await app.updater.stop()
            await app.stop()


SHUTDOWN_SECONDS = 20
"""The longest `telegram poll` takes to stop after SIGTERM (the outbox drains within 10 s)."""


def poll(settings: Settings) -> None:
    """Run by long polling, for machines without a public URL (removes any webhook first)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stack = contextlib.AsyncExitStack()
        try:
            rt = await stack.enter_async_context(runtime(settings))
            await stack.enter_async_context(polling(rt))
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal ends it at once
                loop.add_signal_handler(sig, lambda: os._exit(1))
            try:  # outbox drained (10 s at most), polling stopped, Redis closed: bounded
                await asyncio.wait_for(stack.aclose(), SHUTDOWN_SECONDS)
            except TimeoutError:
                log.error("telegram poll: shutdown took longer than %d s, ended", SHUTDOWN_SECONDS)
                os._exit(1)

    asyncio.run(main())
