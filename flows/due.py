"""When each team next needs the worker: an index of team ids scored by that moment, spread over
`keys.DUE_SHARDS` sorted sets (each in its own cluster slot), so that a tick asks only for what
is due instead of walking every team. A round that opens puts its team in at once; the job that
served a team puts it back at its next moment, or takes it out when its round is over."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from redis.asyncio import Redis

from . import keys

_FORGET = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
"""


def _shard(team_id: str) -> str:
    return keys.due(zlib.crc32(team_id.encode()) % keys.DUE_SHARDS)


class Due:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._forget = redis.register_script(_FORGET)

    async def at(self, team_id: str, when: datetime) -> None:
        """The team next needs the worker at `when`."""
        await self.redis.zadd(_shard(team_id), {team_id: when.timestamp()})

    async def forget(self, team_id: str, served: datetime) -> None:
        """Nothing more is due for the team, as seen by a job that began at `served`: unless a
        round opened since (which put it in again, at a later moment)."""
        await self._forget(keys=[_shard(team_id)], args=[team_id, served.timestamp()])

    async def now(self, now: datetime, limit: int = 10_000) -> list[str]:
        """The teams whose moment has come (at most `limit`, the longest waiting first)."""
        found: list[tuple[float, str]] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(keys.DUE_SHARDS):
                pipe.zrangebyscore(
                    keys.due(shard), "-inf", now.timestamp(), start=0, num=limit, withscores=True
                )
            for rows in await pipe.execute():
                found += [(score, member.decode()) for member, score in rows]
        return [team for _, team in sorted(found)[:limit]]

    async def when(self, team_id: str) -> datetime | None:
        score = await self.redis.zscore(_shard(team_id), team_id)
        return None if score is None else datetime.fromtimestamp(score, UTC)

    async def drop(self, team_id: str) -> None:
        await self.redis.zrem(_shard(team_id), team_id)
