"""The Redis store: one hash per person in progress, one Lua script per transition.

Contract (checked by tests/test_store.py against a real Redis):
- `load` returns the session and its version (0 when there never was one);
- `commit` applies a step only when the version is still the loaded one and the event id was
  not applied before; one round trip per answer;
- a completion first counts (pool.lua on the sessions Redis: done token and counters into the
  team's pool in one script, only once per person and round, and not after the round closed
  there; a pool of k is written to the data Redis as one sum, see `flows.pool`), then deletes
  the answers (transition.lua); a crash in between loses no count, and the retry counts nothing
  twice;
- a person's hash (session, version, seen event ids) expires `ttl` seconds after its last change,
  a finished one an hour after completion.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from classifier import QuestionnaireError

from . import keys
from .context import Completion
from .errors import StoreUnavailable
from .pool import Pools
from .session import SKIPPED, Session, SessionDataError

Status = Literal["ok", "seen", "conflict"]


@dataclass(frozen=True, slots=True)
class Write:
    """What one step changes in the store: the session it leaves (None: none), whether it
    completed the survey (the finished mark), and what a completion adds to the pools."""

    session: Session | None
    finished: bool = False
    completion: Completion | None = None


@dataclass(frozen=True, slots=True)
class Committed:
    status: Status
    version: int
    """The version now stored (after the write when ok; the competing one on conflict)."""
    current: Session | None = None
    """On conflict: the session as it is now; after `record`: the session before the answer."""
    finished: bool = False
    """On conflict: the survey was just completed (a late click must leave the result alone)."""
    watched: bool | None = None
    """When ok and `watch` was given: whether that key existed at the transition."""


def _script(name: str) -> str:
    try:
        return resources.files(__package__).joinpath(name).read_text("utf-8")
    except FileNotFoundError as exc:
        raise QuestionnaireError(f"flows/{name} is missing from the installation") from exc


def script_sources() -> dict[str, str]:
    """Every Lua script the store runs, by file name (loaded at import; listed for checks)."""
    from . import pool

    return {"transition.lua": _TRANSITION, "pool.lua": pool.POOL, "count.lua": pool.COUNT}


_TRANSITION = _script("transition.lua")
REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
FINISHED_TTL = 3600
"""Seconds a finished survey's version and last (keyed) event id stay: long enough to drop a
platform's retry of the final click, short enough to say nothing about who finished when."""


@dataclass(frozen=True, slots=True)
class Ref:
    """Where one person's survey lives: a scope (team or `solo`) and their pseudonym."""

    scope: str
    person: str


class RedisStore:
    """Sessions, done tokens and pools on `redis` (keep it without persistence:
    `RUHEPULS_SESSION_REDIS_URL`), counters on `data` in sums of `pool_size` (k) people (the same
    server when not given)."""

    def __init__(
        self,
        redis: Redis,
        *,
        items: int,
        ttl_seconds: int,
        data: Redis | None = None,
        event_secret: bytes = b"",
        pool_size: int = 5,
    ) -> None:
        self.redis = redis
        self.data = data if data is not None else redis
        self._items = items
        self._ttl = ttl_seconds
        self._event_secret = event_secret
        self._transition = redis.register_script(_TRANSITION)
        self._cluster = isinstance(redis, RedisCluster)
        self.pools = Pools(redis, self.data, pool_size)

    def _event(self, event_id: str | None) -> str:
        """A keyed hash of the platform's event id: dedup works, no timestamp is stored."""
        if not event_id:
            return ""
        return hmac.new(self._event_secret, event_id.encode(), hashlib.sha256).hexdigest()[:20]

    async def load(self, ref: Ref) -> tuple[Session | None, int]:
        """The session in progress (None if none, or if unreadable) and its version."""
        session, version, _ = await self.load_state(ref)
        return session, version

    async def load_state(self, ref: Ref) -> tuple[Session | None, int, bool]:
        """The session in progress, its version, and whether a survey was just completed
        (within the hour its version is kept)."""
        try:
            version, data, finished = await self.redis.hmget(
                keys.session(ref.scope, ref.person), "v", "d", "f"
            )
        except REDIS_DOWN as exc:
            raise StoreUnavailable("redis unreachable") from exc
        v = int(version or 0)
        if data is None:
            return None, v, finished is not None
        try:
            return Session.loads(data, self._items), v, False
        except SessionDataError:
            return None, v, False  # overwritten by the next commit

    async def commit(
        self,
        ref: Ref,
        version: int,
        before: Session | None,
        event_id: str | None,
        write: Write,
        done_token: str | None = None,
        watch: str | None = None,
    ) -> Committed:
        """Apply `write` to the session `before`, loaded at `version`, atomically. A completion
        first counts (if `done_token`, the person's keyed token for the round, is new), then
        deletes the answers. On a conflict the outcome carries the current session, so the
        caller needs no reload. `watch`: a key in the sessions Redis whose existence the caller
        wants to know, read in the same round trip (on a Cluster, where it lives in another
        slot, asked at the same time)."""
        args: list[str | int] = [self._event(event_id), version]
        c = write.completion
        try:
            if c is not None and done_token:  # a survey with no result takes its round, adds nothing
                await self.pools.add(ref.scope, c.round_id, c.window, done_token, c.counters)
            if write.finished:
                args += ["f", "", FINISHED_TTL]
            elif write.session == before:
                args += ["n", "", self._ttl]
            elif write.session is not None:
                args += ["w", write.session.dumps(), self._ttl]
            else:
                args += ["d", "", self._ttl]
            return await self._run(ref, args, watch)
        except REDIS_DOWN as exc:
            raise StoreUnavailable("redis unreachable") from exc

    async def record(
        self,
        ref: Ref,
        position: int,
        value: int | None,
        version: str,
        event_id: str | None,
        watch: str | None = None,
    ) -> Committed:
        """Record an answer to the question at `position` without having read the session: one
        round trip whoever read it last. Applied only where the engine's rule is `record` (the
        survey asks or pauses at `position`, not the last question, started under questionnaire
        `version`); then the outcome is ok and carries the session *before* the answer.
        Anywhere else nothing changes and the outcome is a conflict with the session as it is."""
        ch = SKIPPED if value is None else str(value)
        args: list[str | int] = [self._event(event_id), 0, "a", position, self._ttl, ch, self._items, version]
        try:
            return await self._run(ref, args, watch)
        except REDIS_DOWN as exc:
            raise StoreUnavailable("redis unreachable") from exc

    async def _run(self, ref: Ref, args: list[str | int], watch: str | None) -> Committed:
        session_key = keys.session(ref.scope, ref.person)
        if watch and self._cluster:  # in another slot: asked at the same time, one round-trip time
            reply, exists = await asyncio.gather(
                self._transition(keys=[session_key], args=args), self.redis.exists(watch)
            )
        else:
            reply = await self._transition(keys=[session_key, watch] if watch else [session_key], args=args)
            exists = reply[2] if len(reply) > 2 else 0
        status = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        data = reply[2] if status == "conflict" else reply[3] if status == "ok" else None
        current = None
        if data:
            try:
                current = Session.loads(data, self._items)
            except SessionDataError:
                current = None
        finished = status == "conflict" and bool(reply[3])
        watched = bool(exists) if status == "ok" and watch else None
        return Committed(status, int(reply[1]), current, finished, watched)  # type: ignore[arg-type]
