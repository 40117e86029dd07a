"""What a person is to see next, kept until it is on their screen: one queue per person (or
conversation), delivered in order by one process at a time, so a rate limit or a slow platform
never holds a request and a killed process loses nothing.

- With `redis` (the sessions Redis, memory only) a queue lives there: the request pushes its
  cards before it acks, and whichever process takes the queue's lock delivers them in order. A
  card waiting out a 429 survives a killed or restarted process: every process looks for queues
  nobody drains (`recovering`) and takes them over. A card waits QUEUE_TTL seconds at most.
- Pushing a card and taking the queue is one script, finishing it another: two round trips per
  click. The queue, its lock and the set that lists waiting queues share one hash tag (one of
  sixteen per platform, by the pseudonym's first digit), so the scripts run on a Redis Cluster.
- Without Redis, or while it is away, the queue is kept in the process.

A card is a JSON object the platform's `deliver` understands; `"at"` (epoch seconds) holds it
back until then (a platform's Retry-After). `deliver` waits out rate limits and retries itself;
an exception it raises drops that card (logged by type) and never the ones behind it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from flows import keys
from flows.store import REDIS_DOWN

from .background import repeating

log = logging.getLogger("ruhepuls.outbox")

Card = dict[str, Any]
Deliver = Callable[[Card], Awaitable[None]]

QUEUE_TTL = 600
"""Seconds a card may wait (after that the screen has moved on)."""
LOCK_MS = 6_000
"""A queue's drainer holds it this long and renews it every third of it while it lives; a
killed one's queue is taken over by another process after this (and at most RECOVER_SECONDS
more): the card a person waits for is late by seconds, not a quarter of a minute."""
RECOVER_SECONDS = 5.0

_PUSH = """
-- KEYS[1] queue, KEYS[2] its lock, KEYS[3] the set of waiting queues (one hash tag);
-- ARGV[1] ttl, ARGV[2] token, ARGV[3] lock ms, ARGV[4] the queue's id, ARGV[5..] cards.
-- Returns {1, head} when this caller now drains the queue, {0} when another drainer holds it
-- (and delivers these after its own).
for i = 5, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[4])
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  return {1, redis.call('LINDEX', KEYS[1], 0)}
end
return {0}
"""
_NEXT = """
-- KEYS as _PUSH; ARGV[1] token, ARGV[2] lock ms, ARGV[3] '1' to drop the delivered head first,
-- ARGV[4] the queue's id. Returns {0} when the lock is no longer ours, {1} when the queue is
-- empty (lock released, the queue struck from the set), else {2, the next card}.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {0} end
if ARGV[3] == '1' then redis.call('LPOP', KEYS[1]) end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[4])
  return {1}
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {2, head}
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class Outbox:
    def __init__(self, platform: str, deliver: Deliver, redis: Any = None) -> None:
        """`deliver` shows one card; `redis` (the sessions Redis) keeps the queues outside the
        process."""
        self.platform, self.deliver, self.redis = platform, deliver, redis
        self._local: dict[str, deque[Card]] = {}
        self._draining: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        if redis is not None:
            self._push, self._next = redis.register_script(_PUSH), redis.register_script(_NEXT)
            self._renew = redis.register_script(_RENEW)

    async def put(self, queue: str, cards: Sequence[Card], *, local: bool = False) -> None:
        """Queue `cards` behind whatever waits for `queue` (a pseudonym) and return at once.
        `local`: kept in this process, not in Redis (the notice that Redis is unavailable)."""
        if not cards:
            return
        if self.redis is not None and not local:
            try:
                await self._put_shared(queue, cards)
                return
            except REDIS_DOWN as exc:  # Redis away: from this process
                log.info("%s queue kept in process: %s", self.platform, type(exc).__name__)
        waiting = self._local.get(queue)
        if waiting is not None:
            waiting.extend(cards)
            return
        self._local[queue] = waiting = deque(cards)
        self._start(self._drain_local(queue, waiting))

    def watch_key(self, queue: str) -> str | None:
        """The key whose existence says that something waits for `queue`, to be read in the
        same round trip as the person's transition (`flows` `watch`; on a Cluster, where the
        key lives in another slot, asked at the same time): None when there is no shared queue."""
        if self.redis is None:
            return None
        return self._keys(queue)[0]

    async def busy(self, queue: str, *, local: bool = False, known: bool | None = None) -> bool:
        """Is something still waiting for `queue` (so that new cards must go behind it)?
        `local`: as far as this process knows (Redis is away, asking would only wait).
        `known`: the answer read with the transition (`watch_key`); no question asked then."""
        if queue in self._local or queue in self._draining:
            return True
        if known is not None:
            return known
        if self.redis is None or local:
            return False
        try:
            return bool(await self.redis.exists(self._keys(queue)[0]))
        except REDIS_DOWN:
            return False

    def recovering(self) -> AbstractAsyncContextManager[None]:
        """While open, take over every RECOVER_SECONDS the queues nobody drains."""
        if self.redis is None:
            return _nothing()
        return repeating(self.recover, RECOVER_SECONDS, f"{self.platform} queue recovery")

    async def recover(self) -> None:
        """Take over the queues nobody drains (their process was killed or stopped)."""
        if self.redis is None:
            return
        async with self.redis.pipeline(transaction=False) as pipe:  # one round trip for the 16 sets
            for shard in "0123456789abcdef":
                pipe.smembers(self._set(shard))
            waiting = await pipe.execute()
        for members in waiting:
            for raw in members:
                queue = keys.text(raw)
                if queue in self._draining:
                    continue
                token = secrets.token_hex(8)
                if await self.redis.set(self._keys(queue)[1], token, nx=True, px=LOCK_MS):
                    self._start(self._drain_shared(queue, token, None))

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for what is being delivered (at shutdown), `timeout` seconds at most; what is
        left in Redis is delivered by another process or after the restart."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - loop.time()))
        if self._tasks:
            log.warning("%s deliveries still waiting at shutdown: %d", self.platform, len(self._tasks))

    # --- one card ---------------------------------------------------------------------------
    async def _show(self, card: Card) -> None:
        at = card.get("at")
        if isinstance(at, int | float):
            await asyncio.sleep(max(0.0, min(float(at) - time.time(), QUEUE_TTL)))
        try:
            await self.deliver(card)
        except Exception as exc:  # one failed card must not drop the ones behind it
            log.error("%s delivery failed: %s", self.platform, type(exc).__name__)

    def _start(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain_local(self, queue: str, waiting: deque[Card]) -> None:
        try:
            while waiting:
                await self._show(waiting[0])
                waiting.popleft()
        finally:
            self._local.pop(queue, None)

    # --- queues on the sessions Redis -------------------------------------------------------
    def _set(self, shard: str) -> str:
        return keys.outgoing_set(self.platform, shard)

    def _keys(self, queue: str) -> list[str]:
        head = keys.outgoing(self.platform, queue)
        return [head, f"{head}:lock", self._set(queue[:1])]

    async def _put_shared(self, queue: str, cards: Sequence[Card]) -> None:
        token = secrets.token_hex(8)
        args = [QUEUE_TTL, token, LOCK_MS, queue, *(json.dumps(c, separators=(",", ":")) for c in cards)]
        reply = await self._push(keys=self._keys(queue), args=args)
        if int(reply[0]) == 1:
            self._draining.add(queue)  # at once, so that `busy` sees it before the task runs
            self._start(self._drain_shared(queue, token, reply[1]))

    async def _drain_shared(self, queue: str, token: str, head: bytes | str | None) -> None:
        """Deliver the queue in order while holding its lock (renewed in the background, through
        any Retry-After); a card leaves the queue only once it is shown."""
        lock = self._keys(queue)[1]

        async def renew() -> None:
            await self._renew(keys=[lock], args=[token, LOCK_MS])

        self._draining.add(queue)
        try:
            async with repeating(renew, LOCK_MS / 3000, f"{self.platform} queue lock", wait_first=True):
                delivered = False
                while True:
                    if head is None:
                        reply = await self._next(
                            keys=self._keys(queue), args=[token, LOCK_MS, int(delivered), queue]
                        )
                        if int(reply[0]) != 2:
                            return  # empty and released, or the lock was lost (its holder goes on)
                        head = reply[1]
                    try:
                        card = json.loads(head)
                    except ValueError:
                        card = None
                    if isinstance(card, dict):
                        await self._show(card)
                    head, delivered = None, True
        except Exception as exc:  # Redis away: the queue stays, and is taken over once it is back
            log.warning("%s queue not drained: %s", self.platform, type(exc).__name__)
        finally:
            self._draining.discard(queue)


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield
