"""The worker: scheduled and queued work on saq (asyncio jobs on Redis).

- `tick` (a cron job, unique per queue, every minute by default): closes due rounds, sends
  invitations and the two reminders when the team's sending hours allow;
- `invite` (enqueued when an admin opens a round, one per team by its job key): runs the same
  for one team at once.
Both are idempotent (see bot.outreach), so a worker killed half-way and started again sends no
invitation twice and loses none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from saq import CronJob, Worker
from saq.types import Context, PartialTimersDict

from .background import repeating
from .logs import clamp
from .outreach import tick, tick_team
from .platform import Outreach, enabled
from .runtime import Runtime, runtime
from .settings import Settings

log = logging.getLogger("ruhepuls.worker")


def _now() -> datetime:
    return datetime.now(UTC)


@contextlib.asynccontextmanager
async def outreach_for(rt: Runtime) -> AsyncIterator[dict[str, Outreach]]:
    """The proactive side of every enabled platform, open while the context is."""
    clamp(rt.settings.log_level)  # the platform SDKs' lines carry tokens, member lists and bodies
    async with contextlib.AsyncExitStack() as stack:
        yield {p.name: await p.reach(rt, stack) for p in enabled(rt.settings)}


class WorkerContext(Context, total=False):
    rt: Runtime
    outreach: dict[str, Outreach]


HEARTBEAT_SECONDS = 30
"""A tick job that has not said it is alive for this long is abandoned (its worker died) and
swept, so the next tick runs: a crash costs well under a minute, not the job's 600 s timeout."""
SWEEP_SECONDS = 10


async def tick_job(ctx: WorkerContext) -> None:
    """One tick, telling saq every third of HEARTBEAT_SECONDS that it is alive."""
    job = ctx.get("job")
    if job is None:
        await tick(ctx["rt"], ctx["outreach"], _now())
        return
    async with repeating(job.update, HEARTBEAT_SECONDS / 3, "tick heartbeat", wait_first=True):
        await tick(ctx["rt"], ctx["outreach"], _now())


async def invite(ctx: WorkerContext, *, team_id: str) -> None:
    rt: Runtime = ctx["rt"]
    team = await rt.teams.team(team_id)
    if team is not None:
        await tick_team(rt, ctx["outreach"], team, _now())


def build_worker(rt: Runtime, outreach: dict[str, Outreach]) -> Worker[WorkerContext]:
    async def startup(ctx: WorkerContext) -> None:
        ctx["rt"], ctx["outreach"] = rt, outreach

    return Worker(
        rt.queue,
        functions=[("invite", invite)],
        cron_jobs=[CronJob(tick_job, cron=rt.settings.tick_cron, timeout=600, heartbeat=HEARTBEAT_SECONDS)],
        startup=startup,
        concurrency=4,
        timers=PartialTimersDict(schedule=1, worker_info=10, sweep=SWEEP_SECONDS, abort=1),
    )


def run_worker(settings: Settings) -> None:

    async def main() -> None:
        if settings.metrics_port:
            from .metrics import serve

            if serve(settings.metrics_port, settings.host) is None:
                log.info("metrics port %d is served by another process here", settings.metrics_port)
        async with runtime(settings) as rt, outreach_for(rt) as outreach:
            log.info("worker running (%s)", ", ".join(sorted(outreach)) or "no platform configured")
            await build_worker(rt, outreach).start()  # returns on SIGINT or SIGTERM

    asyncio.run(main())
