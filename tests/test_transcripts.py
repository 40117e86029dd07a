"""The same conversations on every platform: one web app serving Slack, Telegram and Microsoft
Teams at once (real uvicorn, real Redis, each platform's API played by a local fake), and one
person per platform doing exactly the same things through `transcripts.Chat`. What differs
between platforms (a click edits in place, Telegram deletes typed text, ...) is tested in each
platform's own suite."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fakes import FakeServer, FakeSlack, FakeTelegram
from slackkit import SIGNING_SECRET, SlackAgent, running_app
from teamskit import FakeTeams, FakeTeamsServer, TeamsAgent, teams_env
from tgkit import WEBHOOK_SECRET, TelegramAgent
from transcripts import Chat, SlackChat, TeamsChat, TelegramChat

from bot.settings import Settings

PLATFORMS = ["slack", "telegram", "teams"]
DE = ["nie", "selten", "manchmal", "oft", "immer"]
EN = ["never", "rarely", "sometimes", "often", "always"]


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, Any]]:
    with (
        FakeServer(FakeSlack(), "/api") as slack,
        FakeServer(FakeTelegram(), "/bot") as telegram,
        FakeTeamsServer(FakeTeams()) as teams,
    ):
        yield {"slack": slack, "telegram": telegram, "teams": teams}


@pytest.fixture(scope="module")
async def app(redis_url: str, fakes: dict[str, Any]) -> AsyncIterator[str]:
    slack, telegram = fakes["slack"], fakes["telegram"]
    settings = Settings(
        REDIS_URL=redis_url,
        RUHEPULS_SECRET="transcripts",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{slack.url}/api/",
        SLACK_RESPONSE_URL_PREFIX=f"{slack.url}/respond/",
        TELEGRAM_BOT_TOKEN="12345:TEST-token",
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TELEGRAM_API_URL=f"{telegram.url}/bot",
        **teams_env(fakes["teams"]),
    )
    async with running_app(settings) as base:
        yield base


@pytest.fixture(params=PLATFORMS)
async def chat(
    request: pytest.FixtureRequest, app: str, fakes: dict[str, Any], redis: Any
) -> AsyncIterator[Chat]:
    async with httpx.AsyncClient(timeout=15) as http:
        if request.param == "slack":
            fakes["slack"].fake.reset()
            yield SlackChat(SlackAgent(http, app, fakes["slack"].fake))
        elif request.param == "telegram":
            fakes["telegram"].fake.reset()
            yield TelegramChat(TelegramAgent(http, app, fakes["telegram"].fake))
        else:
            teams: FakeTeams = fakes["teams"]
            teams.sent.clear()
            user = hashlib.sha256(request.node.name.encode()).hexdigest()[:12]  # a person per test
            yield TeamsChat(TeamsAgent(http, app, teams, f"transcript-{user}"))


def question(n: int, lang: str = "de") -> str:
    return f"Frage {n} von 12" if lang == "de" else f"Question {n} of 12"


@pytest.mark.parametrize(("lang", "options"), [("de", DE), ("en", EN)])
async def test_a_whole_survey_ends_in_words_never_a_score(chat: Chat, lang: str, options: list[str]) -> None:
    await chat.open()
    assert "Ruhepuls" in chat.screen() and "Starten" in chat.labels()
    if lang == "en":
        await chat.press("English")
        assert "Start" in chat.labels()
    await chat.press("Starten" if lang == "de" else "Start")
    assert question(1, lang) in chat.screen()
    for n, label in enumerate([options[4], options[0], options[0], options[0]] * 3, start=1):
        assert question(n, lang) in chat.screen(), f"question {n} before its answer"
        await chat.press(label)
    result = chat.screen()
    name = "Konflikt ohne Rückendeckung" if lang == "de" else "Customer conflict without backing"
    assert name in result, "A (conflict) stands out: every a-item 'immer', every other 'nie'"
    assert ("nirgends gespeichert" if lang == "de" else "stored nowhere") in result.lower()
    assert not re.search(r"\d+\s*(%|/|von|of|Punkte|points)", result), "words, never a score"
    helps = "Was hilft" if lang == "de" else "What helps"
    assert any(label.startswith(helps) for label in chat.labels()), chat.labels()


async def test_pause_resume_back_skip_and_typed_answers(chat: Chat) -> None:
    await chat.open()
    await chat.press("Starten")
    await chat.press("oft")
    assert question(2) in chat.screen()
    await chat.press("Pause")
    assert "Pausiert" in chat.seen()
    await chat.say("weiter")
    assert question(2) in chat.screen(), "picked up where it was left"
    await chat.say("3")
    assert question(3) in chat.screen(), "a typed answer counts like a press"
    await chat.press("Zurück")
    assert question(2) in chat.screen()
    await chat.press("möchte ich nicht beantworten")
    assert question(3) in chat.screen()
    await chat.say("quatsch")
    assert "nicht verstanden" in chat.seen()


@pytest.mark.parametrize(
    "words",
    [
        "ich kann nicht mehr",
        "Der Kunde hat mich heute bedroht und ich kann nicht mehr, "
        "ehrlich gesagt weiß ich nicht, wie ich die Woche schaffen soll. " * 6,
    ],
)
async def test_words_of_distress_at_any_length_get_the_crisis_line_and_the_question_again(
    chat: Chat, words: str
) -> None:
    await chat.open()
    await chat.press("Starten")
    await chat.press("selten")
    await chat.say(words)
    seen = chat.seen()
    assert "0800 111 0 111" in seen and "112" in seen, "the crisis line, whatever the length"
    assert "nicht gespeichert" in seen, "free text is never read further or kept"
    assert question(2) in chat.screen(), "and the survey goes on where it was"


async def test_help_is_one_word_away_at_any_point(chat: Chat) -> None:
    await chat.open()
    await chat.press("Starten")
    await chat.say("hilfe")
    assert "0800 111 0 111" in chat.seen()


async def test_the_teams_step_plan_is_one_question_away_and_the_survey_goes_on(chat: Chat) -> None:
    """Issue 27: "Was darf ich?" reaches the Stufenplan on every platform; a person whose
    survey counts in no team is told that a plan belongs to a team, and their survey goes on."""
    await chat.open()
    await chat.press("Starten")
    await chat.say("Was darf ich?")
    assert "Ein Stufenplan gehört zu einem Team" in chat.seen()
    assert question(1) in chat.seen(), "and the question again"
