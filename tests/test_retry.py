"""The one retry loop every platform's calls share (bot.retry)."""

from __future__ import annotations

import asyncio

from bot.retry import MAX_WAIT, Wait, retry_after, retrying


def test_retry_after_reads_the_header_and_bounds_it() -> None:
    assert retry_after("7", 1.0) == 7.0
    assert retry_after(None, 1.5) == 1.5 and retry_after("", 1.5) == 1.5
    assert retry_after("soon", 2.0) == 2.0, "a header that is no number: the default"
    assert retry_after("-3", 1.0) == 0.0
    assert retry_after("3600", 1.0) == MAX_WAIT
    assert retry_after("3600", 1.0, cap=None) == 3600.0, "what a limiter must block, uncapped"


async def test_retrying_waits_what_is_asked_and_gives_up_after_its_tries() -> None:
    asked: list[int] = []

    async def twice_busy(n: int) -> str | Wait:
        asked.append(n)
        return Wait(0.01) if n < 2 else "done"

    assert await retrying(twice_busy, 5) == "done" and asked == [0, 1, 2]

    tried: list[int] = []

    async def always_busy(n: int) -> str | Wait:
        tried.append(n)
        return Wait(0.01)

    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await retrying(always_busy, 3)
    assert isinstance(outcome, Wait) and tried == [0, 1, 2]
    assert loop.time() - started >= 0.02, "it slept between the tries (not after the last)"
