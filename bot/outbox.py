"""Deliveries that wait after the request: per conversation in order, one task per busy
conversation, so a rate limit or a slow platform never holds a request (Telegram after a 429,
Teams for every card that is not the answer to a press)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence

log = logging.getLogger("ruhepuls.outbox")

Send = Callable[[], Awaitable[None]]


class Outbox:
    def __init__(self, platform: str, quiet: tuple[type[Exception], ...] = ()) -> None:
        """`quiet`: failures the sends log themselves (the rest are logged here, by type)."""
        self.platform, self.quiet = platform, quiet
        self._queues: dict[Hashable, deque[Send]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def busy(self, conversation: Hashable) -> bool:
        """Is something still waiting for this conversation (so new sends must queue behind)?"""
        return conversation in self._queues

    def put(self, conversation: Hashable, sends: Sequence[Send], delay: float = 0.0) -> None:
        """Queue `sends` behind whatever waits for the conversation; a new queue starts after
        `delay` seconds (a platform's Retry-After)."""
        if not sends:
            return
        queue = self._queues.get(conversation)
        if queue is not None:
            queue.extend(sends)
            return
        self._queues[conversation] = queue = deque(sends)
        task = asyncio.create_task(self._drain(conversation, queue, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, conversation: Hashable, queue: deque[Send], delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            while queue:
                send = queue.popleft()
                try:
                    await send()
                except self.quiet:
                    pass
                except Exception as exc:  # one failed send must not drop the ones behind it
                    log.error("%s delivery failed: %s", self.platform, type(exc).__name__)
        finally:
            self._queues.pop(conversation, None)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for everything queued (at shutdown), `timeout` seconds at most."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(list(self._tasks), timeout=max(0.0, deadline - loop.time()))
        if self._tasks:
            log.warning("%s deliveries still waiting at shutdown: %d", self.platform, len(self._queues))
