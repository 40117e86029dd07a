"""Due-time jobs (issue 29): the worker's tick only asks the due index which teams' moment has
come and enqueues one job per team; any number of jobs run side by side, a failing team holds
up nobody, and the weekly summaries go out while a Monday's invitations are still under way."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import FakeServer, FakeSlack

from bot.admin import Admin
from bot.outreach import next_due, serve_team, tick
from bot.platform import Member, Outreach
from bot.runtime import Runtime, runtime
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.outreach import SlackOutreach
from bot.worker import build_worker, summaries_job, tick_job
from flows.schedule import next_allowed
from flows.teams import Team

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
BIG = [f"UB{n:03d}" for n in range(48)]


def slack_settings(redis_url: str, api: FakeServer, **extra: str) -> Settings:
    return Settings(
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN="xoxb-due",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=f"{api.url}/api/",
        RUHEPULS_SECRET="due-secret",
        **extra,
    )


@pytest.fixture
def fake_slack() -> Any:
    fake = FakeSlack(
        channel_members={f"C{n}": [f"U{n}{m}" for m in range(5)] for n in range(6)} | {"CBIG": BIG}
    )
    with FakeServer(fake, "/api") as server:
        yield server


@pytest.fixture
async def rt(redis_url: str, fake_slack: FakeServer, redis: Any) -> AsyncIterator[Runtime]:
    async with runtime(slack_settings(redis_url, fake_slack)) as r:
        yield r


async def _teams(rt: Runtime, n: int = 6) -> list[str]:
    ids = [f"t{k}" for k in range(n)]
    for k, team_id in enumerate(ids):
        await rt.teams.save_team(Team(id=team_id, name=team_id, platform="slack", channel=f"C{k}"))
    return ids


def _invited(fake: FakeSlack) -> list[str]:
    return [
        c.params["channel"]
        for c in fake.calls
        if c.method == "chat.postMessage" and c.params["channel"].startswith("DU")
    ]


async def test_a_round_puts_its_team_in_the_index_and_the_tick_serves_only_what_is_due(
    rt: Runtime, fake_slack: FakeServer
) -> None:
    await _teams(rt, 3)
    await rt.teams.open_round("t0", MONDAY_10, MONDAY_10 + timedelta(days=14))
    await rt.teams.open_round("t1", MONDAY_10 + timedelta(hours=2), MONDAY_10 + timedelta(days=14))
    assert await rt.teams.due.now(MONDAY_10) == ["t0"], "t1's round opens later; t2 has none"
    outreach: dict[str, Outreach] = {"slack": SlackOutreach(rt, web_client(rt))}
    await tick(rt, outreach, MONDAY_10 + timedelta(minutes=1), full=False)
    assert sorted(_invited(fake_slack.fake)) == [f"DU0{m}" for m in range(5)]
    first_reminder = (await rt.teams.current_round("t0")).reminders[0]  # type: ignore[union-attr]
    expected = next_allowed(first_reminder, "Europe/Berlin", rt.settings.sending_hours)
    assert await rt.teams.due.when("t0") == expected, "invited: next due at the first reminder it may send"
    await rt.close_round("t0", "cli:x", MONDAY_10 + timedelta(hours=1))
    assert await rt.teams.due.when("t0") is None, "a closed round needs nothing more"


async def test_the_scheduler_enqueues_one_job_per_due_team(rt: Runtime) -> None:
    ids = await _teams(rt, 4)
    for team_id in ids[:3]:
        await rt.teams.open_round(
            team_id, datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC) + timedelta(days=3)
        )
    ctx: Any = {"rt": rt, "outreach": {}}
    await tick_job(ctx)
    await tick_job(ctx)  # a second tick while the jobs still wait: no second job for a team
    queue: Any = rt.queue
    keys = sorted(k.decode() for k in await queue.redis.zrange(queue.namespace("incomplete"), 0, -1))
    teams = sorted(k.rsplit(":", 1)[-1] for k in keys if ":team:" in k)
    assert teams == ["t0", "t1", "t2"], keys
    assert sum(":team:" in k for k in keys) == 3, "one job per team, however often the tick runs"
    assert {"later", "tidy", "summaries"} <= {k.rsplit(":", 1)[-1] for k in keys}


async def test_the_weekly_run_is_one_job_per_unit_and_week(rt: Runtime) -> None:
    """The summaries job only schedules: each unit (a top-level team and its children) is a job
    of its own, so the weekly run spreads over every worker; scheduling again adds none."""
    ids = await _teams(rt, 4)
    await rt.teams.save_team(Team(id="child", name="child", platform="slack", channel="CX", parent=ids[0]))
    ctx: Any = {"rt": rt, "outreach": {}}
    await summaries_job(ctx)
    await summaries_job(ctx)
    queue: Any = rt.queue
    keys = [k.decode() for k in await queue.redis.zrange(queue.namespace("incomplete"), 0, -1)]
    units = sorted(k.split(":summary:", 1)[1].rsplit(":", 1)[0] for k in keys if ":summary:" in k)
    assert units == ids, "one job per unit (the child is in t0's), however often it is scheduled"
    job = await queue.job(queue.job_key_from_id(next(k for k in keys if ":summary:t0:" in k)))
    assert job is not None and job.kwargs["team_ids"] == ["t0", "child"]


async def test_charts_are_drawn_in_another_process_exactly_as_in_this_one() -> None:
    import os

    from bot import chart
    from classifier import default

    q = default()
    series = [("2026-W47", {"A": "kaum", "B": "deutlich"}), ("2026-W48", {"A": "teilweise", "B": "deutlich"})]
    chart.configure(1)
    try:
        assert await chart._off_loop(os.getpid) != os.getpid(), "not on this process's event loop"
        assert await chart.render(q, series, "de") == chart.band_chart(q, series, "de")
    finally:
        chart.shutdown()
        chart.configure(None)


class _Failing:
    """An outreach whose members cannot be read for one team."""

    in_flight = 1

    def __init__(self, inner: Outreach, broken: str) -> None:
        self.inner, self.broken = inner, broken

    async def members(self, team: Team) -> list[Member]:
        if team.id == self.broken:
            raise ConnectionError("the platform is down for this one")
        return await self.inner.members(team)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_failing_team_holds_up_nobody_and_is_tried_again_a_minute_later(
    rt: Runtime, fake_slack: FakeServer
) -> None:
    ids = await _teams(rt, 4)
    for team_id in ids:
        await rt.teams.open_round(team_id, MONDAY_10, MONDAY_10 + timedelta(days=14))
    outreach: dict[str, Outreach] = {"slack": _Failing(SlackOutreach(rt, web_client(rt)), "t1")}  # type: ignore[dict-item]
    await tick(rt, outreach, MONDAY_10, full=False)
    invited = set(_invited(fake_slack.fake))
    assert invited == {f"DU{k}{m}" for k in (0, 2, 3) for m in range(5)}
    assert await rt.teams.due.when("t1") == MONDAY_10 + timedelta(minutes=1)
    await serve_team(rt, {"slack": SlackOutreach(rt, web_client(rt))}, "t1", MONDAY_10 + timedelta(minutes=1))
    assert {f"DU1{m}" for m in range(5)} <= set(_invited(fake_slack.fake)), "its retry invites"


async def test_outside_the_sending_hours_the_team_is_due_at_the_next_allowed_moment(rt: Runtime) -> None:
    await _teams(rt, 1)
    sunday_night = MONDAY_10 - timedelta(hours=12)  # 22:00 Sunday in Berlin
    await rt.teams.open_round("t0", sunday_night, sunday_night + timedelta(days=14))
    await serve_team(rt, {"slack": _Failing(None, "")}, "t0", sunday_night)  # type: ignore[arg-type, dict-item]
    assert await rt.teams.due.when("t0") == MONDAY_10 - timedelta(hours=2), "Monday 08:00 in Berlin"
    team = await rt.teams.team("t0")
    assert team is not None and await next_due(rt, team, sunday_night) == MONDAY_10 - timedelta(hours=2)


async def _until(condition: Callable[[], bool], seconds: float, why: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, why
        await asyncio.sleep(0.05)


async def test_a_worker_serves_teams_side_by_side_and_posts_summaries_while_invitations_go_out(
    redis_url: str, fake_slack: FakeServer, redis: Any
) -> None:
    fake: FakeSlack = fake_slack.fake
    fake.delay = 1.0  # each chat.postMessage takes a second: 48 invitations cannot all be done at once
    settings = slack_settings(
        redis_url,
        fake_slack,
        RUHEPULS_TICK_CRON="* * * * * *",
        RUHEPULS_QUIET_HOURS="24-0",
        RUHEPULS_WORKDAYS="mon-sun",
    )
    async with runtime(settings) as rt:
        ids = await _teams(rt, 6)
        await rt.teams.save_team(
            Team(id="big", name="Big", platform="slack", channel="CBIG", lead_channel="LBIG")
        )
        admin = Admin(rt)
        for team_id in ids:
            assert "offen" in await admin.run("cli:x", f"round open {team_id}", "de")
        now = datetime.now(UTC)  # big's round opened before the last report time: a summary is due
        await rt.teams.open_round("big", now - timedelta(days=8), now + timedelta(days=60))
        outreach: dict[str, Outreach] = {"slack": SlackOutreach(rt, web_client(rt))}
        worker = build_worker(rt, outreach)
        task = asyncio.create_task(worker.start())
        try:
            await _until(lambda: any(c.params.get("channel") == "LBIG" for c in fake.calls), 30, "no summary")
            lead_at = next(i for i, c in enumerate(fake.calls) if c.params.get("channel") == "LBIG")
            invited_before = sum(
                1
                for c in fake.calls[:lead_at]
                if c.method == "chat.postMessage" and c.params["channel"].startswith("DUB")
            )
            assert invited_before < len(BIG), "the summary did not wait for the big team's invitations"
            everyone = 6 * 5 + len(BIG)
            await _until(lambda: len(_invited(fake)) >= everyone, 60, "not everyone was invited")
        finally:
            await worker.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    invited = _invited(fake)
    assert len(invited) == len(set(invited)) == 6 * 5 + len(BIG), "everyone once"
    assert fake.most_in_flight >= 8, f"sends were under way side by side ({fake.most_in_flight} at most)"
