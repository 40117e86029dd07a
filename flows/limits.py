"""A rate limiter shared by every process through Redis: one bucket per platform, workspace and
API method (and, where a platform limits per chat, per chat under a keyed hash). Generic cell
rate algorithm on Redis's own clock, so that web processes and workers on different machines
keep one budget together; a 429's Retry-After blocks the bucket for exactly that long.

`reserve` hands out slots in order and says how long the caller must wait for its slot: a web
request that must not wait queues the delivery instead (bot.slack), a worker sleeps."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from redis.asyncio import Redis

from . import keys
from .store import REDIS_DOWN

_RESERVE = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked') or '0')
local start = math.max(tat, now, blocked)
local wait = math.max(0, start - interval * (burst - 1) - now, blocked - now)
if ARGV[3] == '1' and wait > 0 then return wait end
redis.call('HSET', KEYS[1], 'tat', start + interval)
redis.call('PEXPIRE', KEYS[1], math.max(1000, start + interval - now + 1000))
return -wait
"""
_BLOCK = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('HGET', KEYS[1], 'blocked') or '0') then
  redis.call('HSET', KEYS[1], 'blocked', until_)
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) + 60000)
return until_
"""


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int = 1

    @property
    def interval_ms(self) -> int:
        return max(1, round(1000 / self.per_second))


class Limiter:
    def __init__(self, redis: Redis, secret: bytes = b"") -> None:
        self.redis = redis
        self.secret = secret
        self._reserve = redis.register_script(_RESERVE)
        self._block = redis.register_script(_BLOCK)

    def bucket(self, platform: str, workspace: str, method: str, chat: str | None = None) -> str:
        """A bucket's key; a chat appears only as a keyed hash."""
        part = hmac.new(self.secret, chat.encode(), hashlib.sha256).hexdigest()[:16] if chat else ""
        return keys.limit(platform, workspace, method, part)

    async def reserve(self, bucket: str, rate: Rate, *, only_if_free: bool = False) -> float:
        """Take the next slot; return the seconds until it comes (0: go now). With
        `only_if_free`, take it only when it is free now, else take nothing and return the wait."""
        try:
            raw = await self._reserve(
                keys=[bucket], args=[rate.interval_ms, rate.burst, "1" if only_if_free else "0"]
            )
        except REDIS_DOWN:
            return 0.0  # fail open: the platform's own 429 still stops us
        ms = int(raw)
        if only_if_free and ms > 0:
            return ms / 1000
        return max(0, -ms) / 1000

    async def block(self, bucket: str, seconds: float) -> None:
        """The platform answered 429 with Retry-After: nobody uses this bucket until then."""
        try:
            await self._block(keys=[bucket], args=[max(0, round(seconds * 1000))])
        except REDIS_DOWN:
            pass
