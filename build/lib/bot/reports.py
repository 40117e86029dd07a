"""The weekly team summary: plan (classifier.disclosure), store, post. Idempotent per week.

A report run covers one *unit*: a top-level team and the teams whose parent it is (small teams
are folded into it). It runs once per ISO week at the configured weekday and hour in the
unit's time zone:

1. claim the week (`SET NX`); a finished week is never run again;
2. unless this week's posts are already stored (a run that died half-way), plan the
   publications, store every team's post as pending together with the counter fields it
   consumes, then delete those fields and append the published bands to the team's history;
3. post each pending post to its team's lead channel and mark it posted.
A worker killed at any point re-runs only what is missing: nothing is published twice, and
no cell is ever counted into two publications.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from classifier import Band, LoadType
from classifier.disclosure import Cell, Plan, plan, summarize
from classifier.summary_text import render_summary
from flows import keys
from flows.schedule import DAYS, iso_week
from flows.teams import Team

from .chart import band_chart
from .runtime import Runtime

log = logging.getLogger("ruhepuls.reports")
RUN_SECONDS = 900
HISTORY_WEEKS = 104
Poster = Callable[[Team, str, bytes | None], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Post:
    team: str
    text: str
    chart: bytes | None
    bands: dict[str, str] | None
    """The published bands (for trend and chart), None when nothing was published."""
    consumed: tuple[str, ...]
    """Counter fields this post's publication used up (deleted once stored)."""


async def units(rt: Runtime) -> dict[str, list[Team]]:
    """Top-level team id -> the teams it reports for (itself first, then its children)."""
    teams = {t.id: t for t in await rt.teams.teams()}
    out: dict[str, list[Team]] = {}
    for t in teams.values():
        root = t.parent if t.parent in teams else t.id
        out.setdefault(root, [])
    for t in sorted(teams.values(), key=lambda t: (t.parent is not None, t.id)):
        root = t.parent if t.parent in teams else t.id
        out[root].append(t)
    return out


async def pending_cells(
    rt: Runtime, team_ids: list[str]
) -> tuple[dict[Cell, dict[str, int]], dict[Cell, list[str]]]:
    """The unpublished counters of some teams, per cell, and the hash fields they came from."""
    cells: dict[Cell, dict[str, int]] = {}
    fields: dict[Cell, list[str]] = {}
    async with rt.redis.pipeline(transaction=False) as pipe:
        for team_id in team_ids:
            pipe.hgetall(keys.counters(team_id))
        replies = await pipe.execute()
    for team_id, raw in zip(team_ids, replies, strict=True):
        by_window: dict[str, dict[str, int]] = {}
        names: dict[str, list[str]] = {}
        for f, v in raw.items():
            name = f.decode()
            window, sep, counter = name.partition("|")
            if not sep or ":" not in window:
                continue  # a per-round total, not a cell
            got = by_window.get(window)
            if got is None:
                got = by_window[window] = {}
                names[window] = []
            got[counter] = int(v)
            names[window].append(name)
        for window, counters in by_window.items():
            cell = Cell(team_id, window)
            cells[cell] = counters
            fields[cell] = names[window]
    return cells, fields


async def _history(rt: Runtime, team_id: str) -> list[tuple[str, dict[str, str]]]:
    rows = await rt.redis.lrange(keys.history(team_id), -12, -1)
    return [(d["week"], d["bands"]) for d in (json.loads(r) for r in rows)]


async def compose(
    rt: Runtime, unit: list[Team], now: datetime, *, charts: bool = True
) -> tuple[dict[str, Post], Plan]:
    """What this week's run would post for each team of the unit. Reads only."""
    q = rt.conversations.config.questionnaire
    k = rt.settings.min_group_size
    week = iso_week(now)
    by_id = {t.id: t for t in unit}
    parents = {t.id: (t.parent if t.parent in by_id else None) for t in unit}
    cells, fields = await pending_cells(rt, list(by_id))
    result = plan(k, parents, cells, week)
    posts: dict[str, Post] = {}
    published: set[str] = set()
    for pub in result.publications:
        team = by_id[pub.audience]
        history = await _history(rt, team.id)
        previous = {LoadType(t): Band(b) for t, b in history[-1][1].items()} if history else None
        summary = summarize(q, k, pub.counters, previous)
        bands = {t.value: b.value for t, b in summary.bands.items()} if summary else None
        chart = band_chart(q, [*history, (week, bands)], team.language) if charts and bands else None
        text = render_summary(q, team.language, team=team.name, week=week, k=k, summary=summary,
                              combined=bool(pub.folded))  # fmt: skip
        consumed = tuple(f for c in sorted(pub.cells) for f in fields[c])
        posts[team.id] = Post(team.id, text, chart, bands, consumed)
        published.add(team.id)
    for team in unit:
        if team.id in published:
            continue
        parent = by_id.get(result.folded_into.get(team.id, ""))
        text = render_summary(q, team.language, team=team.name, week=week, k=k, summary=None,
                              folded_into=parent.name if parent else None)  # fmt: skip
        posts[team.id] = Post(team.id, text, None, None, ())
    return posts, result


async def preview(rt: Runtime, team_id: str, now: datetime) -> str | None:
    """Exactly the text the team's next weekly post would have, were it due now."""
    for unit in (await units(rt)).values():
        if any(t.id == team_id for t in unit):
            posts, _ = await compose(rt, unit, now, charts=False)  # the text is the same
            return posts[team_id].text
    return None


async def run_due(rt: Runtime, now: datetime, poster: Poster, concurrency: int = 16) -> None:
    """Run every unit whose weekly summary is due at `now`, several at a time."""
    s = rt.settings
    gate = asyncio.Semaphore(concurrency)

    async def one(unit: list[Team]) -> None:
        async with gate:
            try:
                await run_unit(rt, unit, now, poster)
            except Exception as exc:  # one unit's trouble must not stop the others
                log.error("weekly summary failed for a team: %s", type(exc).__name__)

    due_units = [u for u in (await units(rt)).values() if due(u[0], now, s.summary_day, s.summary_hour)]
    await asyncio.gather(*(one(u) for u in due_units))


def due(team: Team, now: datetime, weekday: str, hour: int) -> bool:
    local = now.astimezone(ZoneInfo(team.timezone))
    return local.weekday() == DAYS.index(weekday) and local.hour >= hour


async def run_unit(rt: Runtime, unit: list[Team], now: datetime, poster: Poster) -> bool:
    """Run (or finish) this week's report for a unit. True when everything is posted."""
    root, week = unit[0], iso_week(now)
    run_key = keys.report_run(root.id, week)
    if await rt.redis.get(run_key) == b"done":
        return True
    if not await rt.redis.set(run_key, "running", nx=True, ex=RUN_SECONDS):
        return False  # another worker runs it (or died doing so: retried once the claim expires)
    stored = [await rt.redis.hgetall(keys.publication(t.id, week)) for t in unit]
    if not all(stored):
        posts, _ = await compose(rt, unit, now)
        for t in unit:
            p = posts[t.id]
            record = {"status": "pending", "text": p.text, "consumed": json.dumps(p.consumed),
                      "bands": json.dumps(p.bands), "chart": base64.b64encode(p.chart or b"").decode()}  # fmt: skip
            await rt.redis.hset(keys.publication(t.id, week), mapping=record)
            await rt.redis.expire(keys.publication(t.id, week), 60 * 86_400)
        stored = [await rt.redis.hgetall(keys.publication(t.id, week)) for t in unit]
    complete = True
    for team, raw in zip(unit, stored, strict=True):
        rec = {k.decode(): v.decode() for k, v in raw.items()}
        consumed = json.loads(rec["consumed"])
        if consumed:  # idempotent: re-applied if a run died after storing
            await rt.redis.hdel(keys.counters(team.id), *consumed)
            await rt.redis.hset(keys.publication(team.id, week), "consumed", "[]")
        if rec["status"] == "posted":
            continue
        bands = json.loads(rec["bands"])
        if bands and rec.get("history") != "1":
            await rt.redis.rpush(keys.history(team.id), json.dumps({"week": week, "bands": bands}))
            await rt.redis.ltrim(keys.history(team.id), -HISTORY_WEEKS, -1)
            await rt.redis.hset(keys.publication(team.id, week), "history", "1")
        chart = base64.b64decode(rec["chart"]) or None
        if team.lead_channel and await rt.teams.current_round(team.id) is None and not bands:
            continue  # a team that never ran a round gets no weekly "not enough yet"
        if team.lead_channel and await poster(team, rec["text"], chart):
            await rt.redis.hset(keys.publication(team.id, week), "status", "posted")
        elif team.lead_channel:
            complete = False
    if complete:
        await rt.redis.set(run_key, "done", ex=60 * 86_400)
    else:
        await rt.redis.delete(run_key)  # the next tick tries the missing posts again
    return complete
