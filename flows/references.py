"""Where a platform reaches a person or a team proactively (Teams: the conversation id, the
service URL of a verified activity and the tenant), under a keyed hash of the platform id.
Written when the app is installed, removed when it is uninstalled; never next to answers. A
reference that has not changed is not written again: every activity of a person would
otherwise be a write of its own in the data server's append-only file (who was active when)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from redis.asyncio import Redis

from . import keys

Kind = Literal["person", "team"]

_SAVE = """
-- KEYS[1] the reference; ARGV field, value, … Writes (replacing the hash) only when a field
-- differs, so an unchanged reference leaves no trace in the append-only file.
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], unpack(ARGV))
    return 1
  end
end
return 0
"""


class References:
    def __init__(self, redis: Redis, secret: bytes, platform: str) -> None:
        self.redis, self.secret, self.platform = redis, secret, platform
        self._save = redis.register_script(_SAVE)

    def _key(self, kind: Kind, ident: str) -> str:
        mac = hmac.new(self.secret, f"ref\x1f{self.platform}\x1f{kind}\x1f{ident}".encode(), hashlib.sha256)
        return keys.reference(self.platform, kind, mac.hexdigest()[:32])

    async def save(self, kind: Kind, ident: str, fields: dict[str, str]) -> bool:
        """Store the reference; False when it was stored already, unchanged (nothing written)."""
        args = [x for pair in fields.items() for x in pair]
        return bool(await self._save(keys=[self._key(kind, ident)], args=args))

    async def get(self, kind: Kind, ident: str) -> dict[str, str] | None:
        raw = await self.redis.hgetall(self._key(kind, ident))
        return {keys.text(k): keys.text(v) for k, v in raw.items()} or None

    async def forget(self, kind: Kind, ident: str) -> None:
        await self.redis.delete(self._key(kind, ident))
