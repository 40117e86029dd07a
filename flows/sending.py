"""Who was sent what in a round: the messages sent and about to go out (data Redis, for every
member alike), no-reminder marks and failed sends with their back-off (sessions Redis, memory
only: they say something of one person), and the lock one worker holds while it sends."""

from __future__ import annotations

from redis.asyncio import Redis

from . import keys

_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


ROUND_KEYS_TTL = 92 * 86_400
"""Per-round sets (done tokens, who was invited) live at most this long; closing deletes them."""


class Sends:
    def __init__(self, redis: Redis, sessions: Redis) -> None:
        self.redis, self.sessions = redis, sessions
        self._release = redis.register_script(_RELEASE)
        self._refresh = redis.register_script(_REFRESH)

    async def unsent(self, team_id: str, round_id: str, kind: keys.Kind, people: list[str]) -> list[bool]:
        if not people:
            return []
        flags = await self.redis.smismember(keys.sent(team_id, round_id, kind), people)
        if kind != "inv":  # a reminder: not to those who asked for none this round
            quiet = await self.sessions.smismember(keys.quiet(team_id, round_id), people)
            flags = [f or q for f, q in zip(flags, quiet, strict=True)]
        return [not f for f in flags]

    async def mark_quiet(self, team_id: str, round_id: str, person: str) -> None:
        """No more reminders this round for `person` (kept on the sessions Redis: it says
        something of one person, so it is never written to a disk)."""
        key = keys.quiet(team_id, round_id)
        async with self.sessions.pipeline(transaction=True) as pipe:
            pipe.sadd(key, person)
            pipe.expire(key, ROUND_KEYS_TTL)
            await pipe.execute()

    async def mark_sent(
        self, team_id: str, round_id: str, kind: keys.Kind, person: str, *, unreachable: bool = False
    ) -> None:
        """Note a message as sent; `unreachable` counts a member it can never reach (for the
        admin, as a number: who it was is not kept)."""
        key = keys.sent(team_id, round_id, kind)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, person)
            pipe.expire(key, ROUND_KEYS_TTL)  # closing the round deletes it earlier
            if unreachable:
                pipe.hincrby(keys.round_hash(team_id), "unreachable", 1)
            added, *_ = await pipe.execute()
        if unreachable and not added:  # marked before (a second worker): counted once
            await self.redis.hincrby(keys.round_hash(team_id), "unreachable", -1)

    async def _add_for_round(self, key: str, member: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(key, member)
            pipe.expire(key, ROUND_KEYS_TTL)  # closing the round deletes it earlier
            await pipe.execute()

    async def backoffs(self, team_id: str, round_id: str, kind: keys.Kind) -> dict[str, tuple[int, float]]:
        """People a message failed to reach: tries so far and when the next may be made."""
        raw = await self.sessions.hgetall(keys.retries(team_id, round_id, kind))
        out = {}
        for person, value in raw.items():
            tries, _, due = value.decode().partition(":")
            out[person.decode()] = (int(tries), float(due))
        return out

    async def failed_once_more(
        self,
        team_id: str,
        round_id: str,
        kind: keys.Kind,
        person: str,
        now: float,
        code: str,
        give_up_after: int,
    ) -> bool:
        """Note a failed send and when to try again (1, 2, 4, … minutes); True when it has now
        failed `give_up_after` times: then it counts as sent, and the round keeps, for the
        admin, how many failed and the platform's last error code (never who)."""
        key = keys.retries(team_id, round_id, kind)
        tries = int((await self.sessions.hget(key, person) or b"0:0").split(b":")[0]) + 1
        if tries >= give_up_after:
            await self.sessions.hdel(key, person)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(keys.round_hash(team_id), f"failed_{kind}", 1)
                pipe.hset(keys.round_hash(team_id), "failed_code", code[:64])
                await pipe.execute()
            await self.mark_sent(team_id, round_id, kind, person)
            return True
        async with self.sessions.pipeline(transaction=True) as pipe:
            pipe.hset(key, person, f"{tries}:{now + 60 * 2 ** (tries - 1)}")
            pipe.expire(key, ROUND_KEYS_TTL)
            await pipe.execute()
        return False

    async def claim(self, team_id: str, round_id: str, kind: keys.Kind, person: str) -> None:
        """Note that a message is about to go out (so a crash right after can be checked)."""
        await self._add_for_round(keys.sent(team_id, round_id, kind, claimed=True), person)

    async def claimed(self, team_id: str, round_id: str, kind: keys.Kind) -> set[str]:
        raw = await self.redis.smembers(keys.sent(team_id, round_id, kind, claimed=True))
        return {m.decode() for m in raw}

    async def lock(self, team_id: str, token: str, seconds: int) -> bool:
        return bool(await self.redis.set(keys.send_lock(team_id), token, nx=True, ex=seconds))

    async def refresh_lock(self, team_id: str, token: str, seconds: int) -> bool:
        """Extend the send lock if this holder still has it; False when it was lost (expired and
        taken by another worker): then this one must stop sending."""
        return bool(await self._refresh(keys=[keys.send_lock(team_id)], args=[token, seconds]))

    async def unlock(self, team_id: str, token: str) -> None:
        await self._release(keys=[keys.send_lock(team_id)], args=[token])
