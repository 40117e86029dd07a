"""Logs are storage too: `ruhepuls serve` and `ruhepuls worker` run at DEBUG as real processes
through surveys on Slack and Telegram, a round with invitations and a weekly summary, and their
logs are searched for tokens, secrets, user ids, answers and result text."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time

import httpx
import redis as redis_sync
from conftest import REPO, free_port, python_env, ruhepuls_process, wait_until_up
from fakes import FakeServer, FakeSlack, FakeTelegram
from slackkit import SIGNING_SECRET, SlackAgent
from tgkit import WEBHOOK_SECRET, TelegramAgent

from bot.logs import Redact
from flows import keys
from flows.teams import Team

TG_TOKEN = "987654321:AAHsecretTelegramTokenValue_0123456789"
SLACK_TOKEN = "xoxb-1111-2222-secretSlackBotToken"
PSEUDONYM_SECRET = "log-scan-pseudonym-secret"
MEMBERS = ["ULOGMEMBER1", "ULOGMEMBER2", "ULOGMEMBER3"]


def test_redaction_masks_tokens_in_messages_and_tracebacks() -> None:
    from bot.platform import platforms

    platforms()  # the logs learn each platform's token shapes from the registry, as every command loads it
    redact = Redact([PSEUDONYM_SECRET])
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "POST https://api.telegram.org/bot%s/getMe", (TG_TOKEN,), None
    )
    try:
        raise RuntimeError(f"failed with {SLACK_TOKEN} and {PSEUDONYM_SECRET}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    redact.filter(record)
    text = record.getMessage() + (record.exc_text or "")
    for secret in (TG_TOKEN, SLACK_TOKEN, PSEUDONYM_SECRET, "AAHsecret"):
        assert secret not in text
    assert "RuntimeError" in text and "***" in text


def wait_for(predicate, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


async def test_serve_and_worker_at_debug_log_no_secret_id_answer_or_result(
    redis_url: str, redis, tmp_path
) -> None:
    slack = FakeSlack(channel_members={"CLOG": MEMBERS})
    telegram = FakeTelegram()
    with FakeServer(slack, "/api") as slack_api, FakeServer(telegram, "/bot") as tg_api:
        port = free_port()
        env = python_env(
            REDIS_URL=redis_url,
            RUHEPULS_LOG_LEVEL="DEBUG",
            RUHEPULS_SECRET=PSEUDONYM_SECRET,
            RUHEPULS_DATA_DIR=str(tmp_path),
            PORT=str(port),
            SLACK_BOT_TOKEN=SLACK_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{slack_api.url}/api/",
            SLACK_RESPONSE_URL_PREFIX=f"{slack_api.url}/respond/",
            TELEGRAM_BOT_TOKEN=TG_TOKEN,
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TELEGRAM_API_URL=f"{tg_api.url}/bot",
            RUHEPULS_QUIET_HOURS="24-0",
            RUHEPULS_WORKDAYS="mon-sun",
            RUHEPULS_TICK_CRON="* * * * * *",
        )
        sync = redis_sync.Redis.from_url(redis_url)
        team = Team(id="logs", name="Logs", platform="slack", channel="CLOG", lead_channel="LLOG")
        sync.set(keys.team("logs"), team.model_dump_json())
        sync.sadd(keys.TEAMS, "logs")
        # responses of an earlier round in a week long past, so that the worker's weekly summary
        # has something to say (and draws its chart)
        sync.hset(keys.counters("logs"), mapping=keys.cell_fields("r0", "2026-W01", earlier_counters()))
        subprocess.run(
            [sys.executable, "-m", "bot", "round", "open", "--team", "logs"],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
        with ruhepuls_process(["serve"], env, web_log), ruhepuls_process(["worker"], env, worker_log):
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/healthz", web_log)
            # the worker invites every member first (within a second or two); a survey started
            # before that would see the invitation arrive as the newest message in between
            wait_for(
                lambda: (
                    sum(
                        c.method == "chat.postMessage" and str(c.params.get("channel", "")).startswith("D")
                        for c in slack.calls
                    )
                    >= len(MEMBERS)
                )
            )
            async with httpx.AsyncClient() as http:
                agent = SlackAgent(http, base, slack, user=MEMBERS[0])
                await agent.say("hallo")
                agent.sync()
                await agent.click("Starten")
                for _ in range(12):
                    agent.sync()
                    await agent.click("oft")
                agent.sync()
                assert "Ihr Ergebnis" in agent.text()
                kim = TelegramAgent(http, base, telegram, user_id=777000111)
                await kim.say("/start")
                kim.sync()
                await kim.click("Starten")
                for _ in range(12):
                    kim.sync()
                    await kim.click("selten")
                kim.sync()
            wait_for(
                lambda: (
                    sum(
                        c.method == "chat.postMessage" and c.params.get("channel") == "LLOG"
                        for c in slack.calls
                    )
                    >= 1
                )
            )
            await asyncio.sleep(1.5)
    logs = web_log.read_text() + worker_log.read_text()
    assert "DEBUG" in logs or "INFO" in logs, "the processes logged"
    forbidden = [
        TG_TOKEN,
        TG_TOKEN.split(":")[1],
        SLACK_TOKEN,
        SIGNING_SECRET,
        WEBHOOK_SECRET,
        PSEUDONYM_SECRET,
        *MEMBERS,
        "777000111",
        "Ihr Ergebnis",
        "Konflikt ohne",
        "Druck ohne",
        "Dauerhafte Selbst",
        "Zielkonflikt",
        "a:a1:",
        "Wochenbericht",
        "Muster im Team",
    ]
    for word in forbidden:
        assert word not in logs, f"{word!r} in the logs"


def earlier_counters() -> dict[str, int]:
    import classifier

    q = classifier.default()
    total: dict[str, int] = {}
    for n in range(6):
        for name, inc in classifier.contribution(q, {i.id: (n + 2) % 5 for i in q.items}).items():
            total[name] = total.get(name, 0) + inc
    return total


def test_json_lines_with_request_ids(redis_url: str, tmp_path) -> None:
    import json

    port = free_port()
    env = python_env(
        REDIS_URL=redis_url,
        PORT=str(port),
        RUHEPULS_LOG_FORMAT="json",
        RUHEPULS_LOG_LEVEL="DEBUG",
        RUHEPULS_SECRET="json-secret",
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL="http://127.0.0.1:9/api/",
        RUHEPULS_DATA_DIR=str(tmp_path),
    )
    log = tmp_path / "serve.log"
    with ruhepuls_process(["serve"], env, log):
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz", log)
        from slackkit import signed_headers

        body = "payload=%7Bnot-json"
        headers = signed_headers(body, content_type="application/x-www-form-urlencoded")
        r = httpx.post(
            f"{base}/slack/events", content=body, headers={**headers, "X-Request-Id": "lb-req-12345678"}
        )
        assert r.status_code == 400 and r.headers["x-request-id"] == "lb-req-12345678"
        other = httpx.get(f"{base}/healthz", headers={"X-Request-Id": "bad id;forged"})
        assert len(other.headers["x-request-id"]) == 16, "an id that is not a plain token is replaced"
        time.sleep(0.3)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    hit = [r for r in records if r.get("request_id") == "lb-req-12345678"]
    assert hit and "not understood" in hit[0]["message"]
    assert SLACK_TOKEN not in log.read_text() and "json-secret" not in log.read_text()


def test_only_our_loggers_speak_below_warning() -> None:
    """Issue 25: logging by allow-list. `ruhepuls report` printed about 65 INFO lines from
    fontTools per PDF: any library nobody named stays at WARNING, ours follow the chosen level."""
    import logging

    from bot.logs import setup

    root = logging.getLogger()
    before = (root.level, list(root.handlers), logging.getLogger("ruhepuls").level)
    try:
        setup("DEBUG")
        assert logging.getLogger("ruhepuls.web").isEnabledFor(logging.DEBUG)
        for name in ("fontTools.subset", "some.library", "uvicorn.error"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
            assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
        setup("ERROR")
        assert not logging.getLogger("ruhepuls.web").isEnabledFor(logging.WARNING)
    finally:
        root.setLevel(before[0])
        root.handlers[:] = before[1]
        logging.getLogger("ruhepuls").setLevel(before[2])
