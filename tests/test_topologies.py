"""Redis topologies: the data Redis found through Sentinel, and a Sentinel failover in the middle
of a survey with no committed answer lost. Sentinel and replica are started from the
redis-server on PATH (skipped with a reason where there is none)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
import redis as redis_sync
from conftest import free_port, monitored, redis_process
from fakes import FakeServer, FakeSlack
from slackkit import SIGNING_SECRET, SlackAgent, running_app

from bot.settings import Settings

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="no redis-server on PATH for Sentinel"
)
A_DOMINANT = ["immer", "nie", "nie", "nie"] * 3


@contextmanager
def sentinel_setup(tmp: Path) -> Iterator[tuple[int, int, int]]:
    """A master, its replica and one Sentinel (quorum 1): their ports."""
    master, replica, sentinel = free_port(), free_port(), free_port()
    base = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    conf = tmp / "sentinel.conf"
    conf.write_text(
        f"port {sentinel}\nbind 127.0.0.1\ndir {tmp}\n"
        f"sentinel monitor mymaster 127.0.0.1 {master} 1\n"
        "sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 4000\n"
    )
    with ExitStack() as stack:
        (tmp / "m").mkdir()
        (tmp / "r").mkdir()
        stack.enter_context(redis_process(["--port", str(master), "--dir", str(tmp / "m"), *base], master))
        stack.enter_context(
            redis_process(
                [
                    "--port",
                    str(replica),
                    "--dir",
                    str(tmp / "r"),
                    *base,
                    "--replicaof",
                    "127.0.0.1",
                    str(master),
                ],
                replica,
            )
        )
        stack.enter_context(redis_process([str(conf), "--sentinel"], sentinel))
        s = redis_sync.Redis(port=sentinel)
        deadline = time.monotonic() + 20
        while not s.sentinel_slaves("mymaster"):
            assert time.monotonic() < deadline, "the Sentinel did not find the replica"
            time.sleep(0.1)
        yield master, replica, sentinel


def slack_settings(api: FakeServer, **extra: str) -> Settings:
    return Settings(
        SLACK_BOT_TOKEN="xoxb-s",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{api.url}/api/",
        SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
        **extra,
    )


@asynccontextmanager
async def started(settings: Settings, fake: FakeSlack) -> AsyncIterator[SlackAgent]:
    """The web app on `settings`, and a person who has started a survey in it."""
    async with running_app(settings) as base, httpx.AsyncClient(timeout=30) as http:
        agent = SlackAgent(http, base, fake)
        await agent.say("hallo")
        await agent.click("Starten")
        yield agent


def fail_over(sentinel: int, replica: int) -> None:
    """Have the Sentinel promote the replica, and wait until it names it as the master."""
    s = redis_sync.Redis(port=sentinel)
    s.execute_command("SENTINEL", "FAILOVER", "mymaster")
    deadline = time.monotonic() + 30
    while s.sentinel_get_master_addr_by_name("mymaster")[1] != replica:
        assert time.monotonic() < deadline, "no failover"
        time.sleep(0.1)


async def test_a_sentinel_failover_in_the_middle_of_a_survey_loses_no_answer(tmp_path: Path) -> None:
    fake = FakeSlack()
    with sentinel_setup(tmp_path) as (master, replica, sentinel), FakeServer(fake, "/api") as api:
        settings = slack_settings(
            api,
            REDIS_SENTINELS=f"127.0.0.1:{sentinel}",
            REDIS_SENTINEL_MASTER="mymaster",
            RUHEPULS_SECRET="sentinel-secret",
        )
        async with started(settings, fake) as agent:
            for n, label in enumerate(A_DOMINANT[:6]):
                await agent.click(label)
                assert f"Frage {n + 2} von 12" in agent.text()
            assert redis_sync.Redis(port=master).dbsize() > 0, "the survey is on the first master"
            fail_over(sentinel, replica)
            for n, label in enumerate(A_DOMINANT[6:], start=6):
                r = await agent.click(label)
                assert r.status_code == 200
                text = agent.text()
                assert ("Ihr Ergebnis" in text) if n == 11 else (f"Frage {n + 2} von 12" in text), text
            assert "Konflikt ohne Rückendeckung" in agent.text(), "all twelve answers counted"
            assert "nicht erreichbar" not in str(fake.calls)
        await _round_and_summary(settings, fake)


async def test_surveys_in_progress_on_their_own_redis_found_through_sentinel(
    tmp_path: Path, redis_url: str
) -> None:
    """Issue 29: the sessions Redis behind Sentinel (RUHEPULS_SESSION_SENTINELS), beside a plain
    data Redis: the answers live on the Sentinel's master, never on the data server, and a
    failover in the middle of a survey loses none."""
    fake = FakeSlack()
    with sentinel_setup(tmp_path) as (master, replica, sentinel), FakeServer(fake, "/api") as api:
        data = redis_sync.Redis.from_url(redis_url)
        data.flushdb()
        settings = slack_settings(
            api,
            REDIS_URL=redis_url,
            RUHEPULS_SESSION_SENTINELS=f"127.0.0.1:{sentinel}",
            RUHEPULS_SESSION_SENTINEL_MASTER="mymaster",
            RUHEPULS_SECRET="session-sentinel-secret",
        )
        async with started(settings, fake) as agent:
            for label in A_DOMINANT[:4]:
                await agent.click(label)
            on_master = [k for k in redis_sync.Redis(port=master).keys("*") if b":s:" in k]
            assert on_master, "the survey is on the Sentinel's master"
            assert not [k for k in data.keys("*") if b":s:" in k], "and not on the data Redis"
            fail_over(sentinel, replica)
            for label in A_DOMINANT[4:]:
                assert (await agent.click(label)).status_code == 200
            assert "Konflikt ohne Rückendeckung" in agent.text(), "all twelve answers counted"
            assert "nicht erreichbar" not in str(fake.calls)


async def _round_and_summary(settings: Settings, fake: FakeSlack) -> None:
    """A round with invitations, ten people answering (two sums of five), and the weekly summary
    on this topology."""
    from datetime import UTC, datetime, timedelta

    from bot.admin import Admin
    from bot.outreach import tick
    from bot.runtime import runtime
    from bot.slack.client import web_client
    from bot.slack.outreach import SlackOutreach
    from flows import events as ev
    from flows.teams import Team

    opened = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    members = [f"UTOPO{n:02d}" for n in range(10)]
    fake.channel_members["CTOPO"] = members
    settings = settings.model_copy(update={"quiet_hours": "24-0", "workdays": "mon-sun"})
    clock = {"now": opened}
    async with runtime(settings, clock=lambda: clock["now"]) as rt:
        await rt.teams.save_team(
            Team(id="topo", name="Topo", platform="slack", channel="CTOPO", lead_channel="LTOPO")
        )
        outreach = {"slack": SlackOutreach(rt, web_client(rt))}
        assert "ist offen" in await Admin(rt, clock=lambda: opened).run("cli:x", "round open topo 10", "de")
        await tick(rt, outreach, opened)  # invitations
        posted = {c.params["channel"] for c in fake.calls if c.method == "chat.postMessage"}
        assert {f"D{u}" for u in members} <= posted
        clock["now"] = opened + timedelta(hours=1)
        for uid in members:  # the transition and count scripts
            person = rt.person("slack", f"T1:{uid}")
            await rt.conversations.handle(person, ev.Start("de"))
            for n, item in enumerate(rt.conversations.config.questionnaire.items):
                handled = await rt.conversations.handle(person, ev.Answer(item.id, 4 if n % 4 == 0 else 0))
            assert handled.finished
        rnd = await rt.teams.current_round("topo")
        assert rnd is not None and await rt.teams.respondents("topo", rnd.id) == 10
        await tick(rt, outreach, opened + timedelta(days=7, hours=-0.5))  # the weekly summary
        lead = [c.params.get("text", "") for c in fake.calls if c.params.get("channel") == "LTOPO"]
        assert any("Wochenbericht für Topo" in t and "Konflikt ohne Rückendeckung" in t for t in lead), lead


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too."""
    while True:
        port = free_port()
        if port >= 55_000:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 10_000))
            return port
        except OSError:
            continue


@contextmanager
def cluster_setup(tmp: Path) -> Iterator[list[int]]:
    """Three masters (no replicas) from the redis-server on PATH, joined by redis-cli."""
    ports = [_cluster_port() for _ in range(3)]
    with ExitStack() as stack:
        for port in ports:
            d = tmp / f"node{port}"
            d.mkdir()
            stack.enter_context(
                redis_process(
                    [
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        str(d / "nodes.conf"),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(d),
                    ],
                    port,
                )
            )
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 20
        while not all(
            b"cluster_state:ok" in redis_sync.Redis(port=p).execute_command("CLUSTER", "INFO") for p in ports
        ):
            assert time.monotonic() < deadline, "the cluster did not come up"
            time.sleep(0.1)
        yield ports


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="no redis-cli on PATH to create a cluster")
async def test_the_whole_product_on_a_three_master_cluster(tmp_path: Path, redis_url: str) -> None:
    from bot.runtime import QueueNeedsPlainRedis, runtime

    fake = FakeSlack()
    with cluster_setup(tmp_path) as ports, FakeServer(fake, "/api") as api:
        url = f"redis://127.0.0.1:{ports[0]}/0"
        slack = {
            "SLACK_BOT_TOKEN": "xoxb-c",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{api.url}/api/",
            "SLACK_RESPONSE_URL_PREFIX": f"{api.url}/respond/",
        }
        with pytest.raises(QueueNeedsPlainRedis):  # saq needs a plain Redis: said at start, not later
            async with runtime(Settings(REDIS_URL=url, RUHEPULS_SECRET="c")):
                pass
        settings = Settings(
            REDIS_URL=url,
            RUHEPULS_QUEUE_URL=redis_url,
            RUHEPULS_SECRET="cluster-secret",
            RUHEPULS_QUIET_HOURS="24-0",
            RUHEPULS_WORKDAYS="mon-sun",
            **slack,
        )
        await _round_and_summary(settings, fake)
        async with running_app(settings) as base, httpx.AsyncClient(timeout=15) as http:  # the web app
            agent = SlackAgent(http, base, fake, user="UCLUSTERWEB")
            await agent.say("hallo")
            await agent.click("Starten")
            for label in A_DOMINANT:
                await agent.click(label)
            assert "Konflikt ohne Rückendeckung" in agent.text()
        filled = [redis_sync.Redis(port=p).dbsize() for p in ports]
        assert sum(1 for n in filled if n) >= 2, f"keys spread over the cluster: {filled}"


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="no redis-cli on PATH to create a cluster")
async def test_two_web_processes_share_surveys_on_a_sessions_cluster(tmp_path: Path, redis_url: str) -> None:
    """Issue 29: surveys in progress on a Redis Cluster (RUHEPULS_SESSION_REDIS_URL), the data
    on a plain Redis, two `ruhepuls serve` processes taking a person's clicks in turn: every
    answer lands once, in order, and the result is the one the answers make."""
    from conftest import python_env, ruhepuls_process, wait_until_up

    fake = FakeSlack()
    redis_sync.Redis.from_url(redis_url).flushdb()  # the data server checked below: this test's only
    with cluster_setup(tmp_path) as ports, FakeServer(fake, "/api") as api, ExitStack() as stack:
        env = python_env(
            REDIS_URL=redis_url,
            RUHEPULS_SESSION_REDIS_URL=f"redis://127.0.0.1:{ports[0]}/0",
            RUHEPULS_SECRET="sessions-cluster",
            RUHEPULS_DATA_DIR=str(tmp_path),
            SLACK_BOT_TOKEN="xoxb-sc",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{api.url}/api/",
            SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
        )
        bases = []
        for name in ("one", "two"):
            port = free_port()
            stack.enter_context(
                ruhepuls_process(["serve"], {**env, "PORT": str(port)}, tmp_path / f"{name}.log")
            )
            bases.append(f"http://127.0.0.1:{port}")
        for n, base in enumerate(bases):
            wait_until_up(f"{base}/healthz", tmp_path / ("one.log", "two.log")[n])
        async with httpx.AsyncClient(timeout=15) as http:
            agent = SlackAgent(http, bases[0], fake, user="USESSIONCLUSTER")
            await agent.say("hallo")
            await agent.click("Starten")
            with monitored(ports) as sent:
                for n, label in enumerate(A_DOMINANT[:11]):
                    agent.base = bases[n % 2]  # the load balancer sends each click elsewhere
                    await agent.click(label)
            agent.base = bases[1]
            await agent.click(A_DOMINANT[11])
            assert "Konflikt ohne Rückendeckung" in agent.text()
        on_surveys = [ln for ln in sent if ":s:" in ln]
        assert len(on_surveys) == 11 and all('"EVALSHA"' in ln for ln in on_surveys), (
            "one command per answer on the person's survey, whichever process took the click"
        )
        held = [redis_sync.Redis(port=p).dbsize() for p in ports]
        assert sum(held), "the surveys were on the cluster"
        assert not [k for k in redis_sync.Redis.from_url(redis_url).keys("*") if b":s:" in k], (
            "no survey in progress on the data server"
        )
