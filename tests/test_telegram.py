"""Telegram end to end: the real web app under uvicorn, a real Redis, a local fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import REPO, free_port, python_env
from fakes import FakeServer, FakeTelegram
from slackkit import running_app
from telegram import Bot
from tgkit import WEBHOOK_SECRET, TelegramAgent

import flows
import flows.keys
from bot.runtime import runtime
from bot.settings import Settings
from bot.telegram.outreach import TelegramOutreach
from bot.telegram.residue import ExpiringMessages

TOKEN = "12345:TEST-token"


@pytest.fixture(scope="module")
def fake_tg() -> FakeServer:
    with FakeServer(FakeTelegram(), "/bot") as server:
        yield server


@pytest.fixture(scope="module")
async def tg_app(redis_url: str, fake_tg: FakeServer) -> AsyncIterator[str]:
    settings = Settings(
        REDIS_URL=redis_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TELEGRAM_API_URL=f"{fake_tg.url}/bot",
        RUHEPULS_SECRET="tg-test-secret",
    )
    async with running_app(settings) as base:
        yield base


@pytest.fixture
async def agent(tg_app: str, fake_tg: FakeServer, redis) -> AsyncIterator[TelegramAgent]:
    fake_tg.fake.reset()
    async with httpx.AsyncClient(timeout=15) as http:
        yield TelegramAgent(http, tg_app, fake_tg.fake)


async def stored_answers(redis, agent: TelegramAgent) -> str | None:
    person = flows.pseudonym(b"tg-test-secret", "telegram", str(agent.user_id))
    data = await redis.hget(flows.keys.session(flows.SOLO, person), "d")
    return flows.Session.loads(data, 12).answers if data else None


@pytest.mark.parametrize(
    ("lang", "start", "options", "done"),
    [
        ("de", "Starten", ["nie", "selten", "manchmal", "oft", "immer"], "Ihr Ergebnis"),
    ],  # both languages: test_transcripts
)
async def test_whole_survey_by_pressing_buttons(agent: TelegramAgent, lang, start, options, done) -> None:
    r = await agent.say("/start")
    assert r.status_code == 200
    assert "Ruhepuls" in agent.text()
    if lang == "en":
        await agent.click("English")
    await agent.click(start)
    q = agent.last_id
    before = len(agent.fake.calls)
    for label in [options[0], options[3], options[0], options[0]] * 3:
        assert (await agent.click(label)).status_code == 200
    methods = [c.method for c in agent.fake.calls[before:]]
    assert methods == ["answerCallbackQuery", "editMessageText"] * 12  # answered first, edited in place
    assert list(agent.screen) == [q] and done in agent.text()
    for b in agent.buttons():
        assert len(b["callback_data"].encode()) <= 64
    await agent.click(agent.buttons()[0]["text"])  # what helps: the same message, in place
    assert agent.fake.calls[-1].method == "editMessageText" and list(agent.screen) == [q]
    assert ("Was helfen kann" if done == "Ihr Ergebnis" else "What can help") in agent.text()
    await agent.click(agent.buttons()[-1]["text"])  # remove the result
    assert agent.fake.calls[-1].method == "deleteMessage" and agent.screen == {}


async def test_commands_typed_answers_pause_language(agent: TelegramAgent, redis) -> None:
    await agent.say("/start")
    await agent.click("Starten")
    await agent.say("oft")
    assert "Frage 2 von 12" in agent.text()
    await agent.say("/pause")
    assert "Pausiert" in agent.text()
    await agent.say("/help")
    assert "So funktioniert" in agent.text()
    await agent.say("/language")
    assert agent.text() == "Language: English."  # paused: no question shown until resumed
    await agent.say("/start")
    assert "Question 2 of 12" in agent.text()
    await agent.say("banana")
    assert "didn't get that" in agent.text()
    assert await stored_answers(redis, agent) == "3" + "-" * 11


async def test_typed_text_is_deleted_and_the_result_leaves_the_chat_within_a_day(
    agent: TelegramAgent, redis, redis_url: str, fake_tg: FakeServer
) -> None:
    await agent.say("/start")
    await agent.click("Starten")
    before = len(agent.fake.calls)
    await agent.say("oft")
    typed = [c for c in agent.fake.calls[before:] if c.method == "deleteMessage"]
    assert len(typed) == 1 and str(typed[0].params["chat_id"]) == str(agent.user_id)
    for _ in range(11):
        await agent.click("selten")
    assert "Ihr Ergebnis" in agent.text()
    result_id = agent.last_id
    (bucket,) = await redis.keys("rp:expiring:*")  # one set per hour: no order within it
    assert await redis.smembers(bucket) == {f"{agent.user_id}:{result_id}".encode()}
    hour = int(bucket.decode().rsplit(":", 1)[1])
    assert 0 < hour * 3600 - time.time() <= 86_400 and 0 < await redis.ttl(bucket) <= 172_800
    settings = Settings(
        REDIS_URL=redis_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=f"{fake_tg.url}/bot",
        RUHEPULS_SECRET="tg-test-secret",
    )
    async with runtime(settings) as rt, Bot(TOKEN, base_url=f"{fake_tg.url}/bot") as bot:
        sweeper = TelegramOutreach(rt, bot)
        before = len(agent.fake.calls)
        await sweeper.sweep(time.time() + 3600)  # not yet
        assert not any(c.method == "deleteMessage" for c in agent.fake.calls[before:])
        await sweeper.sweep(time.time() + 86_400 + 3601)
        gone = [c for c in agent.fake.calls[before:] if c.method == "deleteMessage"]
        assert [int(c.params["message_id"]) for c in gone] == [result_id]
        await sweeper.sweep(time.time() + 90_000)  # handed out once
        assert len([c for c in agent.fake.calls[before:] if c.method == "deleteMessage"]) == 1


async def test_serve_alone_deletes_the_results_whose_day_is_over(redis_url: str, redis) -> None:
    """No worker: the web app itself sweeps (and `telegram poll` does the same, by one helper)."""
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TELEGRAM_API_URL=f"{api.url}/bot",
            RUHEPULS_SECRET="tg-sweep",
        )
        async with runtime(settings) as rt:
            expiring = ExpiringMessages(rt.sessions)
            await expiring.add(4711, 99, now=time.time() - 86_400 - 7200)  # its day is over
            await expiring.add(4711, 100)  # shown just now: stays
        async with running_app(settings):
            deadline = time.monotonic() + 10
            while not [c for c in fake.calls if c.method == "deleteMessage"]:
                assert time.monotonic() < deadline, "the web app did not sweep"
                await asyncio.sleep(0.05)
        gone = [
            (int(c.params["chat_id"]), int(c.params["message_id"]))
            for c in fake.calls
            if c.method == "deleteMessage"
        ]
        assert gone == [(4711, 99)]


async def test_double_and_stale_clicks(agent: TelegramAgent, redis) -> None:
    await agent.say("/start")
    await agent.click("Starten")
    q = agent.last_id
    update = agent.click_update("immer", q)
    await agent.send(update)
    await agent.send(update)  # the same update delivered again
    await agent.send(agent.click_update("immer", q, data="a:a1:4"))  # a second click, now stale
    await agent.send(agent.click_update("x", q, data="a:zz:1"))  # not a question of ours
    await agent.send(agent.click_update("x", q, data="garbage-data"))
    assert "Frage 2 von 12" in agent.text(q)
    assert await stored_answers(redis, agent) == "4" + "-" * 11


async def test_wrong_secret_and_malformed_updates(agent: TelegramAgent) -> None:
    r = await agent.send(agent.message_update("hallo"), secret="wrong")
    assert r.status_code == 403
    r = await agent.send(agent.message_update("hallo"), secret=None)
    assert r.status_code == 403
    for body in ("{not json", "[1, 2]", '"text"', ""):
        r = await agent.http.post(
            f"{agent.base}/telegram/webhook",
            content=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )
        assert r.status_code == 400
    assert agent.fake.methods() == []


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1},
        {
            "update_id": 2,
            "poll": {
                "id": "p",
                "question": "?",
                "options": [],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            },
        },
        {"update_id": 3, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}}},
        {"update_id": 4, "message": {"message_id": "x"}},
        {
            "update_id": 5,
            "callback_query": {
                "id": "c",
                "from": {"id": 1, "is_bot": False, "first_name": "a"},
                "chat_instance": "x",
                "data": "a:a1:3",
            },
        },
    ],
)
async def test_unknown_or_odd_updates_are_ignored(agent: TelegramAgent, update: dict) -> None:
    r = await agent.send(update)
    assert r.status_code in (200, 400)
    assert [m for m in agent.fake.methods() if m != "answerCallbackQuery"] == []


async def test_edited_messages_and_groups(agent: TelegramAgent) -> None:
    r = await agent.send(agent.message_update("3", key="edited_message"))
    assert r.status_code == 200 and agent.fake.methods() == []
    group = {"id": -100, "type": "group", "title": "Team"}
    await agent.send(agent.message_update("hallo zusammen", chat=group))
    assert agent.fake.methods() == []  # ordinary group chatter is not ours to answer
    await agent.send(agent.message_update("/start", chat=group))
    call = agent.fake.calls[-1]
    assert call.method == "sendMessage" and "privaten Chat" in call.params["text"]


async def test_bot_api_errors_lose_no_answer(agent: TelegramAgent, redis, caplog) -> None:
    caplog.set_level(logging.INFO)
    await agent.say("/start")
    await agent.click("Starten")
    q = agent.last_id
    agent.fake.fail["editMessageText"] = (429, 1)
    before = len(agent.fake.calls)
    r = await agent.click("oft", q)  # answered at once; the edit waits out retry_after in the chat's queue
    assert r.status_code == 200
    assert [c.method for c in agent.fake.calls[before:]] == ["answerCallbackQuery", "editMessageText"]
    for _ in range(100):
        if len(agent.fake.calls) > before + 2:
            break
        await asyncio.sleep(0.05)
    agent.sync()
    assert [c.method for c in agent.fake.calls[before:]] == ["answerCallbackQuery", "editMessageText"] * 1 + [
        "editMessageText"
    ]
    assert "Frage 2 von 12" in agent.text(q)
    agent.fake.fail["editMessageText"] = (403, 0)
    r = await agent.click("selten", q)
    assert r.status_code == 200 and "bot is blocked" in caplog.text
    assert await stored_answers(redis, agent) == "31" + "-" * 10
    assert TOKEN not in caplog.text and "4242" not in caplog.text


async def test_a_click_during_a_429_wait_queues_behind_it_in_order(agent: TelegramAgent) -> None:
    await agent.say("/start")
    await agent.click("Starten")
    q = agent.last_id
    agent.fake.fail["editMessageText"] = (429, 1)
    before = len(agent.fake.calls)
    await agent.click("oft", q)  # its edit waits a second in the chat's queue
    await agent.click("selten", q)  # the old card is still on screen: a press of "selten" on it
    for _ in range(100):
        edits = [c for c in agent.fake.calls[before:] if c.method == "editMessageText"]
        if len(edits) >= 3:
            break
        await asyncio.sleep(0.05)
    texts = [c.params.get("text", "") for c in edits[1:]]
    assert len(texts) == 2 and "Frage 2 von 12" in texts[0], "the deferred card first"
    agent.sync()
    assert "Frage 2 von 12" in agent.text(q) or "Frage 3 von 12" in agent.text(q)
    assert "Frage 2 von 12" in texts[1] or "Frage 3 von 12" in texts[1], "then the next, never before it"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )


@pytest.mark.parametrize("command", [["telegram", "poll"], ["serve"]])
def test_set_webhook_and_polling(redis_url: str, redis, tmp_path, command: list[str]) -> None:
    """`telegram poll` polls; so does `serve` when no webhook secret is set."""
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        env = python_env(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TELEGRAM_API_URL=f"{api.url}/bot",
            RUHEPULS_SECRET="poll-secret",
            RUHEPULS_DATA_DIR=str(tmp_path),
        )
        out = _cli("telegram", "set-webhook", "https://bot.example.org/telegram/webhook", env=env)
        assert out.returncode == 0, out.stderr
        hook = next(c for c in fake.calls if c.method == "setWebhook")
        assert hook.params["url"] == "https://bot.example.org/telegram/webhook"
        assert hook.params["secret_token"] == WEBHOOK_SECRET
        fake.calls.clear()
        fake.updates = [
            {
                "update_id": 77,
                "message": {
                    "message_id": 1,
                    "date": 1_700_000_000,
                    "chat": {"id": 55, "type": "private"},
                    "from": {"id": 55, "is_bot": False, "first_name": "P"},
                    "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                },
            }
        ]
        if command == ["serve"]:
            del env["TELEGRAM_WEBHOOK_SECRET"]
            env["PORT"] = str(free_port())
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *command],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not any(c.method == "sendMessage" for c in fake.calls) and proc.poll() is None:
                assert time.monotonic() < deadline, "nothing sent within 30 s"
                time.sleep(0.05)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)  # shutdown is bounded by 20 s, more under load
        assert "deleteWebhook" in fake.methods()
        sent = next(c for c in fake.calls if c.method == "sendMessage")
        assert sent.params["chat_id"] in ("55", 55) and "Ruhepuls" in sent.params["text"]
        assert proc.returncode in (0, -15), err
        assert TOKEN not in err


def test_cards_behind_a_429_go_out_before_serve_stops(redis_url: str, redis, tmp_path) -> None:
    """Issue 28: on SIGTERM the Telegram outbox was never drained; a card waiting out a 429 was
    dropped at every deploy."""
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        with _a_card_waiting(redis_url, api.url, fake, tmp_path, retry_after=2, chat=77) as (proc, _, _):
            proc.terminate()  # a deploy, while the card waits out its 429
            proc.wait(timeout=30)
        delivered = [
            c
            for c in fake.calls
            if c.method == "sendMessage" and c.result.get("ok") and "Ruhepuls" in str(c.params.get("text"))
        ]
        assert delivered, "the waiting card went out before the process ended"


def test_a_card_waiting_out_a_429_survives_a_killed_process(redis_url: str, redis, tmp_path) -> None:
    """Issue 28: the Telegram outbox lived in the process, so kill -9 while a card waited out a
    429 lost it. The queue is on the sessions Redis; another process takes it over."""
    import signal

    from conftest import ruhepuls_process, wait_until_up

    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        with _a_card_waiting(redis_url, api.url, fake, tmp_path, retry_after=6, chat=78) as (
            first,
            port,
            env,
        ):
            first.send_signal(signal.SIGKILL)  # while the card waits out its 429
            first.wait(timeout=10)
        assert not any(c.method == "sendMessage" and c.result.get("ok") for c in fake.calls)
        with ruhepuls_process(["serve"], env, tmp_path / "second.log"):
            wait_until_up(f"http://127.0.0.1:{port}/healthz", tmp_path / "second.log")
            deadline = time.monotonic() + 60
            while not any(
                c.method == "sendMessage" and c.result.get("ok") and c.params.get("chat_id") in (78, "78")
                for c in fake.calls
            ):
                assert time.monotonic() < deadline, "the waiting card never arrived"
                time.sleep(0.1)
        sent = [c for c in fake.calls if c.method == "sendMessage" and c.result.get("ok")]
        assert len(sent) == 1 and "Ruhepuls" in str(sent[0].params.get("text")), "shown once, the card itself"


@contextlib.contextmanager
def _a_card_waiting(
    redis_url: str, api_url: str, fake: FakeTelegram, tmp_path: Path, *, retry_after: int, chat: int
) -> Iterator[tuple[subprocess.Popen[bytes], int, dict[str, str]]]:
    """`ruhepuls serve` with the webhook, whose first card to `chat` (the answer to /start)
    waits out a 429 of `retry_after` seconds: the process, its port and environment."""
    from conftest import ruhepuls_process, wait_until_up

    port = free_port()
    env = python_env(
        REDIS_URL=redis_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TELEGRAM_API_URL=f"{api_url}/bot",
        RUHEPULS_SECRET=f"waiting-{chat}",
        PORT=str(port),
        RUHEPULS_DATA_DIR=str(tmp_path),
    )
    with ruhepuls_process(["serve"], env, tmp_path / "first.log") as proc:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", tmp_path / "first.log")
        fake.fail["sendMessage"] = (429, retry_after)
        assert _send_start(port, 900 + chat, chat).status_code == 200
        yield proc, port, env


def _send_start(port: int, update_id: int, chat: int) -> httpx.Response:
    """`/start` from a private chat, as Telegram delivers it to the webhook."""
    update = {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "P"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    return httpx.post(
        f"http://127.0.0.1:{port}/telegram/webhook",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        timeout=10,
    )
