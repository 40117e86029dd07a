"""Microsoft Teams rounds and summaries: installation events keep references, a round reaches
every installed member once (a worker killed half-way included), members the app can't reach
are a count for the admin, the weekly summary reaches the lead channel as a card with its chart,
admin commands answer only in the asker's personal chat."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis as redis_sync
from conftest import REPO, Clock, free_port, monitored, python_env, ruhepuls_process, wait_until_up
from slackkit import running_app
from teamskit import APP_ID, TENANT, FakeTeams, FakeTeamsServer, TeamsAgent, activity, eventually, teams_env
from test_rounds import kill_worker_half_way
from test_summaries import take_surveys

from bot.admin import Admin
from bot.outreach import tick
from bot.platform import platforms
from bot.runtime import runtime
from bot.settings import Settings
from flows import keys
from flows.limits import Limiter, Rate
from flows.teams import Team

TEAM = "19:support@thread.tacv2"
LEADS = "19:leads@thread.tacv2"
OPENED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REPORT = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


def settings_for(redis_url: str, fake: FakeTeams, **extra: str) -> Settings:
    return Settings(
        REDIS_URL=redis_url,
        RUHEPULS_SECRET="teams-rounds",
        RUHEPULS_ADMINS="teams:the-admin",
        RUHEPULS_QUIET_HOURS="24-0",
        RUHEPULS_WORKDAYS="mon-sun",
        **teams_env(fake),
        **extra,
    )


def install_in_team(fake: FakeTeams, conversation: str = TEAM) -> dict:
    return activity(
        fake,
        "installationUpdate",
        "the-admin",
        personal=False,
        conversation=conversation,
        action="add",
        channelData={"team": {"id": conversation, "name": "Hotline Süd"}, "tenant": {"id": "t"}},
    )


def invitations(fake: FakeTeams) -> Counter[str]:
    return Counter(s.conversation for s in fake.posts() if s.conversation.startswith("a:chat-"))


async def invite_once(settings: Settings, fake: FakeTeams, team_id: str, install: dict | None = None) -> None:
    """The app installed in TEAM (`install`: that event as Teams sent it), a team on it, `round
    open` by the admin and one worker tick: the invitations of a round's start."""
    async with running_app(settings) as base, httpx.AsyncClient() as http:
        r = await TeamsAgent(http, base, fake, "x").post(install or install_in_team(fake))
        assert r.status_code == 200
    async with runtime(settings, clock=Clock(OPENED)) as rt:
        await rt.teams.save_team(Team(id=team_id, name=team_id.title(), platform="teams", channel=TEAM))
        async with __import__("contextlib").AsyncExitStack() as stack:
            outreach = {"teams": await platforms()["teams"].reach(rt, stack)}
            reply = await Admin(rt, clock=lambda: OPENED).run(
                "teams:the-admin", f"round open {team_id}", "de"
            )
            assert "ist offen bis" in reply, reply
            await tick(rt, outreach, OPENED + timedelta(minutes=1))


async def test_installation_keeps_a_reference_under_a_keyed_hash_and_uninstall_removes_it(
    redis_url, redis
) -> None:
    with FakeTeamsServer(FakeTeams()) as fake:
        async with running_app(settings_for(redis_url, fake)) as base, httpx.AsyncClient() as http:
            agent = TeamsAgent(http, base, fake, "entra-person-1")
            before = {k async for k in redis.scan_iter("rp:ref:*")}
            assert (await agent.install()).status_code == 200
            added = {k async for k in redis.scan_iter("rp:ref:*")} - before
            assert len(added) == 1
            (key,) = added
            assert b"entra-person-1" not in key
            assert await redis.hgetall(key) == {
                b"conv": b"a:chat-entra-person-1",
                b"svc": fake.service_url.encode(),
                b"tenant": b"11111111-2222-4333-8444-555555555555",
            }
            r = await agent.post(activity(fake, "installationUpdate", agent.user, action="remove"))
            assert r.status_code == 200
            assert await redis.exists(key) == 0


@pytest.mark.parametrize(("added", "removed"), [("add-upgrade", "remove-upgrade"), ("upgrade", "remove")])
async def test_an_app_upgrade_keeps_or_forgets_the_reference_as_teams_says(
    added, removed, redis_url, redis
) -> None:
    """Issue 24: Teams sends `add-upgrade`, `remove-upgrade` and `upgrade` when an admin uploads a
    new version; the first two were refused as malformed (the team seemed never installed)."""
    with FakeTeamsServer(FakeTeams()) as fake:
        async with running_app(settings_for(redis_url, fake)) as base, httpx.AsyncClient() as http:
            agent = TeamsAgent(http, base, fake, "entra-upgrade")
            install = install_in_team(fake)
            r = await agent.post({**install, "action": added})
            assert r.status_code == 200, r.text
            assert await redis.hexists("rp:msteams:installed", TEAM), "the team the upgrade added"
            r = await agent.post(activity(fake, "installationUpdate", agent.user, action="some-new-action"))
            assert r.status_code == 200, "an action Teams may add one day is not malformed"
            assert await redis.hexists("rp:msteams:installed", TEAM)
            r = await agent.post({**install, "action": removed})
            assert r.status_code == 200, r.text
            assert not await redis.hexists("rp:msteams:installed", TEAM), "the upgrade removed the bot"


async def test_admin_commands_answer_only_in_the_askers_personal_chat(redis_url, redis) -> None:
    with FakeTeamsServer(FakeTeams()) as fake:
        settings = settings_for(redis_url, fake)
        async with runtime(settings) as rt:
            await rt.teams.save_team(Team(id="support", name="Support", platform="teams", channel=TEAM))
        async with running_app(settings) as base, httpx.AsyncClient() as http:
            admin, other = TeamsAgent(http, base, fake, "the-admin"), TeamsAgent(http, base, fake, "someone")
            await admin.say("team list")
            assert "support: Support (teams)" in admin.text()
            await admin.say("round status support")
            assert "noch keine Runde" in admin.text()
            await other.say("round open support")
            assert "support" not in other.text().lower() or "nicht" in other.text()
            assert {s.conversation for s in fake.posts()} == {admin.conversation, other.conversation}


async def test_a_round_reaches_every_installed_member_once_and_counts_the_unreachable(
    redis_url, redis
) -> None:
    people = [f"entra-{n:02d}" for n in range(12)]
    fake = FakeTeams(installed=set(people[:10]), roster={TEAM: [(f"29:{p}", p) for p in people]})
    with FakeTeamsServer(fake):
        settings = settings_for(redis_url, fake)
        async with running_app(settings) as base, httpx.AsyncClient() as http:
            assert (await TeamsAgent(http, base, fake, "x").post(install_in_team(fake))).status_code == 200
            first = TeamsAgent(http, base, fake, people[0])
            assert (await first.install()).status_code == 200  # one member's chat is known already
        async with runtime(settings, clock=Clock(OPENED)) as rt:
            await rt.teams.save_team(Team(id="support", name="Support", platform="teams", channel=TEAM))
            async with __import__("contextlib").AsyncExitStack() as stack:
                outreach = {"teams": await platforms()["teams"].reach(rt, stack)}
                reply = await Admin(rt, clock=lambda: OPENED).run(
                    "teams:the-admin", "round open support", "de"
                )
                assert "ist offen bis" in reply, reply
                await tick(rt, outreach, OPENED + timedelta(minutes=1))
                await tick(rt, outreach, OPENED + timedelta(minutes=2))  # nothing more goes out
            assert invitations(fake) == {f"a:chat-{p}": 1 for p in people[:10]}
            card = fake.cards("a:chat-entra-03")[0]
            assert any(a.get("type") == "Action.Execute" for s in card["body"] for a in s.get("actions", []))
            status = await Admin(rt, clock=lambda: OPENED).run(
                "teams:the-admin", "round status support", "de"
            )
            assert "2 Mitglieder konnte ich nicht erreichen" in status
            assert "entra-10" not in status and "entra-11" not in status


async def test_a_member_is_reached_when_the_team_named_its_tenant_only_in_channel_data(
    redis_url, redis
) -> None:
    """Issue 24: the connector opens no personal chat without the tenant; an installation whose
    conversation carries no tenantId still names it in channelData."""
    fake = FakeTeams(installed={"entra-t1"}, roster={TEAM: [("29:entra-t1", "entra-t1")]})
    with FakeTeamsServer(fake):
        settings = settings_for(redis_url, fake)
        install = install_in_team(fake)
        install["conversation"].pop("tenantId")
        install["channelData"]["tenant"]["id"] = TENANT
        await invite_once(settings, fake, "support", install)
    assert invitations(fake) == {"a:chat-entra-t1": 1}


async def test_a_team_whose_app_was_removed_waits_is_named_in_round_status_and_resumes(
    redis_url, redis
) -> None:
    """Issue 24: the app removed from the team after `round open` read as "nobody to invite":
    the round's invitations counted as done, nobody was told, and a reinstall changed nothing."""
    fake = FakeTeams(installed={"entra-r1"}, roster={TEAM: [("29:entra-r1", "entra-r1")]})
    with FakeTeamsServer(fake):
        settings = settings_for(redis_url, fake)
        install = install_in_team(fake)
        async with running_app(settings) as base, httpx.AsyncClient() as http:
            admin = TeamsAgent(http, base, fake, "x")
            assert (await admin.post(install)).status_code == 200
            async with runtime(settings, clock=Clock(OPENED)) as rt:
                await rt.teams.save_team(Team(id="gone", name="Gone", platform="teams", channel=TEAM))
                ask = Admin(rt, clock=lambda: OPENED).run
                assert "ist offen bis" in await ask("teams:the-admin", "round open gone", "de")
                assert (await admin.post({**install, "action": "remove"})).status_code == 200
                async with __import__("contextlib").AsyncExitStack() as stack:
                    outreach = {"teams": await platforms()["teams"].reach(rt, stack)}
                    await tick(rt, outreach, OPENED + timedelta(minutes=1))
                    assert invitations(fake) == {}
                    assert "nicht installiert" in await ask("teams:the-admin", "round status gone", "de")
                    assert not (await rt.teams.current_round("gone")).invited, "not done: it waits"
                    assert (await admin.post(install)).status_code == 200  # added to the team again
                    await tick(rt, outreach, OPENED + timedelta(minutes=7))
                    assert "nicht installiert" not in await ask("teams:the-admin", "round status gone", "de")
    assert invitations(fake) == {"a:chat-entra-r1": 1}


async def test_every_connector_call_of_a_round_takes_its_turn_in_the_apps_budget_in_that_tenant(
    redis_url, redis
) -> None:
    """Issue 29: Teams limits a bot per app *and tenant* over every call. Each call a round makes
    (roster pages, new personal chats, invitations, and the retry after a 429) first takes a
    slot of that tenant's bucket on the shared limiter, so that any number of workers together
    stay inside it; a call that went around the bucket would be one reservation short."""
    people = [f"entra-p{n}" for n in range(3)]
    fake = FakeTeams(installed=set(people), roster={TEAM: [(f"29:{p}", p) for p in people]}, retry_after=0)
    with FakeTeamsServer(fake):
        settings = settings_for(redis_url, fake)
        async with running_app(settings) as base, httpx.AsyncClient() as http:
            assert (await TeamsAgent(http, base, fake, "x").post(install_in_team(fake))).status_code == 200
        bucket = keys.limit("teams", f"{APP_ID}.{TENANT}", "send")  # the app in the team's tenant
        async with runtime(settings, clock=Clock(OPENED)) as rt:
            await rt.teams.save_team(Team(id="support", name="Support", platform="teams", channel=TEAM))
            async with __import__("contextlib").AsyncExitStack() as stack:
                outreach = {"teams": await platforms()["teams"].reach(rt, stack)}
                await Admin(rt, clock=lambda: OPENED).run("teams:the-admin", "round open support", "de")
                await Limiter(redis).reserve(
                    "rp:limit:warm-up", Rate(1)
                )  # the script cached: one slot, one EVALSHA
                fake.calls.clear()
                fake.limit_next = 1  # the first invitation is refused once with 429
                with monitored([int(redis_url.rsplit(":", 1)[1].split("/")[0])]) as sent:
                    await tick(rt, outreach, OPENED + timedelta(minutes=1))
        assert invitations(fake) == {f"a:chat-{p}": 1 for p in people} and fake.limited == 1
        assert Counter(fake.calls) == {"roster": 1, "open": 3, "post": 4}, fake.calls
        taken = [ln for ln in sent if '"EVALSHA"' in ln and f'"{bucket}"' in ln]
        assert len(taken) == len(fake.calls) == 8, "one slot of the tenant's bucket per call"


def test_teams_list_names_the_teams_the_app_is_installed_in_and_their_channels(
    redis_url: str, redis, tmp_path
) -> None:
    """Issue 24: nobody should have to copy a 19: id out of a link, for the team nor for the lead
    channel (read from the connector: General comes without a name there)."""
    import asyncio

    async def install() -> None:
        async with running_app(settings_for(redis_url, fake)) as base, httpx.AsyncClient() as http:
            assert (await TeamsAgent(http, base, fake, "x").post(install_in_team(fake))).status_code == 200

    def teams_list(**extra: str) -> str:
        env = python_env(
            REDIS_URL=redis_url,
            RUHEPULS_SECRET="teams-rounds",
            RUHEPULS_DATA_DIR=str(tmp_path),
            PYTHONPATH=str(REPO / "tests"),
            **extra,
        )
        out = subprocess.run(
            [sys.executable, "-m", "bot", "teams", "list"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    fake = FakeTeams(channels={TEAM: [(TEAM, None), (LEADS, "Leitung")]})
    with FakeTeamsServer(fake):
        assert "installed in no team yet" in teams_list(**teams_env(fake))
        asyncio.run(install())
        listed = teams_list(**teams_env(fake))
        assert listed.splitlines() == [
            f"Hotline Süd: --channel {TEAM}",
            f"  channel General: --lead-channel {TEAM}",
            f"  channel Leitung: --lead-channel {LEADS}",
        ], listed
        assert f"Hotline Süd: --channel {TEAM}" in teams_list(), "the teams without any TEAMS_ setting"
        add = [sys.executable, "-m", "bot", "team", "add", "hotline", "--name", "Hotline"]
        add += ["--platform", "teams", "--channel", TEAM]
        env = python_env(
            REDIS_URL=redis_url,
            RUHEPULS_SECRET="teams-rounds",
            RUHEPULS_DATA_DIR=str(tmp_path),
            PYTHONPATH=str(REPO / "tests"),
            **teams_env(fake),
        )
        for lead, told in [
            (LEADS, False),
            (LEADS.replace(":", "%3A"), False),
            ("19:elsewhere@thread.tacv2", True),
        ]:
            said = subprocess.run(
                [*add, "--lead-channel", lead], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
            )
            assert said.returncode == 0, said.stderr
            assert ("Den Leitungskanal von hotline finde ich in keinem Team" in said.stdout) is told, (
                said.stdout
            )
        fake.channels.clear()
        assert "its channels could not be read: 404" in teams_list(**teams_env(fake))


async def test_a_round_for_a_team_the_bot_was_never_installed_in_is_refused(redis_url, redis) -> None:
    """Issue 24: such a round passed open and status, and nobody was invited or told."""
    with FakeTeamsServer(FakeTeams()) as fake:
        settings = settings_for(redis_url, fake)
        async with runtime(settings, clock=Clock(OPENED)) as rt:
            await rt.teams.save_team(
                Team(id="ghost", name="Ghost", platform="teams", channel="19:nowhere@thread.tacv2")
            )
            reply = await Admin(rt, clock=lambda: OPENED).run("teams:the-admin", "round open ghost", "de")
            assert "nicht installiert" in reply and "Zu einem Team hinzufügen" in reply
            assert await rt.teams.current_round("ghost") is None, "no round that reaches nobody"


def test_worker_killed_half_way_sends_nobody_a_second_invitation(redis_url: str, tmp_path) -> None:
    redis_sync.Redis.from_url(redis_url).flushdb()  # the worker ticks every team in Redis: only this test's
    people = [f"entra-w{n:02d}" for n in range(30)]
    fake = FakeTeams(installed=set(people), roster={TEAM: [(f"29:{p}", p) for p in people]}, delay=0.05)
    with FakeTeamsServer(fake):
        env = python_env(
            REDIS_URL=redis_url,
            RUHEPULS_SECRET="teams-worker",
            RUHEPULS_QUIET_HOURS="24-0",
            RUHEPULS_WORKDAYS="mon-sun",
            RUHEPULS_TICK_CRON="* * * * * *",
            RUHEPULS_SEND_LOCK_SECONDS="2",
            RUHEPULS_DATA_DIR=str(tmp_path),
            PYTHONPATH=str(REPO / "tests"),
            **teams_env(fake),
        )
        cli = [sys.executable, "-m", "bot"]
        port = free_port()
        with ruhepuls_process(["serve"], {**env, "PORT": str(port)}, tmp_path / "serve.log"):
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/healthz", tmp_path / "serve.log")
            r = httpx.post(
                f"{base}/api/messages",
                json=install_in_team(fake),
                headers={"Authorization": f"Bearer {fake.token()}"},
            )
            assert r.status_code == 200, r.text
        run = lambda *a: subprocess.run([*cli, *a], env=env, cwd=REPO, check=True, capture_output=True)  # noqa: E731
        run("team", "add", "big", "--name", "Big", "--platform", "teams", "--channel", TEAM)
        run("round", "open", "--team", "big")
        err = kill_worker_half_way(
            env, lambda: sum(invitations(fake).values()), 8, len(people), len(people) - 1
        )
    sent = invitations(fake)
    assert max(sent.values()) == 1, "nobody twice"
    assert len(sent) >= len(people) - 1, "at most the one in flight at the kill is left to the reminders"
    assert "entra-w" not in err and "eyJ" not in err


async def summary_ticks(redis_url: str, fake: FakeTeams, team_id: str, ticks: int = 1) -> None:
    """The app installed in the lead channel's team, five people through a round, and `ticks`
    worker ticks from the report time on, a minute apart."""
    with FakeTeamsServer(fake):
        settings = settings_for(redis_url, fake)
        async with running_app(settings) as base, httpx.AsyncClient() as http:
            r = await TeamsAgent(http, base, fake, "x").post(install_in_team(fake, LEADS))
            assert r.status_code == 200
        async with runtime(settings, clock=Clock(OPENED + timedelta(hours=1))) as rt:
            await rt.teams.save_team(
                Team(id=team_id, name=team_id.title(), platform="teams", channel=TEAM, lead_channel=LEADS)
            )
            await rt.teams.open_round(team_id, OPENED, OPENED + timedelta(days=14))
            await take_surveys(rt, team_id, 5)
            async with __import__("contextlib").AsyncExitStack() as stack:
                outreach = {"teams": await platforms()["teams"].reach(rt, stack)}
                for minutes in range(ticks):
                    await tick(rt, outreach, REPORT + timedelta(minutes=minutes))


async def test_weekly_summary_reaches_the_lead_channel_as_a_card_with_its_chart(redis_url, redis) -> None:
    fake = FakeTeams()
    await summary_ticks(redis_url, fake, "tsum")
    cards = fake.cards(LEADS)
    assert len(cards) == 1
    texts = " ".join(b.get("text", "") for b in cards[0]["body"])
    assert "Wochenbericht für Tsum" in texts
    images = [b for b in cards[0]["body"] if b["type"] == "Image"]
    assert len(images) == 1 and images[0]["url"].startswith("data:image/png;base64,")
    png = base64.b64decode(images[0]["url"].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(str(cards[0])) < 28_000, "Teams refuses messages over about 28 KB"


async def test_a_summary_teams_refuses_as_too_large_arrives_once_in_a_smaller_form(redis_url, redis) -> None:
    """Issue 24: a 413 (MessageSizeTooBig) made the worker send the same card every tick."""
    fake = FakeTeams(max_bytes=12_000)  # smaller than any card with a chart, larger than one without
    await summary_ticks(redis_url, fake, "tbig", ticks=3)  # three ticks: posted once, never again
    assert len(fake.cards(LEADS)) == 1, (fake.refused, [x.path for x in fake.sent])
    (summary,) = fake.cards(LEADS)
    assert "Wochenbericht für Tbig" in " ".join(b.get("text", "") for b in summary["body"])
    assert not [b for b in summary["body"] if b["type"] == "Image"], "the smaller form: no chart"
    assert fake.refused <= 1


async def test_conversation_update_adds_and_removes_the_reference(redis_url, redis) -> None:
    with FakeTeamsServer(FakeTeams()) as fake:
        async with running_app(settings_for(redis_url, fake)) as base, httpx.AsyncClient() as http:
            agent = TeamsAgent(http, base, fake, "entra-cu")
            bot = {"id": "28:" + "00000000-aaaa-4bbb-8ccc-000000000001"}
            before = {k async for k in redis.scan_iter("rp:ref:*")}
            assert (
                await agent.post(activity(fake, "conversationUpdate", agent.user, membersAdded=[bot]))
            ).status_code == 200
            added = {k async for k in redis.scan_iter("rp:ref:*")} - before
            assert len(added) == 1
            r = await agent.post(activity(fake, "conversationUpdate", agent.user, membersRemoved=[bot]))
            assert r.status_code == 200
            assert {k async for k in redis.scan_iter("rp:ref:*")} == before


def test_unauthenticated_teams_is_refused_with_a_public_host(tmp_path) -> None:
    env = python_env(
        HOST="0.0.0.0",
        RUHEPULS_SECRET="s",
        TEAMS_APP_ID="00000000-aaaa-4bbb-8ccc-000000000001",
        TEAMS_APP_PASSWORD="x",
        TEAMS_DANGEROUSLY_ALLOW_UNAUTHENTICATED="1",
        RUHEPULS_DATA_DIR=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "refused with a public HOST" in done.stderr


async def test_a_lead_chooses_a_measure_in_the_summary_card(redis_url, redis) -> None:
    """The summary card opens a form (Action.ShowCard with inputs); a lead's submission saves the
    measure and is confirmed in the channel, anyone else's is refused in a message only they see."""
    from flows.measures import MeasureStore

    fake = FakeTeams()
    with FakeTeamsServer(fake):
        settings = settings_for(redis_url, fake)
        async with running_app(settings) as base, httpx.AsyncClient() as http:
            assert (
                await TeamsAgent(http, base, fake, "x").post(install_in_team(fake, LEADS))
            ).status_code == 200
            async with runtime(settings, clock=Clock(OPENED + timedelta(hours=1))) as rt:
                await rt.teams.save_team(
                    Team(
                        id="tm",
                        name="Tm",
                        platform="teams",
                        channel=TEAM,
                        lead_channel=LEADS,
                        leads=("teams:lead-1",),
                    )
                )
                await rt.teams.open_round("tm", OPENED, OPENED + timedelta(days=14))
                await take_surveys(rt, "tm", 5)
                async with __import__("contextlib").AsyncExitStack() as stack:
                    await tick(rt, {"teams": await platforms()["teams"].reach(rt, stack)}, REPORT)
                (summary,) = fake.cards(LEADS)
                show = next(a for b in summary["body"] if b["type"] == "ActionSet" for a in b["actions"])
                assert show["type"] == "Action.ShowCard" and show["title"] == "Maßnahme festlegen"
                form = show["card"]
                offered = [c["value"] for c in form["body"][0]["choices"]]
                assert offered
                assert [i["id"] for i in form["body"]] == ["path", "own", "role", "due", "check"]
                (save,) = form["actions"]

                async def submit(user: str, **inputs: str) -> dict:
                    body = activity(
                        fake,
                        "invoke",
                        user,
                        personal=False,
                        conversation=LEADS,
                        name="adaptiveCard/action",
                        value={
                            "action": {
                                "type": "Action.Execute",
                                "verb": save["verb"],
                                "data": {**save["data"], **inputs},
                            },
                            "trigger": "manual",
                        },
                    )
                    r = await TeamsAgent(http, base, fake, user).post(body)
                    assert r.status_code == 200, r.text
                    return r.json()

                refused = await submit("someone-else", path=offered[0], role="Teamleitung", check="next")
                assert refused["type"] == "application/vnd.microsoft.activity.message"
                assert "nur die Leitungen" in refused["value"]
                empty = await submit("lead-1", role="Teamleitung", check="next")
                assert "Bitte einen Vorschlag wählen" in empty["value"]
                assert await MeasureStore(rt.redis).all("tm") == []
                saved = await submit("lead-1", path=offered[0], role="Teamleitung", check="8w", due="2w")
                assert "festgelegt" in saved["value"]
                (m,) = await MeasureStore(rt.redis).all("tm")
                assert m.path == offered[0] and m.check is not None
                assert m.due is not None and (m.due - m.chosen).days == 14
                await eventually(lambda: len(fake.cards(LEADS)) == 2)
                assert "festgelegt" in " ".join(b.get("text", "") for b in fake.cards(LEADS)[-1]["body"])
                assert len(fake.cards(LEADS)) == 2  # the summary card was not replaced
