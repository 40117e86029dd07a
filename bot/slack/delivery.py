"""Getting what the survey says onto a person's screen in Slack without ever making Slack wait.

- A click is answered through the interaction's `response_url` (`replace_original`), which is
  not a Web API method and shares no tier budget; `chat.update` is the fallback where there is no
  response URL, or it has expired.
- Every Web API call goes through the shared limiter (flows.limits): Tier 3 for `chat.update`
  and `chat.delete`, one message per second per channel for `chat.postMessage`. Inside a request
  a call is made only if its slot is free now; otherwise, and after a 429 (whose Retry-After
  blocks that workspace's method for everybody), the rest of the delivery waits in the person's
  own queue, so the next card never overtakes the previous one and the request returns at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows.limits import Limiter, Rate

log = logging.getLogger("ruhepuls.slack")

RATES: dict[str, Rate] = {
    "chat.update": Rate(50 / 60, burst=10),  # Tier 3
    "chat.delete": Rate(50 / 60, burst=10),  # Tier 3
    "chat.postMessage": Rate(1.0, burst=3),  # per channel, short bursts allowed
    "conversations.open": Rate(100 / 60, burst=20),  # Tier 4
}
PER_CHANNEL = frozenset({"chat.postMessage"})
RESPONSE_URL_TIMEOUT = 2.0
GIVE_UP_AFTER = 8
"""Attempts per operation (429s and network trouble) before it is dropped with a log line."""


@dataclass(frozen=True, slots=True)
class Op:
    """One thing to show: replace the clicked message, post a new one, or delete the clicked one."""

    kind: Literal["replace", "post", "delete"]
    channel: str
    fields: dict[str, Any]
    ts: str | None = None
    """The clicked message (replace, delete)."""
    response_url: str | None = None


class Delivery:
    def __init__(self, limiter: Limiter, session: aiohttp.ClientSession | None = None) -> None:
        self.limiter = limiter
        self._session = session
        self._queues: dict[str, deque[tuple[AsyncWebClient, str, Op]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, client: AsyncWebClient, workspace: str, person: str, ops: list[Op]) -> None:
        """Deliver in order: now where the budget allows, the rest from the person's queue."""
        queue = self._queues.get(person)
        if queue is not None:  # earlier cards still wait: these go behind them
            queue.extend((client, workspace, op) for op in ops)
            return
        for n, op in enumerate(ops):
            if not await self._attempt(client, workspace, op, inline=True):
                self._queues[person] = deque(
                    (client, workspace, o) for o in [*self._pending(op), *ops[n + 1 :]]
                )
                task = asyncio.create_task(self._drain(person))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return

    def _pending(self, op: Op) -> list[Op]:
        return [replace(op, response_url=None) if op.response_url and op.kind != "post" else op]

    async def _drain(self, person: str) -> None:
        queue = self._queues[person]
        try:
            while queue:
                client, workspace, op = queue[0]
                for _ in range(GIVE_UP_AFTER):
                    if await self._attempt(client, workspace, op, inline=False):
                        break
                else:
                    log.warning("slack delivery dropped after %d attempts", GIVE_UP_AFTER)
                queue.popleft()
        finally:
            self._queues.pop(person, None)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for queued deliveries (at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _attempt(self, client: AsyncWebClient, workspace: str, op: Op, *, inline: bool) -> bool:
        """True when done (or impossible for good); False when it must wait for the budget."""
        if op.response_url and op.kind != "post":
            if await self._respond(op):
                return True
            op = replace(op, response_url=None)  # expired or refused: the Web API instead
        method, kwargs = _web_call(op)
        rate = RATES.get(method, Rate(20 / 60, burst=5))
        bucket = self.limiter.bucket(
            "slack", workspace, method, op.channel if method in PER_CHANNEL else None
        )
        wait = await self.limiter.reserve(bucket, rate, only_if_free=inline)
        if wait > 0:
            if inline:
                return False
            await asyncio.sleep(wait)
        try:
            await getattr(client, method.replace(".", "_"))(**kwargs)
            return True
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
                await self.limiter.block(bucket, retry_after)
                log.info("slack %s rate limited for %.0f s", method, retry_after)
                if not inline:
                    await asyncio.sleep(retry_after)
                return False
            log.warning("slack %s failed: %s", method, exc.response.get("error", "unknown"))
            return True  # a permanent error: trying again changes nothing
        except Exception as exc:  # network trouble after the connection retries gave up
            log.warning("slack %s failed: %s", method, type(exc).__name__)
            return False

    async def _respond(self, op: Op) -> bool:
        body: dict[str, Any]
        if op.kind == "delete":
            body = {"delete_original": True}
        else:
            body = {"replace_original": True, **{k: v for k, v in op.fields.items() if k != "channel"}}
        session = self._session or aiohttp.ClientSession()
        try:
            async with session.post(
                op.response_url or "", json=body, timeout=aiohttp.ClientTimeout(total=RESPONSE_URL_TIMEOUT)
            ) as r:
                return r.status < 300
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return False
        finally:
            if self._session is None:
                await session.close()


def _web_call(op: Op) -> tuple[str, dict[str, Any]]:
    if op.kind == "delete":
        return "chat.delete", {"channel": op.channel, "ts": op.ts}
    if op.kind == "replace":
        return "chat.update", {"ts": op.ts, **op.fields, "channel": op.channel}
    return "chat.postMessage", {**op.fields, "channel": op.channel}
