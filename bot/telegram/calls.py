"""One Bot API call, as every Telegram send makes it: counted, failures logged without content,
and a 429 never waited out inside a request (it is deferred to the chat's queue, or waited out
exactly there)."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import Any

from telegram.error import Forbidden, RetryAfter, TelegramError

from ..metrics import API_CALLS
from ..outbox import QUEUE_TTL
from ..retry import Wait, retrying

log = logging.getLogger("ruhepuls.telegram")

GIVE_UP_AFTER = 5


class RetryLater(Exception):
    """Telegram asked us to wait (429): the rest of this chat's delivery goes to its queue."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


async def call(coro_factory: Any, what: str, *, inline: bool = True, defer: bool = False) -> Any:
    """One Bot API call; failures are logged without content. A request never waits out a 429:
    inline, it raises RetryLater when `defer` (the caller queues the rest), else gives this call up;
    from a queue (`inline=False`) it waits exactly the retry_after, a few times at most
    (`bot.retry`)."""

    async def once(n: int) -> Any:
        try:
            result = await coro_factory()
        except RetryAfter as exc:
            API_CALLS.labels("telegram", what, "429").inc()
            with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
                warnings.simplefilter("ignore")
                raw = exc.retry_after
            delay = raw.total_seconds() if isinstance(raw, timedelta) else float(raw)
            log.info("telegram %s rate limited for %.0f s", what, delay)
            if inline and defer:
                raise RetryLater(delay) from None
            return None if inline else Wait(delay)
        except Forbidden:
            API_CALLS.labels("telegram", what, "403").inc()
            log.info("telegram %s refused: the bot is blocked", what)
            return None
        except TelegramError as exc:
            API_CALLS.labels("telegram", what, "error").inc()
            log.warning("telegram %s failed: %s", what, type(exc).__name__)
            return None
        API_CALLS.labels("telegram", what, "ok").inc()
        return result

    outcome = await retrying(once, GIVE_UP_AFTER, cap=QUEUE_TTL)  # Telegram's wait, however long
    if isinstance(outcome, Wait):
        log.warning("telegram %s given up after %d rate limits", what, GIVE_UP_AFTER)
        return None
    return outcome
