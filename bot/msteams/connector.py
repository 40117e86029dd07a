"""Calls to the Teams connector (Bot Framework's REST service), each through the one retry loop:
a 429 waits its Retry-After, 5xx and network trouble back off, 403 and 404 are final."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from ..metrics import API_CALLS
from ..retry import Wait, retry_after, retrying

log = logging.getLogger("ruhepuls.teams")

T = TypeVar("T")
GIVE_UP_AFTER = 5


class Unreachable(Exception):
    """The Teams service refused for good (403: the bot is blocked or not installed; 404)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


async def call(what: str, make: Callable[[], Awaitable[T]], attempts: int = GIVE_UP_AFTER) -> T:
    """One connector call; 429 waits its Retry-After, 5xx and network trouble back off, both a
    few times at most (`bot.retry`); 403 and 404 raise Unreachable at once. Logged by status
    only."""

    async def once(n: int) -> T | Wait:
        try:
            result = await make()
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            API_CALLS.labels("teams", what, str(status)).inc()
            if status != 429 and status < 500:
                log.info("teams %s refused: %d", what, status)
                raise Unreachable(status) from None
            wait = retry_after(exc.response.headers.get("retry-after"), 2.0**n) if status == 429 else 2.0**n
            log.info("teams %s: %d, again in %.0f s", what, status, wait)
            return Wait(wait)
        except httpx.HTTPError as exc:
            API_CALLS.labels("teams", what, "network").inc()
            log.info("teams %s failed: %s", what, type(exc).__name__)
            return Wait(2.0**n)
        API_CALLS.labels("teams", what, "ok").inc()
        return result

    outcome = await retrying(once, attempts)
    if isinstance(outcome, Wait):
        raise TimeoutError(f"teams {what} given up")
    return outcome
