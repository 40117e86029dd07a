"""The Redis side of weekly team summaries: pending cells, frozen weekly plans, consumption,
history. Every key and counter field name comes from `keys`.

A unit (a top-level team and the teams that report into it) gets one plan per report week. It
is frozen once, by the first run or preview after the week's report time: every team's post is
stored with the counter fields it consumes, then the unit's plan marker is set, then the
fields are deleted from the hash they live in (a folded child's cells from the child's hash)
and the published bands appended to the audience's history. Each step after the marker is
idempotent, so a process that dies anywhere leaves a state the next call completes; nothing
is ever planned twice over the same cells.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from redis.asyncio import Redis

from classifier.disclosure import Cell

from . import keys

PUBLICATION_SECONDS = 60 * 86_400
HISTORY_WEEKS = 104
RUN_SECONDS = 900
PLAN_LOCK_SECONDS = 120


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    week: str
    bands: dict[str, str]
    wide: frozenset[str]
    """Types whose band rested on at least 10 people (only these may carry a trend)."""


@dataclass(frozen=True, slots=True)
class Posted:
    """One team's weekly post, as frozen."""

    root: str
    """The unit whose plan made it."""
    team: str
    text: str
    bands: dict[str, str] | None = None
    """The published bands (for trend and chart), None when nothing was published. The chart is
    drawn from them and the history when the post goes out: no image is kept."""
    wide: tuple[str, ...] = ()
    cells: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Team id -> the cells (`<round>:<week>`) of that team's counters this publication used up
    (kept, so that every published cell can be traced to exactly one publication)."""
    status: Literal["pending", "posted"] = "pending"
    settled: bool = False
    """The consumed fields are deleted and the bands are in the history."""
    measures: tuple[Mapping[str, str | None], ...] = ()
    """What the text says of the team's measures: id, band before and after, the verdict."""

    def to_redis(self) -> dict[str, str]:
        return {
            "text": self.text,
            "bands": json.dumps(self.bands),
            "wide": json.dumps(list(self.wide)),
            "cells": json.dumps({t: list(c) for t, c in self.cells.items()}),
            "status": self.status,
            "settled": "1" if self.settled else "0",
            "root": self.root,
            "measures": json.dumps(list(self.measures)),
        }

    @classmethod
    def from_redis(cls, team: str, raw: Mapping[bytes, bytes]) -> Posted:
        d = {k.decode(): v.decode() for k, v in raw.items()}
        cells = json.loads(d.get("cells", "{}"))
        return cls(
            d.get("root", team),
            team,
            d["text"],
            json.loads(d.get("bands", "null")),
            tuple(json.loads(d.get("wide", "[]"))),
            {t: tuple(c) for t, c in cells.items()} if isinstance(cells, dict) else {},
            "posted" if d.get("status") == "posted" else "pending",
            d.get("settled") == "1",
            tuple(json.loads(d.get("measures", "[]"))),
        )

    def record(self, week: str) -> str:
        """The entry the team's report keeps of this post (no chart, no cells)."""
        return json.dumps(
            {
                "week": week,
                "text": self.text,
                "bands": self.bands,
                "wide": list(self.wide),
                "measures": list(self.measures),
            }
        )


_SETTLE = """
if redis.call('HGET', KEYS[1], 'settled') == '1' then return 0 end
if ARGV[1] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
end
redis.call('HSET', KEYS[1], 'settled', '1')
return 1
"""


_POSTED = """
if redis.call('HGET', KEYS[1], 'status') == 'posted' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'posted')
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return 1
"""


def history_entry(week: str, bands: Mapping[str, str], wide: Iterable[str]) -> str:
    """One stored history row: the published bands of a week, and which rested on 10."""
    return json.dumps({"week": week, "bands": dict(bands), "wide": sorted(wide)})


class PublicationStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._release = redis.register_script(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
        )
        self._settle = redis.register_script(_SETTLE)
        self._posted = redis.register_script(_POSTED)

    # --- counters -----------------------------------------------------------------------------
    async def pending(self, team_ids: Iterable[str]) -> dict[Cell, dict[str, int]]:
        """The unpublished counters of some teams, per cell."""
        ids = list(team_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for team_id in ids:
                pipe.hgetall(keys.counters(team_id))
            replies = await pipe.execute()
        cells: dict[Cell, dict[str, int]] = {}
        for team_id, raw in zip(ids, replies, strict=True):
            for f, v in raw.items():
                parsed = keys.parse_cell_field(keys.text(f))
                if parsed is not None:  # else a per-round total, not a cell
                    cells.setdefault(Cell(team_id, parsed[0]), {})[parsed[1]] = int(v)
        return cells

    # --- history ------------------------------------------------------------------------------
    async def history(self, team_id: str, last: int = 12) -> list[HistoryEntry]:
        rows = await self.redis.lrange(keys.history(team_id), -last, -1)
        out = []
        for row in rows:
            d = json.loads(row)
            out.append(HistoryEntry(d["week"], d["bands"], frozenset(d.get("wide", ()))))
        return out

    # --- publications -------------------------------------------------------------------------
    async def publications(self, team_ids: Iterable[str], week: str) -> dict[str, Posted]:
        """The frozen publications of these teams for the week (teams without one are absent)."""
        ids = list(team_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for team_id in ids:
                pipe.hgetall(keys.publication(team_id, week))
            replies = await pipe.execute()
        return {t: Posted.from_redis(t, raw) for t, raw in zip(ids, replies, strict=True) if raw}

    async def frozen(self, root: str, week: str) -> bool:
        return bool(await self.redis.exists(keys.plan(root, week)))

    async def lock_plan(self, root: str, week: str) -> str | None:
        token = secrets.token_hex(8)
        ok = await self.redis.set(keys.plan_lock(root, week), token, nx=True, ex=PLAN_LOCK_SECONDS)
        return token if ok else None

    async def unlock_plan(self, root: str, week: str, token: str) -> None:
        await self._release(keys=[keys.plan_lock(root, week)], args=[token])

    async def freeze(self, root: str, week: str, posts: Iterable[Posted]) -> None:
        """Store the week's publications, then mark the unit's plan frozen. The caller holds
        the plan lock; a team that already has a publication this week keeps it."""
        for p in posts:
            key = keys.publication(p.team, week)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                pipe.hset(key, mapping=p.to_redis())  # type: ignore[arg-type]
                pipe.expire(key, PUBLICATION_SECONDS)
                await pipe.execute()
        await self.redis.set(keys.plan(root, week), "1", ex=PUBLICATION_SECONDS)

    async def settle(self, week: str, pubs: Mapping[str, Posted]) -> dict[str, Posted]:
        """Apply what frozen publications still owe: delete the used cells' counters from the
        hash of the team they belong to, append published bands to the history. Idempotent."""
        out = dict(pubs)
        for team_id, p in pubs.items():
            if p.settled:
                continue
            for owner, windows in p.cells.items():
                await self.drop_cells(owner, windows)
            entry = history_entry(week, p.bands, p.wide) if p.bands else ""
            await self._settle(  # the history grows once, however many processes settle at once
                keys=[keys.publication(team_id, week), keys.history(team_id)], args=[entry, HISTORY_WEEKS]
            )
            out[team_id] = replace(p, settled=True)
        return out

    async def drop_cells(self, team_id: str, windows: Iterable[str]) -> None:
        """Delete every counter of these cells (safe to repeat)."""
        wanted = set(windows)
        names = [
            name
            for f in await self.redis.hkeys(keys.counters(team_id))
            if (parsed := keys.parse_cell_field(name := keys.text(f))) and parsed[0] in wanted
        ]
        if names:
            await self.redis.hdel(keys.counters(team_id), *names)

    async def mark_posted(self, team_id: str, week: str, p: Posted) -> None:
        """Posted: and, once only, into the record the team's report is made from."""
        await self._posted(
            keys=[keys.publication(team_id, week), keys.published(team_id)],
            args=[p.record(week), HISTORY_WEEKS],
        )

    async def published(self, team_id: str) -> list[dict[str, Any]]:
        """What reached the team's lead channel, oldest first (at most HISTORY_WEEKS posts)."""
        rows = await self.redis.lrange(keys.published(team_id), 0, -1)
        return [json.loads(r) for r in rows]

    # --- the weekly run -----------------------------------------------------------------------
    async def run_done(self, root: str, week: str) -> bool:
        return await self.redis.get(keys.report_run(root, week)) == b"done"

    async def runs_done(self, runs: list[tuple[str, str]]) -> list[bool]:
        """For (unit, week) pairs: is that run finished? One round trip."""
        if not runs:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for root, week in runs:
                pipe.get(keys.report_run(root, week))
            replies = await pipe.execute()
        return [r == b"done" for r in replies]

    async def claim_run(self, root: str, week: str) -> bool:
        return bool(await self.redis.set(keys.report_run(root, week), "running", nx=True, ex=RUN_SECONDS))

    async def finish_run(self, root: str, week: str, complete: bool) -> None:
        if complete:
            await self.redis.set(keys.report_run(root, week), "done", ex=PUBLICATION_SECONDS)
        else:
            await self.redis.delete(keys.report_run(root, week))  # the next tick tries again
