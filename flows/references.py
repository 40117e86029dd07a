"""Where a platform reaches a person or a team proactively (Teams: the conversation id, the
service URL of a verified activity and the tenant), under a keyed hash of the platform id.
Written when the app is installed, removed when it is uninstalled; never next to answers."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from redis.asyncio import Redis

from . import keys

Kind = Literal["person", "team"]


class References:
    def __init__(self, redis: Redis, secret: bytes, platform: str) -> None:
        self.redis, self.secret, self.platform = redis, secret, platform

    def _key(self, kind: Kind, ident: str) -> str:
        mac = hmac.new(self.secret, f"ref\x1f{self.platform}\x1f{kind}\x1f{ident}".encode(), hashlib.sha256)
        return keys.reference(self.platform, kind, mac.hexdigest()[:32])

    async def save(self, kind: Kind, ident: str, fields: dict[str, str]) -> None:
        key = self._key(kind, ident)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=dict(fields))  # type: ignore[arg-type]
            await pipe.execute()

    async def get(self, kind: Kind, ident: str) -> dict[str, str] | None:
        raw = await self.redis.hgetall(self._key(kind, ident))
        return {_str(k): _str(v) for k, v in raw.items()} or None

    async def forget(self, kind: Kind, ident: str) -> None:
        await self.redis.delete(self._key(kind, ident))


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
