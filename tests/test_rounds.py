"""Teams, rounds, invitations and reminders: admin commands, the worker's tick with the time
passed in, a real Redis and the local fake Slack / Telegram APIs."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis as redis_sync
from conftest import REPO, free_port, python_env, ruhepuls_process
from fakes import FakeServer, FakeSlack, FakeTelegram
from slackkit import SIGNING_SECRET, SlackAgent, running_app

import flows
from bot.admin import Admin
from bot.outreach import pump, tick
from bot.runtime import Runtime, runtime
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.outreach import SlackOutreach
from bot.telegram.outreach import TelegramOutreach
from flows import events as ev
from flows import keys
from flows.schedule import SendingHours, allowed, next_allowed, reminder_times
from flows.teams import Team

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
MEMBERS = [f"U{n:03d}" for n in range(12)]


@pytest.fixture
def fake_slack() -> FakeServer:
    fake = FakeSlack(channel_members={"CTEAM": ["UBOT", *MEMBERS]})
    with FakeServer(fake, "/api") as server:
        yield server


def settings_for(redis_url: str, api: FakeServer, **extra: str) -> Settings:
    return Settings(
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{api.url}/api/",
        SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
        RUHEPULS_SECRET="rounds-secret",
        RUHEPULS_ADMINS="slack:UADMIN,telegram:7",
        **extra,
    )


@pytest.fixture
async def rt(redis_url: str, fake_slack: FakeServer, redis) -> AsyncIterator[Runtime]:
    async with runtime(settings_for(redis_url, fake_slack)) as r:
        await r.teams.save_team(
            Team(id="support", name="Support", platform="slack", channel="CTEAM", lead_channel="CLEAD")
        )
        yield r


def invitations(fake: FakeSlack) -> collections.Counter[str]:
    """Messages that reached a DM (a refused try is no invitation)."""
    return collections.Counter(
        c.params["channel"]
        for c in fake.calls
        if c.method == "chat.postMessage" and c.params["channel"].startswith("D") and c.result.get("ok")
    )


# --- pure schedule ------------------------------------------------------------------------------
def test_sending_hours_in_the_team_time_zone() -> None:
    hours = SendingHours.parse("18-8", "mon-fri")
    assert allowed(MONDAY_10, "Europe/Berlin", hours)
    assert not allowed(MONDAY_10.replace(hour=18), "Europe/Berlin", hours)  # 19:00 Berlin
    assert not allowed(datetime(2026, 11, 22, 10, tzinfo=UTC), "Europe/Berlin", hours)  # Sunday
    friday_night = datetime(2026, 11, 27, 20, tzinfo=UTC)
    assert next_allowed(friday_night, "Europe/Berlin", hours) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert next_allowed(MONDAY_10, "Europe/Berlin", hours) == MONDAY_10
    assert allowed(datetime(2026, 11, 22, 3, tzinfo=UTC), "UTC", SendingHours.parse("24-0", "mon-sun"))
    with pytest.raises(ValueError):
        SendingHours.parse("8-18", "mon-fri")
    r1, r2 = reminder_times(MONDAY_10, MONDAY_10 + timedelta(days=10))
    assert r1 == MONDAY_10 + timedelta(days=4) and r2 == MONDAY_10 + timedelta(days=7.5)


# --- admin commands -----------------------------------------------------------------------------
async def test_admins_open_close_and_check_rounds_and_everything_is_audited(rt: Runtime) -> None:
    admin = Admin(rt, clock=lambda: MONDAY_10)
    assert "Admins" in await admin.run("slack:UNOBODY", "round open support", "de")
    assert "admins" in await admin.run("telegram:8", "round open support", "en")
    opened = await admin.run("slack:UADMIN", "round open support 10", "de")
    assert "ist offen bis 03.12.2026 10:00" in opened and "ab 23.11.2026 10:00" in opened
    night = await Admin(rt, clock=lambda: MONDAY_10 + timedelta(hours=12)).run(
        "cli:x", "round open other", "en"
    )
    assert "no team" in night.lower()
    assert "already has an open round" in await admin.run("slack:UADMIN", "round open support", "en")
    status = await admin.run("telegram:7", "round status support", "en")
    assert "open until" in status and "shown only once the round has ended" in status
    assert "no team" in (await admin.run("slack:UADMIN", "round open nope", "en")).lower()
    assert "Admin commands" in await admin.run("slack:UADMIN", "round dance", "en")
    assert "is closed" in await admin.run("slack:UADMIN", "round close support", "en")
    log = await rt.teams.audit_log()
    assert [(e["who"], e["what"]) for e in log] == [
        ("slack:UNOBODY", "round open refused"),
        ("telegram:8", "round open refused"),
        ("slack:UADMIN", "round open"),
        ("telegram:7", "round status"),
        ("slack:UADMIN", "round close"),
    ]
    assert all("U0" not in str(e) for e in log)
    await admin.run("slack:UNOBODY", "round kill my-colleague-Anna", "de")  # free text is never stored
    last = (await rt.teams.audit_log())[-1]
    assert last["what"] == "admin command refused" and last["team"] == "-"
    assert "Anna" not in str(await rt.teams.audit_log())


async def test_round_status_leaks_no_count_and_no_live_bit(rt: Runtime, redis) -> None:
    admin = Admin(rt, clock=lambda: MONDAY_10)
    await admin.run("cli:x", "round open support", "en")
    rnd = await rt.teams.current_round("support")
    texts = []
    for n in (1, 4, 5, 9):  # while open, the status never changes with the number of results
        await redis.hset(flows.keys.counters("support"), flows.keys.round_total_field(rnd.id), n)
        texts.append(await admin.run("cli:x", "round status support", "en"))
    assert len(set(texts)) == 1 and "enough" not in texts[0]
    await redis.hset(flows.keys.counters("support"), flows.keys.round_total_field(rnd.id), 4)
    await admin.run("cli:x", "round close support", "en")
    assert "not enough responses" in await admin.run("cli:x", "round status support", "en")
    await redis.hset(flows.keys.counters("support"), flows.keys.round_total_field(rnd.id), 5)
    assert "enough responses for a summary (at least 5 people with a result)" in await admin.run(
        "cli:x", "round status support", "en"
    )


async def test_slash_command_for_admins_only(redis_url: str, fake_slack: FakeServer, redis) -> None:
    async with running_app(settings_for(redis_url, fake_slack)) as base, httpx.AsyncClient() as http:
        async with runtime(settings_for(redis_url, fake_slack)) as rt:
            await rt.teams.save_team(Team(id="support", name="Support", platform="slack", channel="CTEAM"))
        nobody = SlackAgent(http, base, fake_slack.fake, user="U001")
        r = await nobody.command("round open support")
        assert "Only Ruhepuls admins" in r.text or "Das dürfen nur Admins" in r.text
        boss = SlackAgent(http, base, fake_slack.fake, user="UADMIN")
        r = await boss.command("round open support 7")
        assert "ist offen" in r.text
        r = await boss.command("round status support")
        assert "erst nach dem Ende der Runde" in r.text
        r = await boss.command("summary support")
        assert "Ruhepuls-Wochenbericht für Support" in r.text
        r = await nobody.command("summary support")
        assert "Wochenbericht" not in r.text


# --- invitations and reminders ------------------------------------------------------------------
async def test_invitations_reach_every_member_exactly_once(rt: Runtime, fake_slack: FakeServer) -> None:
    fake = fake_slack.fake
    outreach = {"slack": SlackOutreach(rt, web_client(rt))}
    reply = await Admin(rt, clock=lambda: MONDAY_10 - timedelta(hours=12)).run(
        "cli:x", "round open support", "de"
    )
    assert "Die Einladungen gehen ab 23.11.2026 08:00 hinaus" in reply  # Sunday night: Monday 08:00
    await tick(rt, outreach, MONDAY_10 - timedelta(hours=12))  # 22:00 Sunday in Berlin: quiet
    assert invitations(fake) == {}
    await tick(rt, outreach, MONDAY_10)
    await tick(rt, outreach, MONDAY_10 + timedelta(minutes=1))
    assert invitations(fake) == {f"D{u}": 1 for u in MEMBERS}  # not the bot itself
    post = next(c for c in fake.calls if c.method == "chat.postMessage")
    values = [e["value"] for b in post.params["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert any(v.startswith("start:") for v in values)


async def test_reminders_to_every_member_so_an_export_cannot_tell_who_took_part(
    rt: Runtime, fake_slack: FakeServer
) -> None:
    fake = fake_slack.fake
    outreach = {"slack": SlackOutreach(rt, web_client(rt))}
    opened = MONDAY_10
    await Admin(rt, clock=lambda: opened).run("cli:x", "round open support 10", "de")
    await tick(rt, outreach, opened)
    finishers = MEMBERS[:4]
    for uid in finishers:  # they take the survey (as a click on the invitation would start it)
        person = rt.person("slack", f"T1:{uid}")
        await rt.conversations.handle(person, ev.Start("de"))
        for item in rt.conversations.config.questionnaire.items:
            await rt.conversations.handle(person, ev.Answer(item.id, 1))
    fake.calls.clear()
    await tick(rt, outreach, opened + timedelta(days=1))  # nothing due yet
    assert invitations(fake) == {}
    first = opened + timedelta(days=4, hours=1)  # Friday 11:00 Berlin
    await tick(rt, outreach, first)
    await tick(rt, outreach, first + timedelta(minutes=5))
    assert invitations(fake) == {f"D{u}": 1 for u in MEMBERS}, "those who finished too, with thanks"
    texts = {c.params.get("text") for c in fake.calls if c.method == "chat.postMessage"}
    assert len(texts) == 1 and "danke" in str(texts), "one text for all: thanks to those who took part"
    fake.calls.clear()
    second = opened + timedelta(days=7, hours=12)  # Monday 22:00 Berlin: quiet, then Tuesday
    await tick(rt, outreach, second)
    assert invitations(fake) == {}
    await tick(rt, outreach, second + timedelta(hours=11))
    await tick(rt, outreach, second + timedelta(days=1))
    assert invitations(fake) == {f"D{u}": 1 for u in MEMBERS}
    fake.calls.clear()
    await tick(rt, outreach, opened + timedelta(days=9))
    assert invitations(fake) == {}  # never a third reminder
    await tick(rt, outreach, opened + timedelta(days=10, minutes=1))
    assert (await rt.teams.current_round("support")).status == "closed"
    assert ("system (due)", "round close") in [(e["who"], e["what"]) for e in await rt.teams.audit_log()]


async def test_a_finished_member_cannot_answer_twice(rt: Runtime, redis) -> None:
    await Admin(rt, clock=lambda: MONDAY_10).run("cli:x", "round open support", "de")
    rnd = await rt.teams.current_round("support")
    person = rt.person("slack", "T1:U001")
    await rt.teams.members.place([person], "support")
    for _ in range(2):
        await rt.conversations.handle(person, ev.Start("de"))
        for item in rt.conversations.config.questionnaire.items:
            await rt.conversations.handle(person, ev.Answer(item.id, 2))
    assert int(await redis.hget(flows.keys.pool("support", rnd.id), "n")) == 1  # type: ignore[union-attr]


async def test_telegram_members_join_by_code_and_are_invited(redis_url: str, redis) -> None:
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN="1:T",
            TELEGRAM_WEBHOOK_SECRET="s3cret",
            TELEGRAM_API_URL=f"{api.url}/bot",
            RUHEPULS_SECRET="tg-rounds",
        )
        async with runtime(settings) as rt, running_app(settings) as base, httpx.AsyncClient() as http:
            team = await rt.teams.save_team(
                Team(id="hotline", name="Hotline", platform="telegram"), join_link=True
            )
            for uid in (11, 12, 13):
                update = {
                    "update_id": uid,
                    "message": {
                        "message_id": uid,
                        "date": 1,
                        "chat": {"id": uid, "type": "private"},
                        "from": {"id": uid, "is_bot": False, "first_name": "A"},
                        "text": f"/start {team.join_code}",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                    },
                }
                r = await http.post(
                    f"{base}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
                )
                assert r.status_code == 200
            assert "Hotline" in next(c for c in fake.calls if c.method == "sendMessage").params["text"]
            assert await rt.teams.members.joined_members("hotline") == ["11", "12", "13"]
            from telegram import Bot

            async with Bot("1:T", base_url=f"{api.url}/bot") as bot:
                await Admin(rt, clock=lambda: MONDAY_10).run("cli:x", "round open hotline", "de")
                fake.calls.clear()
                fake.fail["sendMessage"] = (429, 1)  # Telegram: "retry after 1": waited out, not lost
                await tick(rt, {"telegram": TelegramOutreach(rt, bot)}, MONDAY_10)
            sent = collections.Counter(
                c.params["chat_id"] for c in fake.calls if c.method == "sendMessage" and c.result.get("ok")
            )
            assert sent == {"11": 1, "12": 1, "13": 1}
            assert sum(c.method == "sendMessage" for c in fake.calls) == 4, "one 429, then each once"


async def test_telegram_join_links_limited_in_uses_time_and_personal(redis_url: str, redis, tmp_path) -> None:
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN="1:T",
            TELEGRAM_WEBHOOK_SECRET="s3cret",
            TELEGRAM_API_URL=f"{api.url}/bot",
            RUHEPULS_SECRET="tg-links",
        )
        async with runtime(settings) as rt, running_app(settings) as base, httpx.AsyncClient() as http:

            async def start(uid: int, code: str) -> str:
                update = {
                    "update_id": uid,
                    "message": {
                        "message_id": uid,
                        "date": 1,
                        "chat": {"id": uid, "type": "private"},
                        "from": {"id": uid, "is_bot": False, "first_name": "A"},
                        "text": f"/start {code}",
                        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                    },
                }
                before = len(fake.calls)
                r = await http.post(
                    f"{base}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
                )
                assert r.status_code == 200
                return " ".join(c.params["text"] for c in fake.calls[before:] if c.method == "sendMessage")

            await rt.teams.save_team(Team(id="hotline", name="Hotline", platform="telegram"), join_link=True)
            twice = await rt.teams.members.join_link("hotline", uses=2)
            assert "Hotline" in await start(21, twice) and "Hotline" in await start(22, twice)
            assert "nicht (mehr) gültig" in await start(23, twice), "a two-use link takes two joins"
            personal = await rt.teams.members.join_link("hotline", uses=1)
            assert "Hotline" in await start(24, personal)
            assert "nicht (mehr) gültig" in await start(25, personal)
            short = await rt.teams.members.join_link("hotline", days=1)
            assert 0 < await redis.ttl(flows.keys.join_code(short)) <= 86_400
            await redis.delete(flows.keys.join_code(short))  # what expiry does
            assert "nicht (mehr) gültig" in await start(26, short)
            assert await rt.teams.members.joined_count("hotline") == 3
            own = (await rt.teams.team("hotline")).join_code  # type: ignore[union-attr]
            assert 29 * 86_400 < await redis.ttl(flows.keys.join_code(own)) <= 30 * 86_400, (
                "no round yet: the team's own link lasts 30 days"
            )
            now = datetime.now(UTC)
            await rt.teams.open_round("hotline", now, now + timedelta(days=14))
            assert 43 * 86_400 < await redis.ttl(flows.keys.join_code(own)) <= 44 * 86_400, (
                "expires with the round"
            )
    env = python_env(REDIS_URL=redis_url, RUHEPULS_SECRET="tg-links", RUHEPULS_DATA_DIR=str(tmp_path))
    cli = [sys.executable, "-m", "bot", "team"]
    out = subprocess.run(
        [*cli, "link", "hotline", "--personal", "3", "--days", "14"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    codes = [line.rsplit("=", 1)[1] for line in out.split()]
    assert len(set(codes)) == 3
    for code in codes:
        assert await redis.hget(flows.keys.join_code(code), "uses") == b"1"
    joined = subprocess.run([*cli, "joined", "hotline"], env=env, cwd=REPO, capture_output=True, text=True)
    assert joined.stdout.strip() == "3 joined hotline by a link"
    plain = subprocess.run(
        [*cli, "link", "hotline"], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    code = plain.stdout.strip().rsplit("=", 1)[1]
    assert await redis.hget(flows.keys.join_code(code), "uses") == b"50", "limited by default"
    assert 13 * 86_400 < await redis.ttl(flows.keys.join_code(code)) <= 14 * 86_400


# --- the real worker, killed half-way -----------------------------------------------------------
def test_worker_killed_half_way_sends_no_invitation_twice_and_loses_none(redis_url: str, tmp_path) -> None:
    redis_sync.Redis.from_url(redis_url).flushdb()  # the worker ticks every team in Redis: only this test's
    members = [f"W{n:03d}" for n in range(40)]
    fake = FakeSlack(channel_members={"CBIG": members}, delay=0.05)
    with FakeServer(fake, "/api") as api:
        env = python_env(
            REDIS_URL=redis_url,
            SLACK_BOT_TOKEN="xoxb-w",
            SLACK_SIGNING_SECRET="x",
            SLACK_API_URL=f"{api.url}/api/",
            SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
            RUHEPULS_SECRET="worker-secret",
            RUHEPULS_QUIET_HOURS="24-0",
            RUHEPULS_WORKDAYS="mon-sun",
            RUHEPULS_TICK_CRON="* * * * * *",
            RUHEPULS_SEND_LOCK_SECONDS="2",
            RUHEPULS_DATA_DIR=str(tmp_path),
        )
        cli = [sys.executable, "-m", "bot"]
        subprocess.run(
            [*cli, "team", "add", "big", "--name", "Big", "--platform", "slack", "--channel", "CBIG"],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*cli, "round", "open", "--team", "big"], env=env, cwd=REPO, check=True, capture_output=True
        )
        err = kill_worker_half_way(
            env, lambda: sum(invitations(fake).values()), 10, len(members), len(members)
        )
        assert invitations(fake) == {f"D{u}": 1 for u in members}
        assert "xoxb-w" not in err and "W0" not in err


def kill_worker_half_way(
    env: dict[str, str], sent: Callable[[], int], at: int, total: int, until: int
) -> str:
    """Start `ruhepuls worker`, kill it once `at` messages went out, start it again and let it
    finish (`until` sent, then until the team "big" is idle: no job of its own queued or running
    and nothing due before its reminders, so no later tick can send more); its stderr."""
    cli = [sys.executable, "-m", "bot", "worker"]
    worker = subprocess.Popen(cli, env=env, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: sent() >= at, 30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert sent() < total, "the worker should have been killed half-way"
        worker = subprocess.Popen(cli, env=env, cwd=REPO, stderr=subprocess.PIPE, text=True)
        _wait(lambda: sent() >= until, 60)
        _wait(lambda: _idle(env["REDIS_URL"], "big"), 30)
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=20)
    return err


def _idle(redis_url: str, team_id: str) -> bool:
    """No job for the team queued, scheduled or running, and the team next due in an hour or
    later (its reminders), or not at all."""
    from bot.runtime import QUEUE
    from flows.due import _shard

    r = redis_sync.Redis.from_url(redis_url)
    job = f"saq:job:{QUEUE}:team:{team_id}"
    due = r.zscore(_shard(team_id), team_id)
    return (
        r.zscore(f"saq:{QUEUE}:incomplete", job) is None
        and r.lpos(f"saq:{QUEUE}:active", job) is None
        and r.lpos(f"saq:{QUEUE}:queued", job) is None
        and (due is None or due > time.time() + 3600)
    )


STUCK_WORKER = """
import asyncio, sys, time
from redis.asyncio import Redis
from saq import Worker
from saq.queue.redis import RedisQueue
from bot.worker import work

async def stuck(ctx):
    print("stuck", flush=True)
    time.sleep(300)  # a job that holds the event loop: a blocking call where none belongs

async def main():
    queue = RedisQueue(Redis.from_url(sys.argv[1]), name=sys.argv[2])
    await queue.enqueue("stuck", timeout=600)
    await work(Worker(queue, functions=[("stuck", stuck)]), stop_seconds=1)

asyncio.run(main())
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_told_to_stop_is_gone_within_its_bound_even_while_a_job_holds_the_loop(
    redis_url: str, signum: signal.Signals
) -> None:
    """A deploy or a scaler that stops a worker never waits on it: the bound is armed by the
    signal itself, so a job stuck in a blocking call (or a client that will not close) cannot
    keep the process alive; its jobs are idempotent, so nothing is lost."""
    queue = f"stuck-{signum.name}-{free_port()}"
    worker = subprocess.Popen(
        [sys.executable, "-c", STUCK_WORKER, redis_url, queue],
        env=python_env(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "stuck\n"
        worker.send_signal(signum)
        _, err = worker.communicate(timeout=60)  # without the bound: the job's 300 s
    finally:
        worker.kill()
    assert worker.returncode == 1
    assert "did not stop within 1 s; ending it" in err


def _wait(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


async def test_telegram_admin_commands(redis_url: str, redis) -> None:
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN="1:T",
            TELEGRAM_WEBHOOK_SECRET="s3cret",
            TELEGRAM_API_URL=f"{api.url}/bot",
            RUHEPULS_SECRET="tg-admin",
            RUHEPULS_ADMINS="telegram:7",
        )
        async with runtime(settings) as rt, running_app(settings) as base, httpx.AsyncClient() as http:
            await rt.teams.save_team(Team(id="hotline", name="Hotline", platform="telegram"), join_link=True)

            async def command(uid: int, text: str) -> str:
                update = {
                    "update_id": uid * 1000 + len(fake.calls),
                    "message": {
                        "message_id": 1,
                        "date": 1,
                        "chat": {"id": uid, "type": "private"},
                        "from": {"id": uid, "is_bot": False, "first_name": "A"},
                        "text": text,
                        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
                    },
                }
                r = await http.post(
                    f"{base}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
                )
                assert r.status_code == 200
                return next(c for c in reversed(fake.calls) if c.method == "sendMessage").params["text"]

            assert "Admins" in await command(8, "/round open hotline")
            assert "ist offen bis" in await command(7, "/round open hotline 5")
            assert "erst nach dem Ende der Runde" in await command(7, "/round@ruhepuls_bot status hotline")
            assert "hotline: Hotline (telegram)" in await command(7, "/team list")
            assert [e["who"] for e in await rt.teams.audit_log()] == [
                "telegram:8",
                "telegram:7",
                "telegram:7",
            ]


async def test_later_asks_again_in_an_hour_or_not_this_round(
    redis_url: str, fake_slack: FakeServer, redis
) -> None:
    """ "Später" offers "in an hour", "tomorrow" and "not this time": the first brings the
    invitation back once, outside quiet hours; the last keeps the reminders away, telling nobody."""
    fake = fake_slack.fake
    clock = {"now": MONDAY_10}
    async with runtime(settings_for(redis_url, fake_slack), clock=lambda: clock["now"]) as r:
        await r.teams.save_team(Team(id="later", name="Later", platform="slack", channel="CTEAM"))
        outreach = {"slack": SlackOutreach(r, web_client(r))}
        await Admin(r, clock=lambda: MONDAY_10).run("cli:x", "round open later 10", "de")
        await tick(r, outreach, MONDAY_10)
        assert invitations(fake) == {f"D{u}": 1 for u in MEMBERS}
        snoozer, quiet = MEMBERS[0], MEMBERS[1]

        async def press(uid: str, event: ev.Event) -> str:
            person = r.person("slack", f"T1:{uid}")
            handled = await r.conversations.handle(
                person, event, event_id=f"{uid}{event}", reach=("slack", uid)
            )
            return " ".join(getattr(m, "text", "") for m in handled.messages)

        menu = await press(snoozer, ev.Later())
        assert "Wann darf ich" in menu
        assert "in etwa einer Stunde" in await press(snoozer, ev.Snooze(1))
        await press(snoozer, ev.Snooze(1))  # a double press asks once
        assert "erinnere ich Sie nicht mehr" in await press(quiet, ev.NotThisTime())
        stored = await redis.zrange(flows.keys.LATER, 0, -1)
        assert len(stored) == 1 and b"T1" not in stored[0]  # the address and a pseudonym, once
        await tick(r, outreach, MONDAY_10 + timedelta(minutes=30))
        assert invitations(fake)[f"D{snoozer}"] == 1, "not before the hour"
        clock["now"] = MONDAY_10 + timedelta(minutes=61)
        await tick(r, outreach, clock["now"])
        await tick(r, outreach, clock["now"] + timedelta(minutes=1))
        assert invitations(fake)[f"D{snoozer}"] == 2, "asked again, once"
        assert await redis.zcard(flows.keys.LATER) == 0
        await tick(r, outreach, MONDAY_10 + timedelta(days=4, hours=1))  # the first reminder
        sent = invitations(fake)
        assert sent[f"D{quiet}"] == 1, "no reminder after 'not this time'"
        assert all(sent[f"D{u}"] == 2 for u in MEMBERS if u not in (snoozer, quiet))
        # a snooze into quiet hours waits for the morning
        person = r.person("slack", f"T1:{MEMBERS[2]}")
        await r.snoozes.add("slack", MEMBERS[2], person, (MONDAY_10 + timedelta(hours=10)).timestamp())
        night = MONDAY_10 + timedelta(hours=11)  # 20:00 in Berlin
        await tick(r, outreach, night)
        assert invitations(fake)[f"D{MEMBERS[2]}"] == 2 and await redis.zcard(flows.keys.LATER) == 1


async def test_a_member_who_cannot_be_reached_backs_off_and_never_blocks_the_reminders(
    rt: Runtime, fake_slack: FakeServer
) -> None:
    """Issue 28: a member whose invitation kept failing was retried every tick, the round was
    never marked invited, nobody got a reminder, and nobody was told."""
    fake = fake_slack.fake
    fake.broken[f"D{MEMBERS[0]}"] = "fatal_error"
    outreach = {"slack": SlackOutreach(rt, web_client(rt))}
    await Admin(rt, clock=lambda: MONDAY_10).run("cli:x", "round open support 10", "de")
    tries = []
    for minute in range(0, 40):  # forty ticks, a minute apart
        await tick(rt, outreach, MONDAY_10 + timedelta(minutes=minute))
        tries.append(
            sum(
                1
                for c in fake.calls
                if c.method == "chat.postMessage" and c.params["channel"] == f"D{MEMBERS[0]}"
            )
        )
    assert tries[-1] == 5, "five tries, 1, 2, 4 and 8 minutes apart, not forty"
    assert tries[0] == 1 and tries[1] == 2 and tries[2] == 2, tries[:5]
    rnd = await rt.teams.current_round("support")
    assert rnd is not None and rnd.invited, "the others' reminders are not held back"
    status = await Admin(rt, clock=lambda: MONDAY_10).run("cli:x", "round status support", "de")
    assert "1 Einladungen oder Erinnerungen" in status and "fatal_error" in status
    assert ("system", "inv failed") in [(e["who"], e["what"]) for e in await rt.teams.audit_log()]
    assert MEMBERS[0] not in status


async def test_a_retry_after_longer_than_the_send_lock_sends_nobody_a_second_invitation(
    redis_url: str, fake_slack: FakeServer, redis
) -> None:
    """Issue 28: a Retry-After of 31 s against a 30 s send lock let a second worker take the lock
    and send the same invitation again. The lock is now held while its worker lives."""
    import asyncio

    fake = fake_slack.fake
    fake.rate_limit["chat.postMessage"], fake.retry_after = 1, 4  # longer than the 2 s lock
    async with runtime(settings_for(redis_url, fake_slack, RUHEPULS_SEND_LOCK_SECONDS="2")) as rt:
        await rt.teams.save_team(
            Team(id="support", name="Support", platform="slack", channel="CTEAM", lead_channel="CLEAD")
        )
        await Admin(rt, clock=lambda: MONDAY_10).run("cli:x", "round open support 10", "de")

        async def worker(delay: float) -> None:
            await asyncio.sleep(delay)
            await tick(rt, {"slack": SlackOutreach(rt, web_client(rt))}, MONDAY_10)

        await asyncio.gather(worker(0), worker(2.5), worker(3.5))  # two more workers, after the lock's 2 s
        await tick(rt, {"slack": SlackOutreach(rt, web_client(rt))}, MONDAY_10 + timedelta(minutes=1))
    assert invitations(fake) == {f"D{u}": 1 for u in MEMBERS}, "everyone once, nobody twice"


def test_round_open_with_the_queue_down_opens_the_round_and_says_so(redis_url: str, redis, tmp_path) -> None:
    """Issue 28: a traceback, though the round was open, and a retry refused."""
    env = python_env(
        REDIS_URL=redis_url,
        RUHEPULS_SECRET="q",
        RUHEPULS_DATA_DIR=str(tmp_path),
        RUHEPULS_QUEUE_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    cli = [sys.executable, "-m", "bot"]
    subprocess.run(
        [*cli, "team", "add", "qd", "--name", "QD", "--platform", "slack", "--channel", "C1"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [*cli, "round", "open", "--team", "qd"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "ist offen" in out.stdout and "nächsten Lauf" in out.stdout


async def invite(fake: FakeSlack, redis_url: str, members: list[str], **extra: str) -> bool:
    """Open a round for a team of `members` and invite them all; whether every one was invited."""
    fake.channel_members["CWS"] = members
    with FakeServer(fake, "/api") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            SLACK_BOT_TOKEN="xoxb-ws",
            SLACK_SIGNING_SECRET="s",
            SLACK_API_URL=f"{api.url}/api/",
            RUHEPULS_SECRET="ws-secret",
            **extra,
        )
        async with runtime(settings) as rt:
            await rt.sessions.delete(keys.limit("slack", "T1", "chat.postMessage"))
            team = await rt.teams.save_team(Team(id="ws", name="WS", platform="slack", channel="CWS"))
            now = datetime(2026, 11, 23, 9, tzinfo=UTC)
            rnd = await rt.teams.open_round("ws", now, now + timedelta(days=14))
            return await pump(rt, SlackOutreach(rt, web_client(rt)), team, rnd, "ws", now)


def posts(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls if c.method == "chat.postMessage"]


async def test_invitations_keep_inside_the_workspaces_post_budget(redis_url: str, redis) -> None:
    """Issue 29: beyond one a second per channel, Slack limits an app's posts in a workspace,
    all channels together. Invitations go to as many channels as people, so only the
    workspace-wide bucket (SLACK_POSTS_PER_MINUTE) keeps them inside it."""
    members = [f"UW{n:03d}" for n in range(80)]
    fake = FakeSlack(enforce_limits=True, workspace_posts=(10.0, 50))  # 600 a minute, bursts of 50
    assert await invite(fake, redis_url, members, SLACK_POSTS_PER_MINUTE="600")
    sent = collections.Counter(c.params["channel"] for c in posts(fake) if c.result.get("ok"))
    assert sent == {f"D{u}": 1 for u in members}, "every member invited exactly once"
    refused = [c for c in posts(fake) if not c.result.get("ok")]
    assert len(refused) <= 1, f"{len(refused)} posts refused: the budget was not kept"


async def test_a_refused_post_pauses_the_workspaces_posts_in_every_channel(redis_url: str, redis) -> None:
    """A 429 on chat.postMessage may be the workspace's: after it, no post goes to any channel
    until its Retry-After has passed (but those already on their way)."""
    members = [f"UP{n:02d}" for n in range(40)]
    fake = FakeSlack(retry_after=2)
    fake.rate_limit["chat.postMessage"] = 1
    assert await invite(fake, redis_url, members)
    first, *rest = posts(fake)
    assert first.result.get("error") == "ratelimited" and len(rest) == len(members)
    assert all(c.result.get("ok") for c in rest)
    meanwhile = [c for c in rest if c.at < first.at + 1.9]
    # those on their way, and those that took their slot while the 429 was on its way back
    assert len(meanwhile) < 2 * SlackOutreach.in_flight, "the other channels waited the Retry-After too"


async def test_a_round_nobody_sends_is_said_to_the_admin_and_by_the_worker(
    redis_url: str, redis, tmp_path
) -> None:
    """A worker started without a platform's settings (`serve` has them in its own terminal)
    sent nothing for that platform's teams, and nobody was told: `round status` now says the
    invitations have not gone out, and the worker names the teams that wait, and why."""
    await redis.flushdb()  # the worker reads every team in this database
    settings = Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="unserved", RUHEPULS_WEB_CHAT="1")
    async with runtime(settings) as rt:
        await rt.teams.save_team(Team(id="tg", name="Tg", platform="telegram"), join_link=True)
        await rt.teams.save_team(Team(id="floor", name="Floor", platform="web"), join_link=True)
        admin = Admin(rt, clock=lambda: MONDAY_10)
        for team in ("tg", "floor"):
            assert "open" in await admin.run("cli:x", f"round open {team}", "en")
        assert "have not gone out yet" in await admin.run("cli:x", "round status tg", "en")
    env = python_env(REDIS_URL=redis_url, RUHEPULS_SECRET="unserved", RUHEPULS_DATA_DIR=str(tmp_path))
    log = tmp_path / "worker.log"
    with ruhepuls_process(["worker"], env, log):
        _wait(lambda: "wait" in log.read_text() and "worker running" in log.read_text(), 30)
    said = log.read_text()
    assert "1 team(s) on telegram have an open round, but telegram is off in this worker" in said, said
    assert "TELEGRAM_BOT_TOKEN is not set" in said and "on web" not in said, "web chat invites nobody"
