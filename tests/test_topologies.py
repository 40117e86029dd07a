"""Redis topologies: the data Redis found through Sentinel, and a Sentinel failover in the middle
of a survey with no committed answer lost. Sentinel and replica are started from the
redis-server on PATH (skipped with a reason where there is none)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import redis as redis_sync
from conftest import free_port
from fakes import FakeServer, FakeSlack
from slackkit import SIGNING_SECRET, SlackAgent, running_app

from bot.settings import Settings

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="no redis-server on PATH for Sentinel"
)
A_DOMINANT = ["immer", "nie", "nie", "nie"] * 3


def _up(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.05)


@contextmanager
def _server(args: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["redis-server", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _up(port)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def sentinel_setup(tmp: Path) -> Iterator[tuple[int, int, int]]:
    """A master, its replica and one Sentinel (quorum 1): their ports."""
    master, replica, sentinel = free_port(), free_port(), free_port()
    base = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    conf = tmp / "sentinel.conf"
    conf.write_text(f"port {sentinel}\nbind 127.0.0.1\ndir {tmp}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {master} 1\n"
                    "sentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 4000\n")  # fmt: skip
    with ExitStack() as stack:
        (tmp / "m").mkdir()
        (tmp / "r").mkdir()
        stack.enter_context(_server(["--port", str(master), "--dir", str(tmp / "m"), *base], master))
        stack.enter_context(_server(["--port", str(replica), "--dir", str(tmp / "r"), *base,
                                     "--replicaof", "127.0.0.1", str(master)], replica))  # fmt: skip
        stack.enter_context(_server([str(conf), "--sentinel"], sentinel))
        s = redis_sync.Redis(port=sentinel)
        deadline = time.monotonic() + 20
        while not s.sentinel_slaves("mymaster"):
            assert time.monotonic() < deadline, "the Sentinel did not find the replica"
            time.sleep(0.1)
        yield master, replica, sentinel


async def test_a_sentinel_failover_in_the_middle_of_a_survey_loses_no_answer(tmp_path: Path) -> None:
    fake = FakeSlack()
    with sentinel_setup(tmp_path) as (master, replica, sentinel), FakeServer(fake, "/api") as api:
        settings = Settings(REDIS_SENTINELS=f"127.0.0.1:{sentinel}", REDIS_SENTINEL_MASTER="mymaster",
                            RUHEPULS_SECRET="sentinel-secret", SLACK_BOT_TOKEN="xoxb-s",
                            SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=f"{api.url}/api/",
                            SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/")  # fmt: skip
        async with running_app(settings) as base, httpx.AsyncClient(timeout=30) as http:
            agent = SlackAgent(http, base, fake)
            await agent.say("hallo")
            await agent.click("Starten")
            for n, label in enumerate(A_DOMINANT[:6]):
                await agent.click(label)
                assert f"Frage {n + 2} von 12" in agent.text()
            assert redis_sync.Redis(port=master).dbsize() > 0, "the survey is on the first master"
            redis_sync.Redis(port=sentinel).execute_command("SENTINEL", "FAILOVER", "mymaster")
            s = redis_sync.Redis(port=sentinel)
            deadline = time.monotonic() + 30
            while s.sentinel_get_master_addr_by_name("mymaster")[1] != replica:
                assert time.monotonic() < deadline, "no failover"
                time.sleep(0.1)
            for n, label in enumerate(A_DOMINANT[6:], start=6):
                r = await agent.click(label)
                assert r.status_code == 200
                text = agent.text()
                assert ("Ihr Ergebnis" in text) if n == 11 else (f"Frage {n + 2} von 12" in text), text
            assert "Konflikt ohne Rückendeckung" in agent.text(), "all twelve answers counted"
            assert "nicht erreichbar" not in str(fake.calls)
