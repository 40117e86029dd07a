"""Messages Telegram keeps in a chat's history that should not outlive a day: a personal result
(a bot may delete its messages only within 48 hours). Kept on the sessions
Redis (memory only), as chat and message ids, never next to content, and in no order: one set
per hour in which they fall due, so that not even the order of completions within an hour is
kept (a set has none)."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from flows.keys import PREFIX, text

KEEP_SECONDS = 24 * 3600
"""A result stays this long in the chat (up to an hour more), then it is deleted (well inside
Telegram's 48 hours)."""
HOUR = 3600


def expiring(hour: int) -> str:
    """Set of chat:message ids to delete from a chat in that hour (sessions Redis; keys.yaml)."""
    return f"{PREFIX}:expiring:{hour}"


class ExpiringMessages:
    def __init__(self, redis: Redis, keep_seconds: int = KEEP_SECONDS) -> None:
        self.redis = redis
        self.keep = keep_seconds

    async def add(self, chat_id: int, message_id: int, now: float | None = None) -> None:
        hour = int(((time.time() if now is None else now) + self.keep) // HOUR)
        key = expiring(hour)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(key, f"{chat_id}:{message_id}")
            pipe.expire(key, self.keep + 20 * HOUR)  # gone before Telegram's 48 hours are
            await pipe.execute()

    async def due(self, now: float | None = None, limit: int = 500) -> list[tuple[int, int]]:
        """Take the messages due for deletion: those of every hour that has ended (each handed
        out once: SPOP)."""
        current = int((time.time() if now is None else now) // HOUR)
        out: list[tuple[int, int]] = []
        for hour in range(current - 2 * (self.keep // HOUR + 2), current):
            if len(out) >= limit:
                break
            for item in await self.redis.spop(expiring(hour), limit - len(out)) or []:
                chat, _, message = text(item).partition(":")
                out.append((int(chat), int(message)))
        return out
