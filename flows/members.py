"""Membership: which team a person's survey counts in (`place`, by a roster read when they are
invited) and who joined a team by its link (a platform without a roster, such as Telegram).
Operational data on the data Redis, never joined with answers."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

from redis.asyncio import Redis

from . import keys
from .errors import TeamError

T = TypeVar("T")
"""The team, as the store that keeps members gives it (`flows.teams.Team`)."""

_JOIN = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then return redis.call('GET', KEYS[1]) end
if kind ~= 'hash' then return false end
local team = redis.call('HGET', KEYS[1], 'team')
local uses = redis.call('HGET', KEYS[1], 'uses')
if uses then
  uses = tonumber(uses) - 1
  if uses <= 0 then redis.call('DEL', KEYS[1]) else redis.call('HSET', KEYS[1], 'uses', uses) end
end
return team
"""
WHO_TTL = 180 * 86_400
"""Longest a person -> team mapping lives without renewal (a 90-day round plus 90 days)."""
JOIN_AFTER_ROUND = 30 * 86_400
"""A team's own join link stays valid this long after the end of its latest round."""


class Members(Generic[T]):
    def __init__(self, redis: Redis, team: Callable[[str], Awaitable[T | None]]) -> None:
        self.redis = redis
        self.team = team
        self._join = redis.register_script(_JOIN)

    async def join_link(self, team_id: str, *, days: int | None = None, uses: int | None = None) -> str:
        """A new join code for a team whose members join by a link, valid `days` days and `uses` times (None:
        without limit); `uses=1` makes a personal link for one member."""
        if days is not None and not 1 <= days <= 365:
            raise TeamError("link_days")
        if uses is not None and not 1 <= uses <= 100_000:
            raise TeamError("link_uses")
        code = secrets.token_urlsafe(9)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.join_code(code), mapping={"team": team_id, **({"uses": uses} if uses else {})})
            if days:
                pipe.expire(keys.join_code(code), days * 86_400)
            await pipe.execute()
        return code

    async def joined_count(self, team_id: str) -> int:
        """How many joined by a link (never who, and nothing about answers)."""
        return int(await self.redis.scard(keys.members(team_id)))

    async def code_team(self, key: bytes) -> str | None:
        """The team a join code (its key) leads to."""
        kind = await self.redis.type(key)
        raw = await self.redis.hget(key, "team") if kind in (b"hash", "hash") else await self.redis.get(key)
        return raw.decode() if isinstance(raw, bytes) else None

    async def join(self, code: str, user_id: str | None, person: str, ttl_seconds: int = WHO_TTL) -> T | None:
        """Someone joins with a team's code; None if the code is unknown. `user_id` (Telegram:
        to invite them) is kept in the team's member set; None (the web chat, which invites
        nobody) keeps only which team the pseudonym's survey counts in, for its lifetime."""
        if not code or len(code) > 64:
            return None
        found = await self._join(keys=[keys.join_code(code)])
        if not found:
            return None
        team_id = found.decode() if isinstance(found, bytes) else str(found)
        team = await self.team(team_id)
        if team is None:
            return None
        async with self.redis.pipeline(transaction=False) as pipe:
            if user_id is not None:
                pipe.sadd(keys.members(team_id), user_id)
            pipe.set(keys.who(person), team_id, ex=max(60, min(ttl_seconds, WHO_TTL)))
            await pipe.execute()
        return team

    async def place(self, people: Iterable[str], team_id: str, ttl_seconds: int = WHO_TTL) -> None:
        """Record which team pseudonymous people belong to (so their survey counts there), for
        `ttl_seconds` (the end of the round they are invited to plus the session TTL): renewed
        with every invitation, gone when no round renews it."""
        ttl = max(60, min(ttl_seconds, WHO_TTL))
        async with self.redis.pipeline(transaction=False) as pipe:
            for person in people:
                pipe.set(keys.who(person), team_id, ex=ttl)
            await pipe.execute()

    async def joined_members(self, team_id: str) -> list[str]:
        return sorted(m.decode() for m in await self.redis.smembers(keys.members(team_id)))

    async def team_of(self, person: str) -> str | None:
        raw = await self.redis.get(keys.who(person))
        return raw.decode() if raw else None
