"""GET /metrics after a survey: the counts are there, the token is required when set, and no
label value looks like a user id (a test fails on one)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import httpx
from conftest import free_port, python_env, ruhepuls_process, wait_until_up
from fakes import FakeServer, FakeSlack
from prometheus_client.parser import text_string_to_metric_families
from slackkit import SIGNING_SECRET, SlackAgent, running_app

from bot.settings import Settings

ID_SHAPES = [
    re.compile(r"^[UWBT][A-Z0-9]{5,}$"),  # Slack user, bot, team ids
    re.compile(r"^-?\d{5,}$"),  # Telegram user and chat ids
    re.compile(r"^(29|28|a|19):"),  # Teams account and conversation ids
    re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-"),  # Entra object ids
    re.compile(r"^[0-9a-f]{16,}$"),  # pseudonyms, tokens, hashes
]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_count_a_survey_and_carry_no_ids(redis_url: str, redis) -> None:
    fake = FakeSlack()
    with FakeServer(fake, "/api") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            SLACK_BOT_TOKEN="xoxb-metrics",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{api.url}/api/",
            SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
            RUHEPULS_SECRET="metrics-secret",
            RUHEPULS_METRICS_TOKEN="scrape-token",
        )
        async with running_app(settings) as base, httpx.AsyncClient(timeout=15) as http:
            auth = {"Authorization": "Bearer scrape-token"}
            assert (await http.get(f"{base}/metrics")).status_code == 401
            assert (
                await http.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"})
            ).status_code == 401
            before = samples((await http.get(f"{base}/metrics", headers=auth)).text)
            agent = SlackAgent(http, base, fake, user="UMETRICS01")
            await agent.say("hallo")
            await agent.click("Starten")
            for label in ["immer", "nie", "nie", "nie"] * 3:
                await agent.click(label)
            assert "Ihr Ergebnis" in agent.text()
            r = await http.get(f"{base}/metrics", headers=auth)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
            after = samples(r.text)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("ruhepuls_events_total", platform="slack", kind="answer") == 12
    assert delta("ruhepuls_events_total", platform="slack", kind="start") == 1
    assert not [k for k in after if "completion" in k[0]], "no live completion counter"
    assert delta("ruhepuls_platform_calls_total", platform="slack", method="response_url", status="ok") >= 12
    assert delta("ruhepuls_event_seconds_count") >= 14
    for (_, labels), _ in after.items():
        for key, value in labels:
            if key == "le":
                continue
            assert not any(shape.match(value) for shape in ID_SHAPES), f"{key}={value} looks like an id"
    assert "UMETRICS01" not in r.text and "metrics-secret" not in r.text


def test_the_id_guard_can_fail() -> None:
    assert any(shape.match("UMETRICS01") for shape in ID_SHAPES)
    assert any(shape.match("123456789") for shape in ID_SHAPES)
    assert any(shape.match("29:1a2b3c") for shape in ID_SHAPES)
    assert not any(
        shape.match(v) for shape in ID_SHAPES for v in ("slack", "answer", "chat.update", "429", "ok")
    )


def test_metrics_on_a_port_of_their_own(tmp_path: Path, redis_url: str) -> None:
    """RUHEPULS_METRICS_PORT: the metrics leave the public port; a second process on the same
    machine starts all the same (the first one serves every process's figures)."""
    metrics_port, ports = free_port(), [free_port(), free_port()]
    multiproc = tmp_path / "prom"
    multiproc.mkdir()
    with contextlib.ExitStack() as stack:
        for i, port in enumerate(ports):
            env = python_env(
                REDIS_URL=redis_url,
                RUHEPULS_SECRET="m",
                PORT=str(port),
                RUHEPULS_METRICS_PORT=str(metrics_port),
                PROMETHEUS_MULTIPROC_DIR=str(multiproc),
            )
            stack.enter_context(ruhepuls_process(["serve"], env, tmp_path / f"serve{i}.log"))
            wait_until_up(f"http://127.0.0.1:{port}/healthz", tmp_path / f"serve{i}.log")
        for port in ports:
            assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
            assert httpx.post(f"http://127.0.0.1:{port}/slack/events", content=b"{}").status_code != 500
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200
        assert "# TYPE ruhepuls_event_seconds histogram" in scraped.text
