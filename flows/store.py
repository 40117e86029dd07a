"""The Redis store: one hash per person in progress, one Lua script per transition.

Contract (checked by tests/test_store.py against a real Redis):
- `load` returns the session and its version (0 when there never was one);
- `commit` applies a step only when the version is still the loaded one and the event id was
  not applied before; a completion deletes the answers and adds the counters in the same
  atomic script;
- an in-progress session expires `ttl` seconds after its last change.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Literal

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from . import keys
from .engine import Step
from .errors import StoreUnavailable
from .session import Session, SessionDataError

Status = Literal["ok", "seen", "conflict"]
_LUA = resources.files(__package__).joinpath("transition.lua").read_text("utf-8")
SEEN_TTL_SECONDS = 86_400
_REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class Ref:
    """Where one person's survey lives: a scope (team or `solo`) and their pseudonym."""

    scope: str
    person: str


class RedisStore:
    def __init__(
        self, redis: Redis, *, items: int, ttl_seconds: int, seen_ttl_seconds: int = SEEN_TTL_SECONDS
    ) -> None:
        self.redis = redis
        self._items = items
        self._ttl = ttl_seconds
        self._seen_ttl = seen_ttl_seconds
        self._script = redis.register_script(_LUA)

    async def load(self, ref: Ref) -> tuple[Session | None, int]:
        """The session in progress (None if none, or if unreadable) and its version."""
        try:
            version, data = await self.redis.hmget(keys.session(ref.scope, ref.person), "v", "d")
        except _REDIS_DOWN as exc:
            raise StoreUnavailable("redis unreachable") from exc
        v = int(version or 0)
        if data is None:
            return None, v
        try:
            return Session.loads(data, self._items), v
        except SessionDataError:
            return None, v  # overwritten by the next commit

    async def commit(
        self,
        ref: Ref,
        version: int,
        before: Session | None,
        event_id: str | None,
        step: Step,
        done_token: str | None = None,
    ) -> Status:
        """Apply `step` to the session `before`, loaded at `version`, atomically. A completion
        counts only if `done_token` (the person's keyed hash for the round) is new."""
        scope, person = ref.scope, ref.person
        counter_key = done_key = keys.session(scope, person)  # same-slot placeholders
        args: list[str | int] = [event_id or "", version]
        if step.completion is not None:
            c = step.completion
            counter_key = keys.counters(scope)
            done_key = keys.done(scope, c.round_id)
            args += ["c", done_token or "", self._ttl, self._seen_ttl]
            for name, inc in c.counters.items():
                args += [keys.cell_field(c.round_id, c.window, name), inc]
            args += [keys.round_total_field(c.round_id), 1]
        elif step.session == before:
            args += ["n", "", self._ttl, self._seen_ttl]
        elif step.session is not None:
            args += ["w", step.session.dumps(), self._ttl, self._seen_ttl]
        elif before is not None:
            args += ["d", "", self._ttl, self._seen_ttl]
        else:
            args += ["n", "", self._ttl, self._seen_ttl]
        try:
            status, _ = await self._script(
                keys=[keys.session(scope, person), keys.seen(scope, person), counter_key, done_key],
                args=args,
            )
        except _REDIS_DOWN as exc:
            raise StoreUnavailable("redis unreachable") from exc
        return status.decode() if isinstance(status, bytes) else status  # type: ignore[no-any-return]
