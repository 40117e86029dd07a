"""Completions reach persistent storage only as sums of at least k people.

A finished survey's counters wait in its team's pool for the round on the sessions Redis (memory
only, nothing written to disk), together with the done token that keeps a person from counting
twice. When the pool holds k people with a result it becomes a *batch*, and the batch is written
to the data Redis in one script: the data Redis (and so its AOF, snapshots, replicas and backups)
never changes by fewer than k completions, holds no done token and no pseudonym, and its writes
carry no order that maps to people. The cell a batch lands in is the week of its latest
completion.

When a round closes, what is left in its pool (fewer than k) joins the parent team's fold pool,
which is written the same way once it holds k (as the parent's cells, `fold:<week>`); a team
without a parent drops it, and the round says how many results were dropped (never who). If the
sessions Redis restarts during a round, its pools are gone: at most k - 1 results per team, said
in the round's status (the `alive` mark is gone with them).

Every step is safe to repeat: a batch is written once per id (the data Redis keeps the ids it
wrote), merged once per id, and a batch whose write was interrupted stays listed until `settle`
finishes it (on the next full pool, at close, and at every worker tick).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources

from redis.asyncio import Redis

from classifier import QuestionnaireError

from . import keys

KEYS_TTL = 92 * 86_400
"""Pools, batches and done tokens live at most this long (a round lasts at most 90 days)."""


def _script(name: str) -> str:
    try:
        return resources.files(__package__).joinpath(name).read_text("utf-8")
    except FileNotFoundError as exc:
        raise QuestionnaireError(f"flows/{name} is missing from the installation") from exc


POOL = _script("pool.lua")
COUNT = _script("count.lua")


@dataclass(frozen=True, slots=True)
class Closed:
    """What closing a round did with its pool."""

    kept: int
    """People written to the team's counters at close (a full pool that was still waiting)."""
    to_parent: int
    """People moved to the parent's fold pool (fewer than k)."""
    dropped: int
    """People dropped: fewer than k and no parent to join."""
    lost: bool
    """The sessions Redis restarted during the round: a pool (fewer than k) was lost."""


class Pools:
    def __init__(self, sessions: Redis, data: Redis, k: int) -> None:
        self.sessions = sessions
        self.data = data
        self.k = k
        self.on_written: Callable[[int], object] | None = None
        """Told how many people each sum written to the data Redis holds (for the metrics)."""
        self._pool = sessions.register_script(POOL)
        self._count = data.register_script(COUNT)

    async def add(
        self, team_id: str, round_id: str, window: str, token: str, counters: Mapping[str, int]
    ) -> bool:
        """Pool one completion (its done token and counters); write the pool if it is full.
        False when the token had finished this round before, or the round is closed."""
        batch_id = secrets.token_hex(8)
        args: list[str | int] = [token, KEYS_TTL, self.k, batch_id, window, round_id]
        for name, inc in counters.items():
            args += [name, inc]
        counted, made = await self._pool(
            keys=[
                keys.done(team_id, round_id),
                keys.pool(team_id, round_id),
                keys.batches(team_id),
                keys.closed(team_id, round_id),
                keys.batch(team_id, batch_id),
            ],
            args=args,
        )
        if made:
            await self._write(team_id, keys.text(made))
        return bool(counted)

    async def has_finished(self, team_id: str, round_id: str, token: str) -> bool:
        return bool(await self.sessions.sismember(keys.done(team_id, round_id), token))

    async def opened(self, team_id: str, round_id: str) -> None:
        await self.sessions.set(keys.alive(team_id, round_id), "1", ex=KEYS_TTL)

    async def settle(self, team_id: str) -> int:
        """Finish every batch of the team still waiting (after a crash); how many."""
        waiting = await self.sessions.smembers(keys.batches(team_id))
        for batch_id in sorted(keys.text(b) for b in waiting):
            await self._write(team_id, batch_id)
        return len(waiting)

    async def close(self, team_id: str, round_id: str, parent: str | None) -> Closed:
        """Close a round's pool: no completion joins it any more; a full one is written, the
        remainder goes to the parent's fold pool or, without a parent, is dropped."""
        pool = keys.pool(team_id, round_id)
        async with self.sessions.pipeline(transaction=True) as pipe:
            pipe.set(keys.closed(team_id, round_id), "1", ex=KEYS_TTL)
            pipe.exists(keys.alive(team_id, round_id))
            pipe.delete(keys.alive(team_id, round_id), keys.done(team_id, round_id))
            pipe.hget(pool, "n")
            _, alive, _, raw_n = await pipe.execute()
        await self.settle(team_id)
        n = int(raw_n or 0)
        kept = to_parent = dropped = 0
        if n >= self.k or (n and parent):
            batch_id = secrets.token_hex(8)
            async with self.sessions.pipeline(transaction=True) as pipe:
                if n < self.k:
                    pipe.hset(pool, "@to", str(parent))
                pipe.rename(pool, keys.batch(team_id, batch_id))
                pipe.sadd(keys.batches(team_id), batch_id)
                pipe.expire(keys.batches(team_id), KEYS_TTL)
                await pipe.execute()
            await self._write(team_id, batch_id)
            kept, to_parent = (n, 0) if n >= self.k else (0, n)
        elif n:
            await self.sessions.delete(pool)
            dropped = n
        return Closed(kept, to_parent, dropped, lost=not alive)

    async def _write(self, team_id: str, batch_id: str) -> None:
        """Write one batch where it goes (idempotent), then forget it."""
        key = keys.batch(team_id, batch_id)
        raw = {keys.text(k): keys.text(v) for k, v in (await self.sessions.hgetall(key)).items()}
        if raw:
            counters = {k: int(v) for k, v in raw.items() if not k.startswith("@")}
            parent, week, round_id = raw.get("@to"), raw.get("@w", ""), raw.get("@r", "")
            if parent:
                await self._merge(parent, batch_id, week, counters)
            else:
                fields = keys.cell_fields(round_id, week, counters)
                if round_id != keys.FOLD:
                    fields[keys.round_total_field(round_id)] = counters.get("n", 0)
                args: list[str | int] = [batch_id, KEYS_TTL]
                for name, inc in fields.items():
                    args += [name, inc]
                if await self._count(keys=[keys.counters(team_id), keys.written(team_id)], args=args):
                    if self.on_written is not None:
                        self.on_written(counters.get("n", 0))
        async with self.sessions.pipeline(transaction=False) as pipe:
            pipe.delete(key)
            pipe.srem(keys.batches(team_id), batch_id)
            await pipe.execute()

    async def _merge(self, parent: str, batch_id: str, week: str, counters: Mapping[str, int]) -> None:
        """Add a closed round's remainder to the parent's fold pool (once per batch id)."""
        new_id = secrets.token_hex(8)
        args: list[str | int] = [batch_id, KEYS_TTL, self.k, new_id, week, keys.FOLD]
        for name, inc in counters.items():
            args += [name, inc]
        _, made = await self._pool(
            keys=[
                keys.merged(parent),
                keys.pool(parent, keys.FOLD),
                keys.batches(parent),
                keys.closed(parent, keys.FOLD),
                keys.batch(parent, new_id),
            ],
            args=args,
        )
        if made:
            await self._write(parent, keys.text(made))
