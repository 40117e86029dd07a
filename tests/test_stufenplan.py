"""Issue 27: the team's Stufenplan. A lead writes it (Slack slash command, Telegram, a Teams chat,
the CLI), it is refused when it points at a person, and an agent of that team, and only of that
team, reads it by "Was darf ich?" / "stufenplan" and from a result that names conflict without
backing (A). Real Redis, the real web app, the local fakes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from conftest import REPO, python_env
from fakes import FakeServer, FakeSlack, FakeTelegram
from slackkit import SIGNING_SECRET, SlackAgent, running_app
from tgkit import WEBHOOK_SECRET, TelegramAgent

import classifier
from bot.runtime import runtime
from bot.settings import Settings
from classifier import stufenplan
from classifier.result import ResultKey
from classifier.scoring import Outcome
from flows import events as ev
from flows import messages as msg
from flows.plans import PlanStore
from flows.teams import Team

PLAN_DE = (
    "Kunde wird laut | sachlich bleiben und das Verhalten benennen | das ganze Team\n"
    "Beleidigung | einmal warnen: So kann ich Ihnen nicht weiterhelfen | die Teamleitung\n"
    "Es geht weiter oder eine Drohung | Gespräch beenden, Vorfall melden | Teamleitung, Nachbesprechung am selben Tag"
)
PLAN_EN = "Loud | stay factual | the team || Insult | warn once | team lead || Threat | end the call, report | team lead"


# --- pure -----------------------------------------------------------------------------------------
def test_a_plan_is_three_to_five_steps_of_three_parts_and_names_nobody() -> None:
    steps = stufenplan.parse(PLAN_DE)
    assert [s.signal for s in steps] == ["Kunde wird laut", "Beleidigung", "Es geht weiter oder eine Drohung"]
    assert stufenplan.parse(stufenplan.written(steps)) == steps, "what `written` prints reads back"
    assert len(stufenplan.parse(stufenplan.template("de"))) == 4
    for bad, key, step in (
        ("a b | c d | e f\ng h | i j | k l", "plan_steps", None),
        (PLAN_DE.replace("die Teamleitung", "@kim"), "plan_names_someone", 2),
        (PLAN_DE.replace("die Teamleitung", "U0123ABCDE9"), "plan_names_someone", 2),
        (PLAN_DE.replace("das ganze Team", "kim@firma.de"), "plan_names_someone", 1),
        (PLAN_DE.replace("| das ganze Team", ""), "plan_fields", 1),
    ):
        with pytest.raises(stufenplan.PlanError) as refused:
            stufenplan.parse(bad)
        assert refused.value.key == key and refused.value.params.get("step") == step


def test_a_change_is_the_next_version_and_keeps_the_other_language_only_while_it_matches() -> None:
    day = date(2026, 12, 1)
    plan = stufenplan.Plan.first("t", "de", stufenplan.parse(PLAN_DE), day)
    both = plan.with_steps("en", stufenplan.parse(PLAN_EN), date(2026, 12, 2))
    assert (both.version, both.since, both.changed) == (2, day, date(2026, 12, 2))
    assert both.steps("en")[0].may == "stay factual" and both.steps("de")[0].signal == "Kunde wird laut"
    four = both.with_steps("de", stufenplan.parse(stufenplan.template("de")), date(2026, 12, 3))
    assert four.en is None and four.steps("en") == four.steps("de"), "a mismatched translation is dropped"


def _result(types: str) -> str:
    named = tuple(classifier.LoadType(t) for t in types)
    key = ResultKey(Outcome.DOMINANT, named, (None,) * len(named), (None,) * len(named), (None,) * len(named))
    return key.encode()


def test_the_result_offers_the_plan_only_when_it_names_conflict_without_backing(config) -> None:
    from flows import engine

    for types, offered in (("A", True), ("B", False)):
        shown = engine.step(config, None, ev.ShowResult("p", _result(types), "de"), now=_now()).messages[0]
        assert isinstance(shown, msg.Result)
        labels = [c.label for c in shown.choices]
        assert ("Was darf ich?" in labels) is offered, labels
    plan = stufenplan.Plan.first("t", "de", stufenplan.parse(PLAN_DE), date(2026, 12, 1))
    view = engine.step(
        config, None, ev.ShowResult("a", _result("A"), "de"), now=_now(), in_team=True, plan=plan
    ).messages[0]
    assert isinstance(view, msg.Result)
    text = "\n".join(view.lines)
    assert "Stufe 2: Beleidigung" in text and "Was Sie dürfen: einmal warnen" in text
    assert "Version 1" in text and "01.12.2026" in text
    assert {c.label for c in view.choices} >= {"Kurzfassung", "Was hilft"}, "the result stays at hand"


def test_asking_without_a_plan_or_a_team_says_which(config) -> None:
    from flows import engine

    none = engine.step(config, None, ev.Typed("Was darf ich?"), now=_now(), in_team=True).messages[0]
    assert isinstance(none, msg.Notice) and "noch keinen Stufenplan" in none.text
    solo = engine.step(config, None, ev.Typed("stufenplan"), now=_now()).messages[0]
    assert isinstance(solo, msg.Notice) and "in keinem" in solo.text


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 12, 3, 10, tzinfo=UTC)


# --- end to end -----------------------------------------------------------------------------------
@pytest.fixture
def fake_slack() -> FakeServer:
    with FakeServer(FakeSlack(), "/api") as server:
        yield server


@pytest.fixture
async def slack(redis_url: str, fake_slack: FakeServer, redis) -> AsyncIterator[tuple[str, Settings]]:
    settings = Settings(
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN="xoxb-plan",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{fake_slack.url}/api/",
        SLACK_RESPONSE_URL_PREFIX=f"{fake_slack.url}/respond/",
        RUHEPULS_SECRET="plan-secret",
    )
    async with runtime(settings) as rt:
        await rt.teams.save_team(
            Team(id="hotline", name="Hotline", platform="slack", channel="CH", leads=("slack:ULEAD",))
        )
        await rt.teams.save_team(Team(id="billing", name="Billing", platform="slack", channel="CB"))
        await rt.teams.members.place([rt.person("slack", "T1:UAGENT")], "hotline")
        await rt.teams.members.place([rt.person("slack", "T1:UOTHER")], "billing")
    async with running_app(settings) as base:
        yield base, settings


async def test_a_lead_writes_it_in_slack_and_only_their_team_reads_it(
    slack: tuple[str, Settings], fake_slack: FakeServer, redis
) -> None:
    base, settings = slack
    async with httpx.AsyncClient(timeout=10) as http:
        lead = SlackAgent(http, base, fake_slack.fake, user="ULEAD")
        refused = await lead.command("stufenplan hotline de " + PLAN_DE.replace("die Teamleitung", "@kim"))
        assert "Stufe 2: bitte ohne Namen" in refused.text
        stranger = SlackAgent(http, base, fake_slack.fake, user="USTRANGER")
        assert "nur die Leitungen" in (await stranger.command("stufenplan hotline de " + PLAN_DE)).text
        one_line = PLAN_DE.replace("\n", " || ")  # a slash command may arrive as one line
        saved = await lead.command(f"stufenplan hotline de {one_line}")
        assert "Version 1" in saved.text and "Maßnahme" in saved.text, saved.text
        shown = await lead.command("stufenplan hotline")
        assert "Version 1" in shown.text and "Beleidigung | einmal warnen" in shown.text

        agent = SlackAgent(http, base, fake_slack.fake, user="UAGENT")
        await agent.say("Was darf ich?")
        assert "Stufe 3: Es geht weiter oder eine Drohung" in agent.text()
        assert "Wer Ihnen den Rücken stärkt: die Teamleitung" in agent.text()
        other = SlackAgent(http, base, fake_slack.fake, user="UOTHER")
        await other.say("stufenplan")
        assert "noch keinen Stufenplan" in other.text() and "Stufe 1" not in other.text()

    async with runtime(settings) as rt:
        plan = await PlanStore(rt.redis).get("hotline")
        assert plan is not None and plan.version == 1 and plan.de is not None and plan.en is None
        from flows.measures import MeasureStore

        (m,) = await MeasureStore(rt.redis).all("hotline")
        assert m.path == stufenplan.PATH and m.status == "running", "the plan is the team's measure for A"
        audit = await rt.teams.audit_log(20)
        assert any(r["what"] == "stufenplan" and r["team"] == "hotline" for r in audit)
        assert not any("Beleidigung" in str(r) for r in audit), (
            "the audit says who and which version, not the text"
        )
    keys = [k.decode() async for k in redis.scan_iter("*")]
    assert not any("UAGENT" in k or "UOTHER" in k for k in keys)
    assert not any(k.startswith("rp:") and "read" in k for k in keys), "nobody's reading is recorded"


async def test_a_lead_writes_it_in_telegram(redis_url: str, redis) -> None:
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN="1:T",
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TELEGRAM_API_URL=f"{api.url}/bot",
            RUHEPULS_SECRET="tg-plan",
        )
        async with runtime(settings) as rt:
            await rt.teams.save_team(
                Team(id="tgteam", name="TG", platform="telegram", leads=("telegram:41",), language="en"),
                join_link=True,
            )
            await rt.teams.members.place([rt.person("telegram", "42")], "tgteam")
        async with running_app(settings) as base, httpx.AsyncClient(timeout=10) as http:
            lead = TelegramAgent(http, base, fake, 41)
            await lead.say(f"/stufenplan tgteam en\n{PLAN_EN.replace(' || ', chr(10))}")
            await _shown(lead, "version 1")
            agent = TelegramAgent(http, base, fake, 42)
            await agent.say("/stufenplan")
            await _shown(agent, "Stufe 2: Insult")  # their Telegram speaks German: the plan as written
            assert "Was Sie dürfen: warn once" in agent.text()


async def _shown(agent: TelegramAgent, words: str) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + 10
    while not (agent.sync() or True) or not agent.screen or words not in agent.text():
        assert time.monotonic() < deadline, [(c.method, c.params, c.result) for c in agent.fake.calls][-3:]
        await asyncio.sleep(0.02)


def test_the_cli_prints_a_template_and_saves_a_plan_from_stdin(redis_url: str, tmp_path) -> None:
    env = python_env(REDIS_URL=redis_url, RUHEPULS_SECRET="cli-plan", RUHEPULS_DATA_DIR=str(tmp_path))

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=REPO,
            input=stdin,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("team", "add", "cliteam", "--name", "CLI", "--platform", "slack", "--channel", "CC")
    template = run("stufenplan", "--team", "cliteam", "--template")
    steps = template.split("stufenplan cliteam de\n", 1)[1]
    saved = run("stufenplan", "--team", "cliteam", "--lang", "de", "--file", "-", stdin=steps)
    assert "Version 1" in saved
    shown = run("stufenplan", "--team", "cliteam")
    assert "Version 1" in shown and stufenplan.template("de").splitlines()[1] in shown


async def test_a_lead_writes_it_in_teams_and_it_reaches_the_summary_the_report_and_a_page(
    redis_url: str, redis, tmp_path
) -> None:
    from pypdf import PdfReader
    from teamskit import FakeTeams, FakeTeamsServer, TeamsAgent, teams_env

    from bot.plan_pdf import plan_pdf
    from bot.report import gather, sections
    from bot.weekly import compose

    with FakeTeamsServer(FakeTeams()) as fake:
        settings = Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="teams-plan", **teams_env(fake))
        async with runtime(settings) as rt:
            await rt.teams.save_team(
                Team(
                    id="tplan", name="Servicedesk", platform="teams", channel="19:t", leads=("teams:lead-7",)
                )
            )
        async with running_app(settings) as base, httpx.AsyncClient(timeout=15) as http:
            lead = TeamsAgent(http, base, fake, "lead-7")
            await lead.install()
            await lead.say(f"stufenplan tplan {PLAN_DE}")
            assert "Version 1" in lead.text(), lead.text()
            await lead.say(f"stufenplan tplan en {PLAN_EN}")
            assert "Version 2" in lead.text()
        async with runtime(settings) as rt:
            posts = await compose(rt, [await rt.teams.team("tplan")], "2026-W49")  # type: ignore[list-item]
            assert "Stufenplan: Version 2, vereinbart seit" in posts[0].text, "the summary says since when"
            report = await gather(rt, "tplan", date(2026, 1, 1), date(2027, 1, 1))
            assert report is not None
            said = "\n".join(
                p for _, paras in sections(rt.conversations.config.questionnaire, report) for p in paras
            )
            assert "Stufenplan des Teams: Version 2, vereinbart seit" in said
            plan = await PlanStore(rt.redis).get("tplan")
    assert plan is not None
    out = tmp_path / "plan.pdf"
    out.write_bytes(plan_pdf(plan, "Servicedesk", "en"))
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    assert len(PdfReader(out).pages) == 1, "one page for the desk"
    assert "Our step plan: Servicedesk" in text and "warn once" in text and "version 2" in text
