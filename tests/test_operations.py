"""Operations: any number of web processes share nothing but Redis, and a Redis restart is
transparent. Two `ruhepuls serve` processes take turns on one person's clicks; Redis restarts
between two clicks; every click after the restart goes through on the first try; /healthz says
within a second that Redis is down."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from conftest import free_port, python_env, redis_process, ruhepuls_process, wait_until_up
from fakes import FakeServer, FakeSlack
from slackkit import SIGNING_SECRET, SlackAgent


@contextmanager
def redis_server(port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server that keeps its data across a restart (AOF), as a production one would."""
    args = [
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--dir",
        str(workdir),
    ]
    with redis_process(args, port) as proc:
        yield proc


async def test_two_web_processes_and_a_redis_restart_between_two_clicks(tmp_path: Path) -> None:
    port = free_port()
    fake = FakeSlack()
    with ExitStack() as stack:
        api = stack.enter_context(FakeServer(fake, "/api"))
        redis_proc = stack.enter_context(redis_server(port, tmp_path))
        bases = []
        for n in range(2):
            web = free_port()
            env = python_env(
                REDIS_URL=f"redis://127.0.0.1:{port}/0",
                PORT=str(web),
                RUHEPULS_SECRET="ops-secret",
                SLACK_BOT_TOKEN="xoxb-ops",
                SLACK_SIGNING_SECRET=SIGNING_SECRET,
                SLACK_API_URL=f"{api.url}/api/",
                SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
                RUHEPULS_DATA_DIR=str(tmp_path / f"web{n}"),
            )
            log = tmp_path / f"web{n}.log"
            stack.enter_context(ruhepuls_process(["serve"], env, log))
            wait_until_up(f"http://127.0.0.1:{web}/healthz", log)
            bases.append(f"http://127.0.0.1:{web}")
        async with httpx.AsyncClient(timeout=15) as http:
            agent = SlackAgent(http, bases[0], fake)
            await agent.say("hallo")
            await agent.click("Starten")
            for n, label in enumerate(["oft", "selten", "manchmal"]):
                agent.base = bases[n % 2]  # the load balancer sends each click elsewhere
                await agent.click(label)
                assert f"Frage {n + 2} von 12" in agent.text()
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
            down = time.monotonic()
            health = await http.get(f"{bases[0]}/healthz")
            assert health.status_code == 503 and time.monotonic() - down < 1.5, "within a second"
            restarted = stack.enter_context(redis_server(port, tmp_path))
            for n, label in enumerate(["immer", "nie", "oft", "selten"]):  # both processes, stale pools
                agent.base = bases[n % 2]
                r = await agent.click(label)
                assert r.status_code == 200
                assert f"Frage {n + 5} von 12" in agent.text(), agent.text()
            assert "nicht erreichbar" not in str(fake.calls), "nobody noticed the restart"
            assert restarted.poll() is None
    for n in range(2):
        assert "Traceback" not in (tmp_path / f"web{n}.log").read_text()
