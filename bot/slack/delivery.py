"""Getting what the survey says onto a person's screen in Slack without ever making Slack wait.

- A click is answered through the interaction's `response_url` (`replace_original`), which is
  not a Web API method and shares no tier budget; `chat.update` is the fallback where there is no
  response URL, or it has expired.
- A click's card goes out through its response URL before the request answers, when nothing
  waits for the person, within INLINE_SECONDS: on the screen when Slack gets its answer, with
  nothing stored. Anything else, or anything that must wait, goes to the person's queue and the
  request answers at once: Slack never waits for more than that second. Each person has one
  queue, so the next card never overtakes the previous one.
- Every Web API call goes through the shared limiter (flows.limits, `Pacing`): Tier 3 for
  `chat.update` and `chat.delete`, one message per second per channel and SLACK_POSTS_PER_MINUTE
  per workspace for `chat.postMessage`; a 429's Retry-After blocks those buckets for every
  process, exactly that long.
- With `redis` (the sessions Redis) a person's queue lives there (bot.outbox): a card waiting
  out a 429 survives a killed or restarted process, and is never overtaken by a later one,
  whichever process got the click.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import orjson
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows.limits import Limiter, Rate

from ..metrics import API_CALLS
from ..outbox import Outbox
from ..retry import Wait, retry_after, retrying
from .installs import Workspaces
from .settings import SlackSettings

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("ruhepuls.slack")

RATES: dict[str, Rate] = {
    "chat.update": Rate(50 / 60, burst=10),  # Tier 3
    "chat.delete": Rate(50 / 60, burst=10),  # Tier 3
    "chat.postMessage": Rate(1.0, burst=3),  # per channel, short bursts allowed
    "conversations.open": Rate(100 / 60, burst=20),  # Tier 4
    "views.publish": Rate(100 / 60, burst=20),  # Tier 4
    "conversations.members": Rate(100 / 60, burst=20),  # Tier 4
    "conversations.history": Rate(50 / 60, burst=10),  # Tier 3
    "files.getUploadURLExternal": Rate(100 / 60, burst=20),  # Tier 4
    "files.completeUploadExternal": Rate(100 / 60, burst=20),  # Tier 4
}
PER_CHANNEL = frozenset({"chat.postMessage"})
OTHER = Rate(20 / 60, burst=5)  # Tier 2, for a method not listed


@dataclass(frozen=True, slots=True)
class Pacing:
    """Slack's limits at the scope Slack enforces them, for every process at once (flows.limits):
    each method per workspace at its tier, and `chat.postMessage` per channel and, all channels
    together, per workspace at `posts` (SLACK_POSTS_PER_MINUTE). A 429 blocks every bucket the
    call took a slot in, for exactly its Retry-After: a workspace-wide refusal stops the
    workspace's posts in every process, not only in the channel that drew it."""

    limiter: Limiter
    posts: Rate

    def buckets(self, workspace: str, method: str, chat: str | None) -> list[tuple[str, Rate]]:
        rate = RATES.get(method, OTHER)
        if method not in PER_CHANNEL:
            return [(self.limiter.bucket("slack", workspace, method), rate)]
        return [
            (self.limiter.bucket("slack", workspace, method, chat), rate),
            (self.limiter.bucket("slack", workspace, method), self.posts),
        ]

    async def turn(self, workspace: str, method: str, chat: str | None) -> None:
        """Wait for this call's slot in each of its buckets."""
        waits = await asyncio.gather(
            *(self.limiter.reserve(b, rate) for b, rate in self.buckets(workspace, method, chat))
        )
        await asyncio.sleep(max(waits))

    async def refused(self, workspace: str, method: str, chat: str | None, seconds: float) -> None:
        """Slack answered 429: nobody uses these buckets for `seconds`."""
        await asyncio.gather(
            *(self.limiter.block(b, seconds) for b, _ in self.buckets(workspace, method, chat))
        )


def pacing(rt: Runtime) -> Pacing:
    """The installation's Slack limits, on the sessions Redis that every process shares."""
    return Pacing(Limiter(rt.sessions, rt.secret), rt.settings.section(SlackSettings).posts)


RESPONSE_URL_TIMEOUT = 2.0
INLINE_SECONDS = 1.0
"""The longest a click's request waits for its card to show (Slack's patience is 3 s); after
that the card goes to the queue and the request answers."""
MIN_INLINE_SECONDS = 0.2
"""Less time than this left before the request's deadline: no inline attempt."""
ANSWER_WITHIN = 2.5
"""Seconds from a request's arrival by which it is answered (Slack's patience is 3 s)."""
GIVE_UP_AFTER = 8
"""Attempts per operation (429s and network trouble) before it is dropped with a log line."""


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
        pacing: Pacing,
        session: aiohttp.ClientSession | None = None,
        redis: Any = None,
        clients: Workspaces | None = None,
    ) -> None:
        """`redis` (the sessions Redis) keeps the queues outside the process (bot.outbox);
        `clients` gives each workspace's client to deliver them with, queues taken over from
        another process too."""
        self.pacing = pacing
        self._session = session
        self.clients = clients
        self.client: AsyncWebClient | None = None
        self.outbox = Outbox("slack", self._show, redis)

    async def send(
        self,
        client: AsyncWebClient,
        workspace: str,
        person: str,
        ops: list[Op],
        *,
        local: bool = False,
        by: float | None = None,
        waiting: bool | None = None,
    ) -> None:
        """Show the cards in order. A click's card goes through its response URL at once, before
        the request is answered, when nothing waits for the person (the common case: nothing
        is stored); whatever cannot go at once, or must wait (a refusal, a 429, a slow Slack),
        joins the person's queue (bot.outbox) and the request answers. `local`: the queue is
        kept in this process, not in Redis (the notice that Redis is unavailable). `by`: the
        loop time by which the request must be answered (Slack's patience, less a margin); an
        inline attempt never runs past it. `waiting`: whether the person's queue existed, as
        read with the transition (None: ask)."""
        if self.client is None:
            self.client = client
        loop = asyncio.get_running_loop()
        pending = list(ops)
        if (
            not local
            and pending
            and _inline(pending[0])
            and not await self.outbox.busy(person, known=waiting)
        ):
            while pending and _inline(pending[0]):
                left = INLINE_SECONDS if by is None else min(INLINE_SECONDS, by - loop.time())
                if left < MIN_INLINE_SECONDS:
                    break  # the request has spent its time: the queue shows it
                status = await self._respond(pending[0], left)
                API_CALLS.labels("slack", "response_url", status).inc()
                if status != "ok":
                    if status == "refused":  # expired: the Web API instead
                        pending[0] = replace(pending[0], response_url=None)
                    break
                pending.pop(0)
        await self.outbox.put(person, [_card(workspace, op) for op in pending], local=local)

    def recovering(self) -> AbstractAsyncContextManager[None]:
        """While open, take over the queues a killed or stopped process left."""
        return self.outbox.recovering()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for queued deliveries (at shutdown)."""
        await self.outbox.drain(timeout)

    async def _show(self, card: dict[str, Any]) -> None:
        workspace = str(card["w"])
        client = await self.clients.client(workspace) if self.clients else self.client
        if client is None:  # uninstalled from the workspace since: nothing can show it
            log.info("slack card dropped: the app is not installed in its workspace")
            return
        await self._deliver(client, workspace, Op(**card["op"]))

    async def _deliver(self, client: AsyncWebClient, workspace: str, op: Op) -> None:
        current = op

        async def once(attempt: int) -> bool | Wait:
            nonlocal current
            current, outcome = await self._attempt(client, workspace, current, attempt)
            return outcome

        if isinstance(await retrying(once, GIVE_UP_AFTER), Wait):
            log.warning("slack delivery dropped after %d attempts", GIVE_UP_AFTER)

    async def _attempt(
        self, client: AsyncWebClient, workspace: str, op: Op, attempt: int
    ) -> tuple[Op, bool | Wait]:
        """One try; returns the operation to try next (a refused response URL turns into the Web
        API call) and True when it is done (or impossible for good), else how long to wait."""
        if op.response_url and op.kind in ("replace", "delete"):
            status = await self._respond(op)
            API_CALLS.labels("slack", "response_url", status).inc()
            if status == "ok":
                return op, True
            if status == "error" and attempt < 2:  # passing trouble: the same URL once more
                return op, Wait(0.2 * (attempt + 1))
            op = replace(op, response_url=None)  # expired or refused: the Web API instead
        method, kwargs = _web_call(op)
        await self.pacing.turn(workspace, method, op.channel)
        try:
            await getattr(client, method.replace(".", "_"))(**kwargs)
            API_CALLS.labels("slack", method, "ok").inc()
            return op, True
        except SlackApiError as exc:
            API_CALLS.labels("slack", method, str(exc.response.status_code)).inc()
            if exc.response.status_code == 429:
                wait = retry_after(exc.response.headers.get("Retry-After"), 1.0, cap=None)
                await self.pacing.refused(workspace, method, op.channel, wait)  # every process
                log.info("slack %s rate limited for %.0f s", method, wait)
                return op, Wait(wait)
            log.warning("slack %s failed: %s", method, exc.response.get("error", "unknown"))
            return op, True  # a permanent error: trying again changes nothing
        except Exception as exc:  # network trouble after the connection retries gave up
            API_CALLS.labels("slack", method, "network").inc()
            log.warning("slack %s failed: %s", method, type(exc).__name__)
            return op, Wait(0.5 * (attempt + 1))

    async def _respond(
        self, op: Op, timeout: float = RESPONSE_URL_TIMEOUT
    ) -> Literal["ok", "refused", "error"]:
        body: dict[str, Any]
        if op.kind == "delete":
            body = {"delete_original": True}
        else:
            body = {"replace_original": True, **{k: v for k, v in op.fields.items() if k != "channel"}}
        session = self._session or aiohttp.ClientSession()
        try:
            async with session.post(  # orjson: a card's blocks are most of a click's JSON
                op.response_url or "",
                data=orjson.dumps(body),
                headers=_JSON,
                timeout=aiohttp.ClientTimeout(total=timeout),
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
    pacing: Pacing,
    client: AsyncWebClient,
    workspace: str,
    method: str,
    chat: str | None = None,
    **kwargs: Any,
) -> Any:
    """A Web API call from the worker: wait for the slots the shared limiter hands out, and after
    a 429 for exactly its Retry-After (blocking the buckets for every process), then try again."""

    async def once(attempt: int) -> Any:
        await pacing.turn(workspace, method, chat)
        try:
            result = await getattr(client, method.replace(".", "_"))(**kwargs)
        except SlackApiError as exc:
            API_CALLS.labels("slack", method, str(exc.response.status_code)).inc()
            if exc.response.status_code != 429 or attempt == GIVE_UP_AFTER - 1:
                raise
            wait = retry_after(exc.response.headers.get("Retry-After"), 1.0, cap=None)
            await pacing.refused(workspace, method, chat, wait)  # the next turn waits what is left
            return Wait(wait)
        API_CALLS.labels("slack", method, "ok").inc()
        return result

    return await retrying(once, GIVE_UP_AFTER)  # the last 429 raises: never a Wait


_JSON = {"Content-Type": "application/json"}


def _inline(op: Op) -> bool:
    return bool(op.response_url) and op.kind in ("replace", "delete")


def _card(workspace: str, op: Op) -> dict[str, Any]:
    """An operation as a queue keeps it (shallow: the fields are JSON already)."""
    return {
        "w": workspace,
        "op": {
            "kind": op.kind,
            "channel": op.channel,
            "fields": op.fields,
            "ts": op.ts,
            "response_url": op.response_url,
        },
    }


def _web_call(op: Op) -> tuple[str, dict[str, Any]]:
    if op.kind == "home":
        return "views.publish", dict(op.fields)
    if op.kind == "delete":
        return "chat.delete", {"channel": op.channel, "ts": op.ts}
    if op.kind == "replace":
        return "chat.update", {"ts": op.ts, **op.fields, "channel": op.channel}
    return "chat.postMessage", {**op.fields, "channel": op.channel}
