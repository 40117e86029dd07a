"""The worker: scheduled and queued work (invitations, reminders, summaries).

Survey rounds and summaries are not built yet; until then the worker only proves its Redis
connection and idles, so that the Procfile's worker line already runs.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from .runtime import runtime
from .settings import Settings

log = logging.getLogger("ruhepuls.worker")


def run_worker(settings: Settings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with runtime(settings) as rt:
            await rt.redis.ping()
            log.info("worker ready; no scheduled work yet")
            await stop.wait()

    asyncio.run(main())
