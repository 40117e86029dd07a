"""The Redis store: one hash per person in progress, one Lua script per transition.

Contract (checked by tests/test_store.py against a real Redis):
- `load` returns the session and its version (0 when there never was one);
- `commit` applies a step only when the version is still the loaded one and the event id was
  not applied before; a completion deletes the answers and adds the counters in the same
  atomic script; one round trip;
- a person's hash (session, version, seen event ids) expires `ttl` seconds after its last change.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Literal

from redis import exceptions as redis_errors
from redis.asyncio import Redis

from classifier import QuestionnaireError

from . import keys
from .engine import Step
from .errors import StoreUnavailable
from .session import Session, SessionDataError

Status = Literal["ok", "seen", "conflict"]


@dataclass(frozen=True, slots=True)
class Committed:
    status: Status
    version: int
    """The version now stored (after the write when ok; the competing one on conflict)."""
    current: Session | None = None
    """On conflict: the session as it is now."""


def _script(name: str) -> str:
    try:
        return resources.files(__package__).joinpath(name).read_text("utf-8")
    except FileNotFoundError as exc:
        raise QuestionnaireError(f"flows/{name} is missing from the installation") from exc


def script_sources() -> dict[str, str]:
    """Every Lua script the store runs, by file name (loaded at import; listed for checks)."""
    return {"transition.lua": _LUA}


_LUA = _script("transition.lua")
REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class Ref:
    """Where one person's survey lives: a scope (team or `solo`) and their pseudonym."""

    scope: str
    person: str


class RedisStore:
    def __init__(self, redis: Redis, *, items: int, ttl_seconds: int) -> None:
        self.redis = redis
        self._items = items
        self._ttl = ttl_seconds
        self._script = redis.register_script(_LUA)

    async def load(self, ref: Ref) -> tuple[Session | None, int]:
        """The session in progress (None if none, or if unreadable) and its version."""
        try:
            version, data = await self.redis.hmget(keys.session(ref.scope, ref.person), "v", "d")
        except REDIS_DOWN as exc:
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
    ) -> Committed:
        """Apply `step` to the session `before`, loaded at `version`, atomically. A completion
        counts only if `done_token` (the person's keyed hash for the round) is new. On a
        conflict the outcome carries the current session, so the caller needs no reload."""
        scope, person = ref.scope, ref.person
        session_key = keys.session(scope, person)
        counter_key = done_key = round_hash = session_key  # same-slot placeholders when unused
        args: list[str | int] = [event_id or "", version]
        if step.completion is not None:
            c = step.completion
            counter_key, done_key = keys.counters(scope), keys.done(scope, c.round_id)
            round_hash = keys.round_hash(scope)
            args += ["c", done_token or "", self._ttl, c.round_id]
            for name, inc in keys.cell_fields(c.round_id, c.window, c.counters).items():
                args += [name, inc]
            if c.counters:  # a survey with no result adds nothing, not even to the round total
                args += [keys.round_total_field(c.round_id), 1]
        elif step.session == before:
            args += ["n", "", self._ttl]
        elif step.session is not None:
            args += ["w", step.session.dumps(), self._ttl]
        else:
            args += ["d", "", self._ttl]
        try:
            reply = await self._script(keys=[session_key, counter_key, done_key, round_hash], args=args)
        except REDIS_DOWN as exc:
            raise StoreUnavailable("redis unreachable") from exc
        status = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        current = None
        if status == "conflict" and len(reply) > 2 and reply[2]:
            try:
                current = Session.loads(reply[2], self._items)
            except SessionDataError:
                current = None
        return Committed(status, int(reply[1]), current)  # type: ignore[arg-type]
