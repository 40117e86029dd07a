"""Small background chores that live as long as a context: run a step every few seconds, and
stop it cleanly when the context closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger("ruhepuls.background")


@contextlib.asynccontextmanager
async def repeating(
    step: Callable[[], Awaitable[object]], every: float, name: str, *, wait_first: bool = False
) -> AsyncIterator[None]:
    """While open, run `step` every `every` seconds (after waiting once if `wait_first`). A step
    that fails (Redis or a platform away for a moment) is logged by its error type and tried
    again on the next round."""

    async def loop() -> None:
        if wait_first:
            await asyncio.sleep(every)
        while True:
            try:
                await step()
            except Exception as exc:
                log.warning("%s failed: %s", name, type(exc).__name__)
            await asyncio.sleep(every)

    task = asyncio.create_task(loop(), name=f"ruhepuls-{name}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
