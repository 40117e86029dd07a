"""Getting what the survey says onto a person's screen in Slack without ever making Slack wait.

- A click is answered through the interaction's `response_url` (`replace_original`), which is
  not a Web API method and shares no tier budget; `chat.update` is the fallback where there is no
  response URL, or it has expired.
- The request only queues what to show and acks: nothing Slack does can make it wait. Each
  person has one queue, so the next card never overtakes the previous one.
- Every Web API call goes through the shared limiter (flows.limits): Tier 3 for `chat.update`
  and `chat.delete`, one message per second per channel for `chat.postMessage`; a 429's
  Retry-After blocks that workspace's method for every process, exactly that long.
- With `redis` (the sessions Redis, memory only) a person's queue lives there, not in the
  process: the request pushes its cards before it acks, and one process at a time (a lock,
  held while it delivers) takes them in order. A card waiting out a 429 survives a killed or
  restarted process: every process looks for queues nobody drains and takes them over, so the
  next card is never lost and never overtaken by a later one, whichever process got the click.
  A waiting card is kept at most QUEUE_TTL seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows import keys
from flows.limits import Limiter, Rate
from flows.store import REDIS_DOWN

from ..background import repeating
from ..metrics import API_CALLS

log = logging.getLogger("ruhepuls.slack")

RATES: dict[str, Rate] = {
    "chat.update": Rate(50 / 60, burst=10),  # Tier 3
    "chat.delete": Rate(50 / 60, burst=10),  # Tier 3
    "chat.postMessage": Rate(1.0, burst=3),  # per channel, short bursts allowed
    "conversations.open": Rate(100 / 60, burst=20),  # Tier 4
    "views.publish": Rate(100 / 60, burst=20),  # Tier 4
    "conversations.members": Rate(100 / 60, burst=20),  # Tier 4
    "conversations.history": Rate(50 / 60, burst=10),  # Tier 3
}
PER_CHANNEL = frozenset({"chat.postMessage"})
RESPONSE_URL_TIMEOUT = 2.0
GIVE_UP_AFTER = 8
"""Attempts per operation (429s and network trouble) before it is dropped with a log line."""
QUEUE_TTL = 600
"""Seconds a card may wait in a person's queue (after that the screen has moved on)."""
LOCK_MS = 15_000
"""A queue's drainer holds it this long and renews it while it lives; a killed one's queue is
taken over by another process after this."""
RECOVER_SECONDS = 5.0

_PUSH = """
-- KEYS[1] the person's queue, KEYS[2] its drainer lock (one hash tag); ARGV[1] ttl, ARGV[2]
-- token, ARGV[3] lock ms, ARGV[4..] cards. Returns 1 when this caller now drains the queue, 0
-- when another drainer holds it (and delivers these after its own).
for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"""
_NEXT = """
-- KEYS as _PUSH; ARGV[1] token, ARGV[2] lock ms, ARGV[3] '1' to drop the delivered head first.
-- Returns {0} when the lock is no longer ours, {1} when the queue is empty (the lock released),
-- else {2, the next card}.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {0} end
if ARGV[3] == '1' then redis.call('LPOP', KEYS[1]) end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('DEL', KEYS[2])
  return {1}
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {2, head}
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Op:
    """One thing to show: replace the clicked message, post a new one, or delete the clicked one."""

    kind: Literal["replace", "post", "delete", "home"]
    channel: str
    fields: dict[str, Any]
    ts: str | None = None
    """The clicked message (replace, delete)."""
    response_url: str | None = None


class Delivery:
    def __init__(
        self,
        limiter: Limiter,
        session: aiohttp.ClientSession | None = None,
        redis: Any = None,
        client: AsyncWebClient | None = None,
    ) -> None:
        """`redis` (the sessions Redis) keeps the queues outside the process; `client` delivers
        queues taken over from another process."""
        self.limiter = limiter
        self._session = session
        self._queues: dict[str, deque[tuple[AsyncWebClient, str, Op]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.redis, self.client = redis, client
        self._draining: set[str] = set()
        if redis is not None:
            self._push, self._next = redis.register_script(_PUSH), redis.register_script(_NEXT)
            self._renew = redis.register_script(_RENEW)

    async def send(
        self, client: AsyncWebClient, workspace: str, person: str, ops: list[Op], *, local: bool = False
    ) -> None:
        """Queue the cards for the person and return at once (the request acks without waiting
        for Slack); the person's queue delivers them in order. `local`: from this process, not
        through Redis (the notice that Redis is unavailable)."""
        if self.redis is not None and not local:
            try:
                await self._send_shared(client, workspace, person, ops)
                return
            except REDIS_DOWN as exc:  # Redis away (the notice that says so, too): from this process
                log.info("slack queue kept in process: %s", type(exc).__name__)
        queue = self._queues.get(person)
        if queue is None:
            queue = self._queues[person] = deque()
            self._start(self._drain(person, queue))
        queue.extend((client, workspace, op) for op in ops)

    def _start(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, person: str, queue: deque[tuple[AsyncWebClient, str, Op]]) -> None:
        try:
            while queue:
                client, workspace, op = queue[0]
                await self._deliver(client, workspace, op)
                queue.popleft()
        finally:
            self._queues.pop(person, None)

    async def _deliver(self, client: AsyncWebClient, workspace: str, op: Op) -> None:
        for attempt in range(GIVE_UP_AFTER):
            op, done = await self._attempt(client, workspace, op, attempt)
            if done:
                return
        log.warning("slack delivery dropped after %d attempts", GIVE_UP_AFTER)

    # --- queues on the sessions Redis ------------------------------------------------------
    def _keys(self, person: str) -> list[str]:
        queue = keys.outgoing("slack", person)
        return [queue, f"{queue}:lock"]

    async def _send_shared(self, client: AsyncWebClient, workspace: str, person: str, ops: list[Op]) -> None:
        token = secrets.token_hex(8)
        cards = [json.dumps({"w": workspace, "op": asdict(op)}) for op in ops]
        await self.redis.sadd(keys.outgoing_set("slack"), person)  # so any process finds the queue
        if await self._push(keys=self._keys(person), args=[QUEUE_TTL, token, LOCK_MS, *cards]):
            self._start(self._drain_shared(client, person, token))

    async def _drain_shared(self, client: AsyncWebClient | None, person: str, token: str) -> None:
        """Deliver the person's queue in order while holding its lock (renewed in the background,
        through any Retry-After); a card is dropped from the queue only once delivered."""
        lock = self._keys(person)[1]

        async def renew() -> None:
            await self._renew(keys=[lock], args=[token, LOCK_MS])

        self._draining.add(person)
        try:
            async with repeating(renew, LOCK_MS / 3000, "slack queue lock", wait_first=True):
                delivered = False
                while True:
                    reply = await self._next(keys=self._keys(person), args=[token, LOCK_MS, int(delivered)])
                    if int(reply[0]) == 1:  # empty and released (pushed again later: added again)
                        await self.redis.srem(keys.outgoing_set("slack"), person)
                        return
                    if int(reply[0]) != 2:
                        return  # the lock was lost: its new holder goes on
                    card = json.loads(reply[1])
                    await self._deliver(client or self.client, card["w"], Op(**card["op"]))  # type: ignore[arg-type]
                    delivered = True
        except Exception as exc:  # Redis away: the queue stays, and is taken over once it is back
            log.warning("slack queue not drained: %s", type(exc).__name__)
        finally:
            self._draining.discard(person)

    async def recover(self) -> None:
        """Take over the queues nobody drains (their process was killed or stopped)."""
        if self.redis is None or self.client is None:
            return
        for raw in await self.redis.smembers(keys.outgoing_set("slack")):
            person = raw.decode() if isinstance(raw, bytes) else str(raw)
            if person in self._draining:
                continue
            token = secrets.token_hex(8)
            if await self.redis.set(self._keys(person)[1], token, nx=True, px=LOCK_MS):
                self._start(self._drain_shared(self.client, person, token))

    def recovering(self) -> Any:
        """While open, look for queues nobody drains every RECOVER_SECONDS."""
        return repeating(self.recover, RECOVER_SECONDS, "slack queue recovery")

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for queued deliveries (at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _attempt(self, client: AsyncWebClient, workspace: str, op: Op, attempt: int) -> tuple[Op, bool]:
        """One try; returns the operation to try next (a refused response URL turns into the Web
        API call) and whether it is done (or impossible for good)."""
        if op.response_url and op.kind in ("replace", "delete"):
            status = await self._respond(op)
            API_CALLS.labels("slack", "response_url", status).inc()
            if status == "ok":
                return op, True
            if status == "error" and attempt < 2:  # passing trouble: the same URL once more
                await asyncio.sleep(0.2 * (attempt + 1))
                return op, False
            op = replace(op, response_url=None)  # expired or refused: the Web API instead
        method, kwargs = _web_call(op)
        rate = RATES.get(method, Rate(20 / 60, burst=5))
        bucket = self.limiter.bucket(
            "slack", workspace, method, op.channel if method in PER_CHANNEL else None
        )
        await asyncio.sleep(await self.limiter.reserve(bucket, rate))
        try:
            await getattr(client, method.replace(".", "_"))(**kwargs)
            API_CALLS.labels("slack", method, "ok").inc()
            return op, True
        except SlackApiError as exc:
            API_CALLS.labels("slack", method, str(exc.response.status_code)).inc()
            if exc.response.status_code == 429:
                retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
                await self.limiter.block(bucket, retry_after)  # for every process, this method
                log.info("slack %s rate limited for %.0f s", method, retry_after)
                await asyncio.sleep(retry_after)
                return op, False
            log.warning("slack %s failed: %s", method, exc.response.get("error", "unknown"))
            return op, True  # a permanent error: trying again changes nothing
        except Exception as exc:  # network trouble after the connection retries gave up
            API_CALLS.labels("slack", method, "network").inc()
            log.warning("slack %s failed: %s", method, type(exc).__name__)
            await asyncio.sleep(0.5 * (attempt + 1))
            return op, False

    async def _respond(self, op: Op) -> Literal["ok", "refused", "error"]:
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
                if r.status < 300:
                    return "ok"
                return "error" if r.status >= 500 or r.status == 429 else "refused"
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.info("slack response_url failed: %s", type(exc).__name__)
            return "error"
        finally:
            if self._session is None:
                await session.close()


async def call_limited(
    limiter: Limiter,
    client: AsyncWebClient,
    workspace: str,
    method: str,
    chat: str | None = None,
    **kwargs: Any,
) -> Any:
    """A Web API call from the worker: wait for the slot the shared limiter hands out, and after a
    429 for exactly its Retry-After (blocking the bucket for every process), then try again."""
    rate = RATES.get(method, Rate(20 / 60, burst=5))
    bucket = limiter.bucket("slack", workspace, method, chat if method in PER_CHANNEL else None)
    for attempt in range(GIVE_UP_AFTER):
        await asyncio.sleep(await limiter.reserve(bucket, rate))
        try:
            result = await getattr(client, method.replace(".", "_"))(**kwargs)
            API_CALLS.labels("slack", method, "ok").inc()
            return result
        except SlackApiError as exc:
            API_CALLS.labels("slack", method, str(exc.response.status_code)).inc()
            if exc.response.status_code != 429 or attempt == GIVE_UP_AFTER - 1:
                raise
            retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
            await limiter.block(bucket, retry_after)
            await asyncio.sleep(retry_after)
    raise AssertionError("unreachable")


def _web_call(op: Op) -> tuple[str, dict[str, Any]]:
    if op.kind == "home":
        return "views.publish", dict(op.fields)
    if op.kind == "delete":
        return "chat.delete", {"channel": op.channel, "ts": op.ts}
    if op.kind == "replace":
        return "chat.update", {"ts": op.ts, **op.fields, "channel": op.channel}
    return "chat.postMessage", {**op.fields, "channel": op.channel}
