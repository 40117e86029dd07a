"""Invitations asked for again later ("in an hour", "tomorrow"): a sorted set of platform
addresses with their pseudonyms, scored by when to ask. An entry is taken out atomically when
it is due, so two workers never send it twice; the whole set expires two days after the last
addition."""

from __future__ import annotations

from redis.asyncio import Redis

from . import keys

SEP = "\x1f"
MAX_TTL = 172_800

_TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


class Snoozes:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._take = redis.register_script(_TAKE)

    async def add(self, platform: str, address: str, person: str, due: float) -> None:
        member = SEP.join((platform, address, person))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.LATER, {member: due})
            pipe.expire(keys.LATER, MAX_TTL)
            await pipe.execute()

    async def take_due(self, now: float, limit: int = 500) -> list[tuple[str, str, str]]:
        """Due entries (platform, address, person), removed as they are returned."""
        raw = await self._take(keys=[keys.LATER], args=[now, limit])
        out = []
        for m in raw:
            parts = (m.decode() if isinstance(m, bytes) else str(m)).split(SEP)
            if len(parts) == 3:
                out.append((parts[0], parts[1], parts[2]))
        return out
