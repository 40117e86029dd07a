"""The weekly team summary: plan (classifier.disclosure), freeze (flows.publications), post.

A report run covers one *unit*: a top-level team and the teams whose parent it is (small teams
are folded into it). Its report week is the ISO week of the last scheduled report time (the
configured weekday and hour in the unit's time zone) at or before now, so a run missed while
no worker was up is caught up on the next tick, not skipped to the next week.

For each unit and week there is exactly one plan: the first run or preview after the report
time computes it over the cells of weeks that have ended and stores every team's text; later
runs and previews only read what was stored. A worker killed at any point re-runs only what
is missing: nothing is published twice, and no cell is ever counted into two publications.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from classifier import Band, LoadType, day_text
from classifier.disclosure import TeamSummary, plan, summarize, thresholds
from classifier.measures import verdict
from classifier.summary_text import MeasureNote, render_summary
from flows import keys
from flows.measures import MeasureStore
from flows.plans import PlanStore
from flows.publications import HistoryEntry, Posted
from flows.schedule import DAYS, iso_week
from flows.teams import Team

from .chart import render
from .metrics import DUE_SUMMARIES, SUMMARIES
from .runtime import Runtime
from .texts import say

log = logging.getLogger("ruhepuls.weekly")
Poster = Callable[[Team, str, bytes | None], Awaitable[bool]]
PLAN_WAIT_SECONDS = 10.0


async def units(rt: Runtime) -> dict[str, list[Team]]:
    """Top-level team id -> the teams it reports for (itself first, then its children)."""
    teams = {t.id: t for t in await rt.teams.teams()}
    out: dict[str, list[Team]] = {}
    for t in sorted(teams.values(), key=lambda t: (t.parent is not None, t.id)):
        root = t.parent if t.parent in teams else t.id
        out.setdefault(root, []).append(t)
    return out


def scheduled(team: Team, now: datetime, weekday: str, hour: int) -> datetime:
    """The last scheduled report time at or before `now`, in the team's time zone."""
    local = now.astimezone(ZoneInfo(team.timezone))
    monday = (local - timedelta(days=local.weekday())).replace(hour=hour, minute=0, second=0, microsecond=0)
    moment = monday + timedelta(days=DAYS.index(weekday))
    if moment > local:
        moment -= timedelta(days=7)
    return moment


def report_week(team: Team, now: datetime, weekday: str, hour: int) -> str:
    """The report week a run or preview at `now` belongs to (weeks are counted in UTC, as
    completions are)."""
    return iso_week(scheduled(team, now, weekday, hour).astimezone(UTC))


CHART_WEEKS = 13
"""Weeks a summary's chart shows, this one included: a quarter stays readable, and the image
stays the same small size on every platform however long the team's history grows."""


def _chart_series(
    history: list[HistoryEntry], week: str, bands: dict[str, str], wide: frozenset[str]
) -> list[tuple[str, dict[str, str]]]:
    """Earlier weeks only for types where both points rest on at least 10 people; the last
    CHART_WEEKS weeks."""
    past = [(h.week, {t: b for t, b in h.bands.items() if t in h.wide and t in wide}) for h in history]
    return [*((w, b) for w, b in past if b), (week, bands)][-CHART_WEEKS:]


async def _measure_notes(
    rt: Runtime,
    team_id: str,
    week: str,
    history: list[HistoryEntry],
    summary: TeamSummary | None,
    counters: Mapping[str, int],
    k_types: Mapping[LoadType, int],
    k: int,
) -> list[MeasureNote]:
    """What this week's post says of the team's measures (those `Measure.noted_in` it):
    the band of its load type before (the last publication up to the week it was chosen) and
    now, only where both were published on at least 10 people (a before-and-after is a trend,
    and a trend rests on 10, as everywhere); the team's view only from k who gave one (the
    higher k of the exhaustion-driven type for a measure on that type)."""
    if summary is None:
        return []
    notes = []
    for m in await MeasureStore(rt.redis).all(team_id):
        if not m.noted_in(week):
            continue
        before = after = None
        if m.type is not None:
            chosen = iso_week(m.chosen)
            earlier = [h for h in history if h.week <= chosen and m.type.value in h.bands]
            if earlier and m.type.value in earlier[-1].wide and m.type in summary.wide:
                before, after = Band(earlier[-1].bands[m.type.value]), summary.bands.get(m.type)
        need = k_types[m.type] if m.type is not None else k
        notes.append(MeasureNote(m, before, after, verdict(counters, m.id, need)))
    return notes


async def _chart(rt: Runtime, team: Team, week: str, p: Posted) -> bytes | None:
    """The post's chart, drawn when it goes out from its bands and the weeks published before
    it (no image is kept in Redis); None when nothing was published."""
    if not p.bands:
        return None
    history = [h for h in await rt.publications.history(team.id) if h.week < week]
    series = _chart_series(history, week, p.bands, frozenset(p.wide))
    return await render(rt.conversations.config.questionnaire, series, team.language)


async def _plan_line(rt: Runtime, team: Team) -> str:
    """Since when the team has a Stufenplan, and its version ("" without one): said whatever
    the counts, as it is no answer of anyone's."""
    agreed = await PlanStore(rt.redis).get(team.id)
    if agreed is None:
        return ""
    since = day_text(agreed.since, team.language)
    return "\n\n" + say("plan_in_summary", team.language, version=agreed.version, since=since)


async def compose(rt: Runtime, unit: list[Team], week: str) -> list[Posted]:
    """What this week's plan publishes for each team of the unit. Reads only."""
    q = rt.conversations.config.questionnaire
    s = rt.settings
    k = s.min_group_size
    k_types = thresholds(k, q.item(q.signpost.exhaustion_item).type, s.min_group_size_exhaustion)
    root = unit[0].id
    elsewhere = {
        t
        for t, p in (await rt.publications.publications([t.id for t in unit], week)).items()
        if p.root != root
    }  # re-parented after another unit froze this week: those cells are planned already
    members = [t for t in unit if t.id not in elsewhere]
    by_id = {t.id: t for t in members}
    parents = {t.id: (t.parent if t.parent in by_id else None) for t in members}
    cells = await rt.publications.pending(by_id)
    result = plan(k, parents, cells, week)
    posts: dict[str, Posted] = {}
    for pub in result.publications:
        team = by_id[pub.audience]
        history = await rt.publications.history(team.id)
        last = history[-1] if history else None
        previous = {LoadType(t): Band(b) for t, b in last.bands.items() if t in last.wide} if last else None
        summary = summarize(q, k, pub.counters, previous, k_types)
        bands = {t.value: b.value for t, b in summary.bands.items()} if summary else None
        wide = frozenset(t.value for t in summary.wide) if summary else frozenset()
        notes = await _measure_notes(rt, team.id, week, history, summary, pub.counters, k_types, k)
        pooled = any(c.window.startswith(f"{keys.FOLD}:") for c in pub.cells)  # small teams' remainders
        text = render_summary(
            q,
            team.language,
            team=team.name,
            week=week,
            k=k,
            summary=summary,
            combined=bool(pub.folded) or pooled,
            measures=notes,
        )
        text += await _plan_line(rt, team)
        used: dict[str, tuple[str, ...]] = {}
        for cell in sorted(pub.cells):
            used[cell.team] = (*used.get(cell.team, ()), cell.window)
        posts[team.id] = Posted(
            root,
            team.id,
            text,
            bands,
            tuple(sorted(wide)),
            used,
            measures=tuple(n.as_record() for n in notes),
        )
    for team in members:
        if team.id not in posts:
            # a team with a parent reads the same sentence every week, answered or not
            parent = by_id.get(result.folded_into.get(team.id) or team.parent or "")
            text = render_summary(
                q,
                team.language,
                team=team.name,
                week=week,
                k=k,
                summary=None,
                folded_into=parent.name if parent else None,
            )
            posts[team.id] = Posted(root, team.id, text + await _plan_line(rt, team))
    return list(posts.values())


async def frozen_week(rt: Runtime, unit: list[Team], week: str) -> dict[str, Posted] | None:
    """The unit's one plan for the week: frozen by the first caller, read by every later one.
    None when another process is freezing it and has not finished within a few seconds."""
    root, store = unit[0].id, rt.publications
    waited = 0.0
    while not await store.frozen(root, week):
        token = await store.lock_plan(root, week)
        if token is None:
            if waited >= PLAN_WAIT_SECONDS:
                return None
            await asyncio.sleep(0.1)
            waited += 0.1
            continue
        try:
            if not await store.frozen(root, week):
                await store.freeze(root, week, await compose(rt, unit, week))
        finally:
            await store.unlock_plan(root, week, token)
    return await store.settle(week, await store.publications([t.id for t in unit], week))


async def preview(rt: Runtime, team_id: str, now: datetime) -> str | None:
    """The text of the team's current weekly summary, exactly as posted (or to be posted): the
    frozen plan of the report week `now` belongs to, frozen now if this is its first use."""
    s = rt.settings
    for unit in (await units(rt)).values():
        if any(t.id == team_id for t in unit):
            week = report_week(unit[0], now, s.summary_day, s.summary_hour)
            pubs = await frozen_week(rt, unit, week)
            return pubs[team_id].text if pubs and team_id in pubs else None
    return None


async def due_units(rt: Runtime, now: datetime) -> list[tuple[list[Team], str]]:
    """Every unit whose report week has no finished run yet, with that week."""
    s = rt.settings
    todo = [(u, report_week(u[0], now, s.summary_day, s.summary_hour)) for u in (await units(rt)).values()]
    done = await rt.publications.runs_done([(u[0].id, w) for u, w in todo])
    due = [(u, w) for (u, w), finished in zip(todo, done, strict=True) if not finished]
    DUE_SUMMARIES.set(len(due))
    return due


async def run_counted(rt: Runtime, unit: list[Team], now: datetime, poster: Poster) -> None:
    """`run_unit`, counted in the metrics; a failure is logged and left for the next run."""
    try:
        SUMMARIES.labels("posted" if await run_unit(rt, unit, now, poster) else "pending").inc()
    except Exception as exc:  # one unit's trouble must not stop the others
        SUMMARIES.labels("failed").inc()
        log.error("weekly summary failed for a team: %s", type(exc).__name__)


async def run_due(rt: Runtime, now: datetime, poster: Poster, concurrency: int = 16) -> None:
    """Run every unit whose report week has no finished run yet, several at a time, in this
    process (the worker runs each unit as a job of its own instead: bot.worker)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(unit: list[Team]) -> None:
        async with gate:
            await run_counted(rt, unit, now, poster)

    await asyncio.gather(*(one(u) for u, _ in await due_units(rt, now)))


async def unit_of(rt: Runtime, team_ids: list[str]) -> list[Team]:
    """The unit a summary job was enqueued for, as the teams stand now (a removed team is left
    out; a unit whose top-level team is gone or has become a child is no unit: [])."""
    teams = [t for t in [await rt.teams.team(i) for i in team_ids] if t is not None]
    if not teams or teams[0].id != team_ids[0] or teams[0].parent in {t.id for t in teams}:
        return []
    return teams


async def run_unit(rt: Runtime, unit: list[Team], now: datetime, poster: Poster) -> bool:
    """Run (or finish) the report week's summaries for a unit. True when everything is posted."""
    s, store = rt.settings, rt.publications
    root = unit[0]
    moment = scheduled(root, now, s.summary_day, s.summary_hour)
    week = iso_week(moment.astimezone(UTC))
    if await store.run_done(root.id, week):
        return True
    if not await store.claim_run(root.id, week):
        return False  # another worker runs it (or died doing so: retried once the claim expires)
    complete = False
    try:
        pubs = await frozen_week(rt, unit, week)
        if pubs is None:
            return False
        complete = True
        for team in unit:
            p = pubs.get(team.id)
            if p is None or p.status == "posted" or not team.lead_channel:
                continue
            rnd = await rt.teams.current_round(team.id)
            if not p.bands and (rnd is None or rnd.opened > moment):
                continue  # no round before this report time: no weekly "not enough yet"
            if await poster(team, p.text, await _chart(rt, team, week, p)):
                await store.mark_posted(team.id, week, p)
            else:
                complete = False
        return complete
    finally:
        await store.finish_run(root.id, week, complete)
