"""Messages a platform keeps in a chat's history that should not outlive a day: a personal result
on Telegram (whose bots may delete their messages only within 48 hours). Kept on the sessions
Redis (memory only), as chat and message ids with the time they are due, never next to content."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from . import keys

KEEP_SECONDS = 24 * 3600
"""A result stays this long in the chat, then it is deleted (well inside Telegram's 48 hours)."""

_POP_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


class ExpiringMessages:
    def __init__(self, redis: Redis, keep_seconds: int = KEEP_SECONDS) -> None:
        self.redis = redis
        self.keep = keep_seconds
        self._pop = redis.register_script(_POP_DUE)

    async def add(self, chat_id: int, message_id: int, now: float | None = None) -> None:
        due = (time.time() if now is None else now) + self.keep
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.EXPIRING, {f"{chat_id}:{message_id}": due})
            pipe.expire(keys.EXPIRING, 2 * self.keep)
            await pipe.execute()

    async def due(self, now: float | None = None, limit: int = 500) -> list[tuple[int, int]]:
        """Take the messages due for deletion (each handed out once)."""
        raw = await self._pop(keys=[keys.EXPIRING], args=[time.time() if now is None else now, limit])
        out = []
        for item in raw:
            chat, _, message = (item.decode() if isinstance(item, bytes) else str(item)).partition(":")
            out.append((int(chat), int(message)))
        return out
