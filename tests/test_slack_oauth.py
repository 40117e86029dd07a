"""Slack in several workspaces: the app installed through Slack's OAuth flow (against the local
fake Slack), a round in each workspace sent with that workspace's own token, an agent answered
with it, tokens kept encrypted, and an uninstalled workspace forgotten."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from conftest import REPO, python_env
from fakes import FakeServer, FakeSlack
from slackkit import SIGNING_SECRET, SlackAgent, running_app, signed_headers

from bot.admin import Admin
from bot.outreach import tick
from bot.runtime import runtime
from bot.settings import Settings
from bot.slack import manifest_scopes
from bot.slack.installs import INSTALLS
from bot.worker import outreach_for
from flows.teams import Team

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PEOPLE = {"CONE": ["U1", "U2"], "CTWO": ["U3", "U4"]}


@pytest.fixture
def fake() -> FakeServer:
    slack = FakeSlack(
        channel_members={c: ["UBOT", *people] for c, people in PEOPLE.items()},
        codes={"code-one": "TONE", "code-two": "TTWO"},
    )
    with FakeServer(slack, "/api") as server:
        yield server


def settings_for(redis_url: str, api: FakeServer) -> Settings:
    return Settings(
        REDIS_URL=redis_url,
        SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET="client-secret",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{api.url}/api/",
        SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
        RUHEPULS_SECRET="oauth-secret",
        RUHEPULS_ADMINS="slack:UADMIN",
    )


async def install(http: httpx.AsyncClient, base: str, code: str) -> httpx.Response:
    """What an installer's browser does: the install page (its link to Slack carries the state,
    also set as a cookie), Slack's consent, and back to the redirect URL with a code."""
    page = await http.get(f"{base}/slack/install")
    assert page.status_code == 200
    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.text)
    assert link, "the install page links to Slack's consent screen"
    query = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)
    assert set(query["scope"][0].split(",")) == manifest_scopes(), "the manifest's scopes, nothing else"
    assert query["client_id"] == ["111.222"]
    cookie = page.headers["set-cookie"].split(";")[0]  # Secure: a browser sends it back over https
    assert cookie == f"slack-app-oauth-state={query['state'][0]}"
    return await http.get(
        f"{base}/slack/oauth_redirect",
        params={"code": code, "state": query["state"][0]},
        headers={"Cookie": cookie},
    )


def sent_with(api: FakeSlack, method: str) -> dict[str, set[str]]:
    """Channel -> the workspaces whose tokens the bot used for `method` there."""
    out: dict[str, set[str]] = {}
    for c in api.calls:
        if c.method == method and c.result.get("ok"):
            out.setdefault(str(c.params.get("channel")), set()).add(api.workspaces.get(c.token or "", "?"))
    return out


async def test_installed_in_two_workspaces_each_round_goes_out_with_its_own_token(
    redis_url: str, fake: FakeServer, redis
) -> None:
    api: FakeSlack = fake.fake
    settings = settings_for(redis_url, fake)
    async with running_app(settings) as base, httpx.AsyncClient(timeout=10) as browser:
        assert (await install(browser, base, "code-one")).status_code == 200
        assert (await install(browser, base, "code-two")).status_code == 200
        # a forged or replayed state installs nothing
        forged = await browser.get(
            f"{base}/slack/oauth_redirect",
            params={"code": "x", "state": "f" * 32},
            headers={"Cookie": f"slack-app-oauth-state={'f' * 32}"},
        )
        assert forged.status_code >= 400
        assert "oauth.v2.access" not in [c.method for c in api.calls[-1:]]
        tokens = {w: t for t, w in api.workspaces.items()}
        assert set(tokens) == {"TONE", "TTWO"}

        # the admin sees where the app is installed
        env = python_env(
            REDIS_URL=redis_url,
            RUHEPULS_SECRET="oauth-secret",
            SLACK_CLIENT_ID="111.222",
            SLACK_CLIENT_SECRET="client-secret",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{fake.url}/api/",
        )
        listed = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "slack", "workspaces"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert "TONE  Workspace TONE" in listed.stdout and "TTWO  Workspace TTWO" in listed.stdout
        assert "xoxb" not in listed.stdout + listed.stderr

        # at rest: one field per workspace, and no token readable in it
        stored = await redis.hgetall(INSTALLS)
        assert {k.decode() for k in stored} == {"-:TONE", "-:TTWO"}
        assert not any(b"xoxb" in v or b"TONE" in v for v in stored.values()), "tokens are sealed"

        async with runtime(settings) as rt:
            admin = Admin(rt, clock=lambda: MONDAY_10)
            for team_id, channel, workspace in (("one", "CONE", "TONE"), ("two", "CTWO", "TTWO")):
                await rt.teams.save_team(
                    Team(id=team_id, name=team_id, platform="slack", channel=channel, workspace=workspace)
                )
                assert "ist offen" in await admin.run("cli:x", f"round open {team_id}", "de")
            # a team that does not say which of the two workspaces, or names a third: refused
            await rt.teams.save_team(Team(id="which", name="which", platform="slack", channel="CONE"))
            assert "--workspace" in await admin.run("cli:x", "round open which", "de")
            await rt.teams.save_team(
                Team(id="three", name="three", platform="slack", channel="C3", workspace="TTHREE")
            )
            refused = await admin.run("cli:x", "round open three", "en")
            assert "not installed in the Slack workspace" in refused and "/slack/install" in refused

            async with outreach_for(rt) as outreach:
                await tick(rt, outreach, MONDAY_10)
                await tick(rt, outreach, MONDAY_10 + timedelta(minutes=1))
        posts = sent_with(api, "chat.postMessage")
        assert posts == {"DU1": {"TONE"}, "DU2": {"TONE"}, "DU3": {"TTWO"}, "DU4": {"TTWO"}}
        members = {
            c.params["channel"]: api.workspaces[c.token or ""]
            for c in api.calls
            if c.method == "conversations.members"
        }
        assert members == {"CONE": "TONE", "CTWO": "TTWO"}
        assert not [c for c in api.calls if c.result.get("error") == "invalid_auth"]

        # an agent of the second workspace is answered with its token
        agent = SlackAgent(browser, base, api, user="U3", team="TTWO")
        await agent.say("hallo")
        replies = [
            c for c in api.calls if c.params.get("channel") == "DU3" and c.method == "chat.postMessage"
        ]
        assert len(replies) >= 2 and {api.workspaces[c.token or ""] for c in replies} == {"TTWO"}

        # uninstalled from the first workspace: its token is forgotten
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "TONE",
                "api_app_id": "A1",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "event": {"type": "app_uninstalled"},
            }
        )
        r = await browser.post(f"{base}/slack/events", content=body, headers=signed_headers(body))
        assert r.status_code == 200
        assert {k.decode() for k in await redis.hgetall(INSTALLS)} == {"-:TTWO"}


async def test_installed_org_wide_on_enterprise_grid_every_workspace_of_it_is_served(
    redis_url: str, redis
) -> None:
    """Issue 29: on Enterprise Grid the app is installed once for the organisation. A team in any
    of its workspaces gets its round with the organisation's token, each workspace keeps limits
    of its own, and an agent there is answered with that token too."""
    slack = FakeSlack(
        channel_members={"CSEVEN": ["UBOT", "U7"], "CEIGHT": ["UBOT", "U8"]}, codes={"code-org": "EORG"}
    )
    with FakeServer(slack, "/api") as fake:
        settings = settings_for(redis_url, fake)
        async with running_app(settings) as base, httpx.AsyncClient(timeout=10) as browser:
            assert (await install(browser, base, "code-org")).status_code == 200
            assert {k.decode() for k in await redis.hgetall(INSTALLS)} == {"EORG:-"}, (
                "one org-wide installation"
            )
            (token,) = slack.workspaces
            async with runtime(settings) as rt:
                admin = Admin(rt, clock=lambda: MONDAY_10)
                for team_id, channel, workspace in (
                    ("seven", "CSEVEN", "TSEVEN"),
                    ("eight", "CEIGHT", "TEIGHT"),
                ):
                    await rt.teams.save_team(
                        Team(id=team_id, name=team_id, platform="slack", channel=channel, workspace=workspace)
                    )
                    assert "ist offen" in await admin.run("cli:x", f"round open {team_id}", "de")
                async with outreach_for(rt) as outreach:
                    await tick(rt, outreach, MONDAY_10)
            posts = {c.params["channel"]: c.token for c in slack.calls if c.method == "chat.postMessage"}
            assert posts == {"DU7": token, "DU8": token}, "both workspaces invited with the org's token"
            limited = {k.decode().split(":")[3] async for k in redis.scan_iter("rp:limit:slack:*")}
            assert {"TSEVEN", "TEIGHT"} <= limited, "each workspace keeps limits of its own"

            agent = SlackAgent(browser, base, slack, user="U7", team="TSEVEN", enterprise="EORG")
            await agent.say("hallo")
            replies = [
                c for c in slack.calls if c.params.get("channel") == "DU7" and c.method == "chat.postMessage"
            ]
            assert len(replies) >= 2 and {c.token for c in replies} == {token}
