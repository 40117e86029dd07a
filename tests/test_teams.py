"""Microsoft Teams end to end: the real web app under uvicorn with Bot Framework auth on, a
real Redis, an RSA key made here whose keys a local identity fake serves, and a local connector
fake that records every activity the bot sends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from slackkit import running_app
from teamskit import FakeTeams, FakeTeamsServer, TeamsAgent, eventually, teams_env

from bot.settings import Settings

DE_OPTIONS = ["nie", "selten", "manchmal", "oft", "immer"]


@pytest.fixture(scope="module")
def fake() -> AsyncIterator[FakeTeams]:
    with FakeTeamsServer(FakeTeams()) as f:
        yield f


def settings_for(redis_url: str, fake: FakeTeams, **extra: str) -> Settings:
    return Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="teams-secret", RUHEPULS_ADMINS="teams:admin-1",
                    **teams_env(fake), **extra)  # fmt: skip


@pytest.fixture(scope="module")
async def app(redis_url: str, fake: FakeTeams) -> AsyncIterator[str]:
    async with running_app(settings_for(redis_url, fake)) as base:
        yield base


@pytest.fixture
async def agent(app: str, fake: FakeTeams, redis) -> AsyncIterator[TeamsAgent]:
    fake.sent.clear()
    async with httpx.AsyncClient(timeout=15) as http:
        yield TeamsAgent(http, app, fake, f"user-{len(fake.installed)}-{id(http) % 10_000}")


async def test_whole_survey_by_pressing_the_cards(agent: TeamsAgent, redis) -> None:
    assert (await agent.install()).status_code == 200
    await agent.say("hallo")
    assert "Ruhepuls" in agent.text()
    await agent.press("Starten")
    assert "Frage 1 von 12" in agent.text()
    posts = len(agent.fake.posts())
    for label in [DE_OPTIONS[4], DE_OPTIONS[0], DE_OPTIONS[0], DE_OPTIONS[0]] * 3:
        await agent.press(label)
    assert len(agent.fake.posts()) == posts, "every press replaces the card in place"
    text = agent.text()
    assert "Konflikt ohne Rückendeckung" in text and "nirgends gespeichert" in text
    assert not any(ch.isdigit() for ch in text.split("Konflikt", 1)[1][:80]), "no score"
    await agent.press("Ergebnis aus dem Chat entfernen")
    await eventually(lambda: any(s.method == "DELETE" for s in agent.fake.sent))
    deleted = [s for s in agent.fake.sent if s.method == "DELETE"]
    assert deleted[-1].path.endswith(f"/activities/{agent.card_id}")
    assert "nirgends gespeichert" in agent.text(), "the card that stays, should the delete fail"
