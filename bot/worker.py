"""The worker: scheduled and queued work on saq (asyncio jobs on Redis), for any number of
worker processes, each running many jobs at once.

- `tick` (a cron job, unique per queue, every minute by default) only schedules: it asks the
  due index (`flows.due`) which teams' moment has come and enqueues one `team` job for each,
  keyed by the team, so a team has at most one job queued or running; and one job each for
  the invitations asked for again (`later`), the platforms' housekeeping (`tidy`) and the weekly
  summaries (`summaries`), which so never wait behind a Monday's invitations;
- `summaries` enqueues one `summary` job per unit whose report week is not finished, keyed by
  unit and week: the weekly run spreads over every worker, its charts drawn in a pool of
  processes (bot.chart), never on an event loop;
- `team` (also enqueued when an admin opens a round): closes the round when due, or sends its
  invitations or reminder within the team's sending hours, and puts the team back in the index
  at its next moment;
- `sweep` (hourly): settles pool batches a crash left behind and repairs the index.
Every job is idempotent (see bot.outreach), so a worker killed half-way and started again sends
no invitation twice and loses none; a failed team job is retried without holding up the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from saq import CronJob, Worker
from saq.types import Context, PartialTimersDict

from . import chart
from .background import repeating
from .logs import clamp
from .outreach import later, poster, serve_team, sweep, tidy
from .platform import Outreach, enabled, platforms
from .runtime import TEAM_JOB, Runtime, runtime
from .settings import Settings
from .weekly import due_units, run_counted, unit_of

log = logging.getLogger("ruhepuls.worker")


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def outreach_for(rt: Runtime) -> AsyncIterator[dict[str, Outreach]]:
    """The proactive side of every enabled platform, open while the context is."""
    platforms()  # the registry teaches the logs each SDK's loggers before they are clamped
    clamp(rt.settings.log_level)  # the platform SDKs' lines carry tokens, member lists and bodies
    async with contextlib.AsyncExitStack() as stack:
        yield {p.name: await p.reach(rt, stack) for p in enabled(rt.settings)}


class WorkerContext(Context, total=False):
    rt: Runtime
    outreach: dict[str, Outreach]


HEARTBEAT_SECONDS = 30
"""A summaries job that has not said it is alive for this long is abandoned (its worker died)
and swept, so the next tick enqueues it again: a crash costs well under a minute, not the job's
600 s timeout."""
SWEEP_SECONDS = 10


async def tick_job(ctx: WorkerContext) -> None:
    """The scheduler: enqueue what is due, each as a job of its own."""
    rt: Runtime = ctx["rt"]
    for team_id in await rt.teams.due.now(_now()):
        await rt.queue.enqueue("team", team_id=team_id, key=f"team:{team_id}", **TEAM_JOB)
    for chore in ("later", "tidy", "summaries"):
        await rt.queue.enqueue(chore, key=chore, timeout=600, heartbeat=HEARTBEAT_SECONDS)


async def team_job(ctx: WorkerContext, *, team_id: str) -> None:
    job = ctx.get("job")
    if job is None:
        await serve_team(ctx["rt"], ctx["outreach"], team_id, _now())
        return
    async with repeating(job.update, TEAM_JOB["heartbeat"] / 3, "team heartbeat", wait_first=True):
        await serve_team(ctx["rt"], ctx["outreach"], team_id, _now())


async def later_job(ctx: WorkerContext) -> None:
    await later(ctx["rt"], ctx["outreach"], _now())


async def tidy_job(ctx: WorkerContext) -> None:
    await tidy(ctx["outreach"])


async def summaries_job(ctx: WorkerContext) -> None:
    """One `summary` job per unit whose report week has no finished run (a unit's job is
    enqueued once per week: its key holds while it is queued, running or just done)."""
    rt: Runtime = ctx["rt"]
    for unit, week in await due_units(rt, _now()):
        await rt.queue.enqueue(
            "summary",
            team_ids=[t.id for t in unit],
            key=f"summary:{unit[0].id}:{week}",
            timeout=600,
            heartbeat=HEARTBEAT_SECONDS,
        )


async def summary_job(ctx: WorkerContext, *, team_ids: list[str]) -> None:
    """One unit's weekly summaries, telling saq every third of HEARTBEAT_SECONDS that it is
    alive (a dead worker's job is taken over within a minute, not its 600 s timeout)."""
    rt: Runtime = ctx["rt"]
    unit = await unit_of(rt, team_ids)
    if not unit:
        return
    post = poster(ctx["outreach"])
    job = ctx.get("job")
    if job is None:
        await run_counted(rt, unit, _now(), post)
        return
    async with repeating(job.update, HEARTBEAT_SECONDS / 3, "summary heartbeat", wait_first=True):
        await run_counted(rt, unit, _now(), post)


async def sweep_job(ctx: WorkerContext) -> None:
    await sweep(ctx["rt"], _now())


def build_worker(rt: Runtime, outreach: dict[str, Outreach]) -> Worker[WorkerContext]:
    async def startup(ctx: WorkerContext) -> None:
        ctx["rt"], ctx["outreach"] = rt, outreach
        await sweep(rt, _now())  # teams with an open round from before the index, at once

    return Worker(
        rt.queue,
        functions=[
            ("team", team_job),
            ("later", later_job),
            ("tidy", tidy_job),
            ("summaries", summaries_job),
            ("summary", summary_job),
        ],
        cron_jobs=[
            CronJob(tick_job, cron=rt.settings.tick_cron, timeout=60),
            CronJob(sweep_job, cron="17 * * * *", timeout=600),
        ],
        startup=startup,
        concurrency=rt.settings.worker_concurrency,
        timers=PartialTimersDict(schedule=1, worker_info=10, sweep=SWEEP_SECONDS, abort=1),
    )


STOP_SECONDS = 10.0
"""A worker told to stop (SIGTERM, SIGINT) is gone within this: its jobs are cancelled at once
(saq), its clients closed; whatever then still holds the process (a platform client that does
not close, a thread) is cut off. Every job is idempotent, so nothing is lost; a deploy or a
scaler that waits for the process never waits longer."""


def _bound_stop(seconds: float) -> None:
    """From now on the process ends within `seconds`, whatever its event loop is doing."""

    def cut() -> None:
        time.sleep(seconds)
        log.warning("worker did not stop within %.0f s; ending it", seconds)
        logging.shutdown()
        os._exit(1)

    threading.Thread(target=cut, name="ruhepuls-stop-bound", daemon=True).start()


async def work(worker: Worker[WorkerContext], stop_seconds: float = STOP_SECONDS) -> None:
    """Run `worker` until SIGTERM or SIGINT, then stop it within `stop_seconds`. The signals are
    this function's, not saq's, and plain signal handlers, not the event loop's: the bound is
    armed the moment a signal arrives, even while a job holds the loop; the loop then cancels
    the worker (saq cancels its jobs and cleans up)."""
    loop = asyncio.get_running_loop()
    worker.SIGNALS = []
    running = asyncio.create_task(worker.start(), name="ruhepuls-worker")
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if not stopping:  # a second signal changes nothing: saq's cleanup is not cut short
            stopping = True
            _bound_stop(stop_seconds)
            loop.call_soon_threadsafe(running.cancel)

    signals = (signal.SIGINT, signal.SIGTERM)
    before = {signum: signal.signal(signum, lambda _signum, _frame: stop()) for signum in signals}
    try:
        await asyncio.wait([running])  # a stop before saq began: cancelled, and that is fine
        if not running.cancelled():
            running.result()
    finally:
        stop()  # the rest (clients, pools, the loop's own cleanup) has the same bound
        for signum, handler in before.items():
            signal.signal(signum, handler)


async def unserved(rt: Runtime, outreach: dict[str, Outreach]) -> dict[str, int]:
    """Teams with an open round on a platform this worker does not serve (its settings missing
    here, say, while `serve` has them): how many, by platform."""
    waiting: dict[str, int] = {}
    known = platforms()
    for team in await rt.teams.teams():
        platform = known.get(team.platform)
        if team.platform in outreach or (platform is not None and not platform.invites):
            continue
        rnd = await rt.teams.current_round(team.id)
        if rnd is not None and rnd.is_open:
            waiting[team.platform] = waiting.get(team.platform, 0) + 1
    return waiting


def run_worker(settings: Settings) -> None:

    async def main() -> None:
        if settings.metrics_port:
            from .metrics import serve

            if serve(settings.metrics_port, settings.host) is None:
                log.info("metrics port %d is served by another process here", settings.metrics_port)
        chart.configure(settings.chart_processes)
        async with runtime(settings) as rt, outreach_for(rt) as outreach:
            log.info("worker running (%s)", ", ".join(sorted(outreach)) or "no platform configured")
            for name, count in (await unserved(rt, outreach)).items():
                why = platforms()[name].off_reason(settings) if name in platforms() else "unknown platform"
                log.warning(
                    "%d team(s) on %s have an open round, but %s is off in this worker (%s): "
                    "their invitations and reminders wait",
                    count,
                    name,
                    name,
                    why,
                )
            try:
                await work(build_worker(rt, outreach))  # returns on SIGINT or SIGTERM
            finally:
                chart.shutdown()

    asyncio.run(main())
