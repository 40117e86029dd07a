"""One retry loop for every platform call that may be refused for a while.

A platform's attempt says what became of one try: a result, or `Wait` (try again after this
many seconds: the platform's Retry-After, or a growing pause for passing trouble). The loop
sleeps what is asked (never more than `MAX_WAIT`) and gives up after a few tries, returning the
last `Wait`, so the caller decides what giving up means (drop the card, raise, log).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

MAX_WAIT = 60.0
"""The longest pause between two tries (a larger Retry-After is waited in several tries)."""


@dataclass(frozen=True, slots=True)
class Wait:
    """Not this time: try again after `seconds`."""

    seconds: float


def retry_after(value: object, default: float, cap: float | None = MAX_WAIT) -> float:
    """A Retry-After header's seconds (at most `cap`), or `default` when there is none or it
    does not read as a number."""
    try:
        seconds = max(0.0, float(value)) if value not in (None, "") else default  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return seconds if cap is None else min(cap, seconds)


async def retrying(
    attempt: Callable[[int], Awaitable[T | Wait]], tries: int, *, cap: float = MAX_WAIT
) -> T | Wait:
    """`attempt(n)` for n = 0, 1, … until it returns something other than a `Wait`, sleeping
    what each `Wait` asks (at most `cap` seconds) in between; after `tries` attempts the last
    `Wait` (given up)."""
    outcome: T | Wait = Wait(0.0)
    for n in range(tries):
        outcome = await attempt(n)
        if not isinstance(outcome, Wait):
            return outcome
        if n < tries - 1:
            await asyncio.sleep(min(cap, max(0.0, outcome.seconds)))
    return outcome
