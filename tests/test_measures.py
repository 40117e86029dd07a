"""From summary to action, end to end: a lead chooses a measure from the weekly summary the bot
posted (Slack payloads signed as Slack signs them), the next round asks the one extra question
after the twelve, the answers are counted like every other and said only from k, and the
following summary says what was chosen and what followed. Real Redis, the real web app, the
local fake Slack API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from conftest import Clock
from fakes import FakeServer, FakeSlack
from slackkit import SIGNING_SECRET, running_app, signed_headers

from bot.report_link import verify
from bot.runtime import Runtime, runtime
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.outreach import SlackOutreach
from bot.weekly import run_unit, units
from flows import State
from flows import events as ev
from flows import messages as msg
from flows.measures import MeasureStore
from flows.teams import Team

NOW = datetime.now(UTC)
MONDAY = (NOW - timedelta(days=NOW.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
ROUND1 = MONDAY - timedelta(days=14)  # two weeks ago: its summary was posted last week
REPORT1 = ROUND1 + timedelta(days=7, minutes=-30)
ROUND2 = NOW + timedelta(days=1)  # opened after the measure was chosen (today)
REPORT2 = ROUND2 + timedelta(days=14 - ROUND2.weekday(), hours=-ROUND2.hour + 8, minutes=30 - ROUND2.minute)


@pytest.fixture
def settings(redis_url: str, fake_slack: FakeServer, redis) -> Settings:
    return Settings(
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN="xoxb-t",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{fake_slack.url}/api/",
        RUHEPULS_SECRET="measure-secret",
        RUHEPULS_ADMINS="slack:UADMIN",
        RUHEPULS_PUBLIC_URL="https://ruhepuls.example.org",
    )


@pytest.fixture
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    async with runtime(settings, clock=Clock(ROUND1 + timedelta(hours=1))) as r:
        yield r


async def surveys(
    rt: Runtime, team_id: str, people: int, tag: str, view: str | None = None
) -> list[msg.Message]:
    """`people` members finish the survey; each answers the check-back question with `view` when
    it is asked. Returns what the last one was shown after the twelfth answer."""
    after: list[msg.Message] = []
    for n in range(people):
        person = rt.person("slack", f"T1:U{tag}{team_id}{n}")
        await rt.teams.members.place([person], team_id)
        await rt.conversations.handle(person, ev.Start("de"))
        for item in rt.conversations.config.questionnaire.items:
            handled = await rt.conversations.handle(person, ev.Answer(item.id, 4 if item.type == "C" else 1))
        after = list(handled.messages)
        session = await rt.conversations.session_of(person)
        if session is not None and session.state is State.FOLLOWUP:
            await rt.conversations.handle(person, ev.CheckBack(view))  # type: ignore[arg-type]
    return after


async def weekly(rt: Runtime, now: datetime) -> None:
    outreach = SlackOutreach(rt, web_client(rt))
    for unit in (await units(rt)).values():
        assert await run_unit(rt, unit, now, outreach.post_summary)


def posts(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [c.params for c in fake.calls if c.method == "chat.postMessage" and c.params["channel"] == channel]


def click(post: dict[str, Any], user: str, label: str) -> str:
    blocks = json.loads(post["blocks"]) if isinstance(post["blocks"], str) else post["blocks"]
    button = next(
        e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == label
    )
    payload = {
        "type": "block_actions",
        "api_app_id": "A1",
        "trigger_id": f"trig-{user}",
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": post["channel"]},
        "channel": {"id": post["channel"]},
        "message": {"ts": "1.1", "blocks": blocks},
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": "b",
                "type": "button",
                "value": button["value"],
                "action_ts": f"{time.time_ns()}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def submit(view: dict[str, Any], user: str, **values: str | None) -> str:
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        bid, element = block["block_id"], block["element"]
        value = values.get(bid)
        if element["type"] == "static_select":
            state[bid] = {
                bid: {"type": "static_select", "selected_option": {"value": value} if value else None}
            }
        else:
            state[bid] = {bid: {"type": "plain_text_input", "value": value}}
    payload = {
        "type": "view_submission",
        "api_app_id": "A1",
        "team": {"id": "T1"},
        "user": {"id": user, "team_id": "T1"},
        "view": {**view, "id": "V1", "state": {"values": state}},
    }
    return urlencode({"payload": json.dumps(payload)})


async def send(http: httpx.AsyncClient, base: str, body: str) -> httpx.Response:
    headers = signed_headers(body, content_type="application/x-www-form-urlencoded")
    return await http.post(f"{base}/slack/events", content=body, headers=headers)


async def wait_for(fake: FakeSlack, method: str, before: int) -> dict[str, Any]:
    for _ in range(300):
        found = [c for c in fake.calls[before:] if c.method == method]
        if found:
            return found[-1].params
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {method}: {[c.method for c in fake.calls[before:]]}")


async def test_a_lead_chooses_a_measure_and_the_next_round_checks_back(
    rt: Runtime, settings: Settings, fake_slack: FakeServer
) -> None:
    fake: FakeSlack = fake_slack.fake
    team = Team(
        id="support",
        name="Support",
        platform="slack",
        channel="CTEAM",
        lead_channel="LSUP",
        leads=("slack:ULEAD",),
    )
    await rt.teams.save_team(team)
    await rt.teams.open_round("support", ROUND1, ROUND1 + timedelta(days=6))
    after = await surveys(rt, "support", 10, "a")  # ten: a before-and-after rests on ten both times
    assert isinstance(after[0], msg.Result)  # no measure yet: no extra question
    await rt.teams.close_round("support")
    await weekly(rt, REPORT1)
    first = posts(fake, "LSUP")[-1]
    assert "Druck ohne Spielraum: deutlich" in first["text"]
    blocks = json.loads(first["blocks"]) if isinstance(first["blocks"], str) else first["blocks"]
    (url,) = [e["url"] for b in blocks if b["type"] == "actions" for e in b["elements"] if "url" in e]
    assert url.startswith("https://ruhepuls.example.org/report/")
    grant = verify(rt.secret, url.rsplit("/", 1)[1])
    assert (
        grant is not None
        and grant.team == "support"
        and grant.expires > datetime.now(UTC) + timedelta(days=13)
    )

    async with running_app(settings) as base, httpx.AsyncClient() as http:
        # someone who is not a lead of the team: refused, and only they see it
        before = len(fake.calls)
        assert (await send(http, base, click(first, "UOTHER", "Maßnahme festlegen"))).status_code == 200
        refusal = await wait_for(fake, "chat.postEphemeral", before)
        assert refusal["user"] == "UOTHER" and "nur die Leitungen dieses Teams" in refusal["text"]
        assert not any(c.method == "views.open" for c in fake.calls[before:])
        # the lead: the modal, offering the paths of the pattern the summary showed clearly
        before = len(fake.calls)
        assert (await send(http, base, click(first, "ULEAD", "Maßnahme festlegen"))).status_code == 200
        opened = await wait_for(fake, "views.open", before)
        view = json.loads(opened["view"]) if isinstance(opened["view"], str) else opened["view"]
        offered = [o["value"] for o in view["blocks"][0]["element"]["options"]]
        assert offered and all(ref.startswith("C.") for ref in offered)
        # neither a path nor own words: the modal says so, nothing is saved
        r = await send(http, base, submit(view, "ULEAD", role="Teamleitung", check="next"))
        assert r.json()["response_action"] == "errors"
        assert await MeasureStore(rt.redis).all("support") == []
        before = len(fake.calls)
        r = await send(
            http, base, submit(view, "ULEAD", path=offered[0], role="Teamleitung", check="next", due="12w")
        )
        assert r.status_code == 200 and not r.content.strip(b"{} ")
        confirmation = await wait_for(fake, "chat.postMessage", before)
    assert confirmation["channel"] == "LSUP" and "Teamleitung" in confirmation["text"]
    (measure,) = await MeasureStore(rt.redis).all("support")
    assert measure.path == offered[0] and measure.status == "running" and measure.role == "Teamleitung"
    assert measure.due == measure.chosen + timedelta(weeks=12) and "umgesetzt bis" in confirmation["text"]
    audit = await rt.teams.audit_log()
    assert any(a["what"] == "measure add" and a["who"] == "slack:ULEAD" for a in audit)
    assert any(a["what"] == "measure refused" and a["who"] == "slack:UOTHER" for a in audit)

    # the next round asks the extra question, after the twelve; its answers are counted
    rt.conversations._followups.clear()
    rt.conversations._rounds.clear()  # this process cached round one for two seconds
    rt.conversations._clock = Clock(ROUND2 + timedelta(hours=1))  # type: ignore[assignment]
    await rt.teams.open_round("support", ROUND2, ROUND2 + timedelta(days=6))
    after = await surveys(rt, "support", 10, "b", view="some")
    question = after[0]
    assert isinstance(question, msg.Question) and question.item_id == "followup"
    assert (
        "Personalplanung" in question.text
        or measure.what(rt.conversations.config.questionnaire, "de")[:20] in question.text
    )
    counters = await rt.redis.hgetall("rp:{support}:agg")
    assert sum(int(v) for f, v in counters.items() if f.decode().endswith(f"v:{measure.id}:some")) == 10, (
        counters
    )
    await rt.teams.close_round("support")
    await weekly(rt, REPORT2)
    second = posts(fake, "LSUP")[-1]["text"]
    assert "Maßnahmen des Teams" in second
    assert "Druck ohne Spielraum: vorher deutlich ausgeprägt, jetzt deutlich ausgeprägt" in second, second
    assert "Sicht des Teams: überwiegend eine Verbesserung" in second
    published = await rt.publications.published("support")
    assert [p["week"] for p in published] == sorted(p["week"] for p in published) and len(published) == 2


async def test_the_view_is_withheld_below_k_and_only_asked_with_a_running_measure(
    rt: Runtime, fake_slack: FakeServer
) -> None:
    from bot.measures import Measures

    fake: FakeSlack = fake_slack.fake
    for team_id in ("billing", "sales"):
        await rt.teams.save_team(
            Team(
                id=team_id,
                name=team_id.title(),
                platform="slack",
                channel="CTEAM",
                lead_channel=f"L{team_id}",
            )
        )
    measures = Measures(rt, clock=lambda: ROUND1)
    _, m = await measures.choose(
        "cli:admin",
        "billing",
        text="Eine ruhige Ecke für Pausen nach harten Gesprächen",
        role="Standortleitung",
        check="next",
    )
    _, stopped = await measures.choose("cli:admin", "sales", path="A.0", role="Teamleitung")
    await measures.set_status("cli:admin", "sales", stopped.id, "dropped")
    rt.conversations._clock = Clock(ROUND2 + timedelta(hours=1))  # type: ignore[assignment]
    for team_id in ("billing", "sales"):
        await rt.teams.open_round(team_id, ROUND2, ROUND2 + timedelta(days=6))
    # billing: four give a view, two "don't know" (an answer, but no view): withheld
    await surveys(rt, "billing", 4, "c", view="clear")
    await surveys(rt, "billing", 2, "d", view="dk")
    after = await surveys(rt, "sales", 6, "e", view="clear")
    assert isinstance(after[0], msg.Result)  # a dropped measure asks nothing
    sales = await rt.redis.hgetall("rp:{sales}:agg")
    assert not any(":v:" in f.decode() or "|v:" in f.decode() for f in sales)
    for team_id in ("billing", "sales"):
        await rt.teams.close_round(team_id)
    await weekly(rt, REPORT2)
    text = posts(fake, "Lbilling")[-1]["text"]
    assert "Eine ruhige Ecke für Pausen" in text
    assert "noch nicht genug Antworten auf die Zusatzfrage" in text
    assert "überwiegend" not in text and "geteilt" not in text
    assert m.id in [n["id"] for n in (await rt.publications.published("billing"))[-1]["measures"]]


async def test_a_measure_that_has_ended_leaves_the_weekly_posts_after_half_a_year(
    rt: Runtime, fake_slack: FakeServer
) -> None:
    """Running measures are spoken of every week; ended ones (done, dropped) for half a year
    from when they were chosen, then only in the team report."""
    from bot.measures import Measures

    fake: FakeSlack = fake_slack.fake
    await rt.teams.save_team(
        Team(id="desk", name="Desk", platform="slack", channel="CTEAM", lead_channel="LDESK")
    )
    q = rt.conversations.config.questionnaire
    old, recent = (
        Measures(rt, clock=lambda: ROUND1 - timedelta(weeks=30)),
        Measures(rt, clock=lambda: ROUND1 - timedelta(weeks=3)),
    )
    _, running = await old.choose("cli:admin", "desk", path="A.0", role="Teamleitung")
    _, done = await old.choose(
        "cli:admin", "desk", text="Feste Rückrufzeiten statt Warteschleife", role="Teamleitung"
    )
    _, dropped = await recent.choose(
        "cli:admin", "desk", text="Ein stiller Raum für die Pausen", role="Standortleitung"
    )
    await old.set_status("cli:admin", "desk", done.id, "done")
    await old.set_status("cli:admin", "desk", dropped.id, "dropped")
    await rt.teams.open_round("desk", ROUND1, ROUND1 + timedelta(days=6))
    await surveys(rt, "desk", 6, "e")
    await rt.teams.close_round("desk")
    await weekly(rt, REPORT1)
    text = posts(fake, "LDESK")[-1]["text"]
    assert running.what(q, "de", lead=True).rstrip(".") in text
    assert "Ein stiller Raum für die Pausen" in text  # ended three weeks after it was chosen: still said
    assert "Feste Rückrufzeiten" not in text  # ended, chosen 30 weeks ago: no longer
    noted = [n["id"] for n in (await rt.publications.published("desk"))[-1]["measures"]]
    assert sorted(noted) == sorted([running.id, dropped.id])


async def test_a_lead_chooses_a_measure_in_telegram(redis_url: str, redis) -> None:
    """The summary in the lead group carries the button; a lead continues in the private chat
    (suggestion or own words, a role, by when, when to check); anyone else is refused in a toast."""
    from fakes import FakeTelegram
    from telegram import Bot
    from tgkit import WEBHOOK_SECRET, TelegramAgent

    from bot.telegram.outreach import TelegramOutreach

    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN="1:T",
            TELEGRAM_API_URL=f"{api.url}/bot",
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            RUHEPULS_SECRET="tg-measure",
        )
        async with runtime(settings, clock=Clock(ROUND1 + timedelta(hours=1))) as rt:
            await rt.teams.save_team(
                Team(
                    id="hot", name="Hot", platform="telegram", lead_channel="-1001", leads=("telegram:4242",)
                )
            )
            await rt.teams.open_round("hot", ROUND1, ROUND1 + timedelta(days=6))
            await surveys(rt, "hot", 5, "t")
            await rt.teams.close_round("hot")
            async with Bot("1:T", base_url=f"{api.url}/bot") as bot:
                outreach = TelegramOutreach(rt, bot)
                for unit in (await units(rt)).values():
                    assert await run_unit(rt, unit, REPORT1, outreach.post_summary)
            summary = next(
                c for c in fake.calls if c.method == "sendMessage" and c.params["chat_id"] == "-1001"
            )
            markup = summary.params["reply_markup"]
            markup = json.loads(markup) if isinstance(markup, str) else markup
            (button,) = [b for row in markup["inline_keyboard"] for b in row]
            assert button["text"] == "Maßnahme festlegen"

            async with running_app(settings) as base, httpx.AsyncClient(timeout=15) as http:
                group = {"id": -1001, "type": "supergroup", "title": "Leads"}

                def press(agent: TelegramAgent) -> dict[str, Any]:
                    update = agent.click_update("", data=button["callback_data"], message_id=1)
                    update["callback_query"]["message"]["chat"] = group
                    return update

                other = TelegramAgent(http, base, fake, user_id=777)
                other.screen[1] = {"text": summary.params["text"], "reply_markup": markup}
                before = len(fake.calls)
                assert (await other.send(press(other))).status_code == 200
                toast = next(c for c in fake.calls[before:] if c.method == "answerCallbackQuery")
                assert "nur die Leitungen" in toast.params["text"] and toast.params["show_alert"] in (
                    True,
                    "true",
                )
                assert not any(c.method == "sendMessage" for c in fake.calls[before:])

                lead = TelegramAgent(http, base, fake, user_id=4242)
                lead.screen[1] = {"text": summary.params["text"], "reply_markup": markup}
                await lead.send(press(lead))
                assert "Welchen Hebel" in lead.text()
                await lead.click(say_de("measure_own"))
                assert "in einem Satz" in lead.text()
                assert lead.screen[lead.last_id]["reply_markup"]["force_reply"]  # typed as a reply
                await lead.say("x", reply_to=lead.last_id)  # too short: asked again, nothing saved
                assert "3 bis 280 Zeichen" in lead.text()
                await lead.say("Nach jedem Eskalationsanruf zehn Minuten Abkühlzeit", reply_to=lead.last_id)
                roles = lead.last_id
                await lead.click("Andere Rolle eingeben")  # a role of their own, typed as a reply
                await lead.say("x", reply_to=lead.last_id)
                assert (
                    "2 bis 80 Zeichen" in lead.text()
                    and lead.screen[lead.last_id]["reply_markup"]["force_reply"]
                )
                await lead.click("Standortleitung", message_id=roles)  # or one of the offered ones after all
                assert "Bis wann" in lead.text()
                await lead.click("In 8 Wochen")
                await lead.click("Frühestens in 4 Wochen")
                assert "festgelegt" in lead.text() and "in der ersten Runde ab" in lead.text()
                assert "umgesetzt bis" in lead.text()
                # a stale click on the finished dialog changes nothing
                await lead.send(lead.click_update("", data="mc:next", message_id=lead.last_id))
                assert "abgelaufen" in lead.text()
            (m,) = await MeasureStore(rt.redis).all("hot")
            assert (
                m.text == "Nach jedem Eskalationsanruf zehn Minuten Abkühlzeit"
                and m.role == "Standortleitung"
            )
            assert m.check == m.chosen + timedelta(weeks=4) and m.path is None
            assert m.due == m.chosen + timedelta(weeks=8), "by when, as the GDA's documentation asks"
            to_group = [
                c.params["text"]
                for c in fake.calls
                if c.method == "sendMessage" and c.params["chat_id"] == "-1001"
            ]
            assert any("Abkühlzeit" in t for t in to_group[1:])
            assert not [k async for k in rt.sessions.scan_iter("rp:mdraft:*")]  # the dialog's state is gone


def say_de(name: str) -> str:
    from bot.texts import say

    return say(name, "de")


async def test_leads_list_and_change_their_measures_and_get_a_report_link(rt: Runtime) -> None:
    """The admin command on every surface: a team's leads (and admins) list its measures, change
    their status and ask for a report link; anyone else is refused and audited."""
    from bot.admin import Admin
    from bot.measures import Measures
    from bot.report_link import verify

    await rt.teams.save_team(Team(id="care", name="Care", platform="slack", leads=("slack:ULEAD",)))
    _, m = await Measures(rt).choose("slack:ULEAD", "care", path="B.1", role="Teamleitung")
    admin = Admin(rt)
    listing = await admin.run("slack:ULEAD", "measures care")
    assert m.id in listing and "Teamleitung" in listing and "running" in listing
    assert "jetzt done" in await admin.run("slack:ULEAD", f"measure care {m.id} done")
    assert (await MeasureStore(rt.redis).get("care", m.id)).status == "done"  # type: ignore[union-attr]
    assert "nur die Leitungen" in await admin.run("slack:USOMEONE", f"measure care {m.id} dropped")
    assert "nur die Leitungen" in await admin.run("slack:USOMEONE", "report care")
    assert (await MeasureStore(rt.redis).get("care", m.id)).status == "done"  # type: ignore[union-attr]
    line = await admin.run("slack:ULEAD", "report care 8")
    grant = verify(rt.secret, line.rsplit(" ", 1)[-1].rsplit("/", 1)[-1])
    assert grant is not None and grant.team == "care" and (grant.end - grant.start).days == 56
    whats = [(a["who"], a["what"]) for a in await rt.teams.audit_log()]
    assert ("slack:ULEAD", "measure status") in whats and ("slack:USOMEONE", "measure refused") in whats
    assert ("slack:ULEAD", "report link") in whats


async def test_a_measure_that_points_at_a_person_is_refused_and_nothing_is_saved(rt: Runtime) -> None:
    """Agents read a measure's words in the extra question: no mention, id, number or address."""
    from bot.measures import Measures
    from flows.errors import TeamError

    await rt.teams.save_team(Team(id="care", name="Care", platform="slack", leads=("slack:ULEAD",)))
    for text, role in [
        ("Gespräch mit @kim über Pausen", "Teamleitung"),
        ("Pausen neu planen", "<@U0123ABCD9>"),
        ("Rückruf an 0171234567 klären", "Teamleitung"),
        ("Plan mit kim@firma.de", "Teamleitung"),
        ("Dienstplan mit U0ABCDEF12 ändern", "Teamleitung"),
    ]:
        with pytest.raises(TeamError) as refused:
            await Measures(rt).choose("slack:ULEAD", "care", text=text, role=role)
        assert refused.value.key == "measure_names_someone"
    assert await MeasureStore(rt.redis).all("care") == []
    _, m = await Measures(rt).choose(
        "slack:ULEAD", "care", text="Abbruchregel für 3 Beleidigungen", role="Teamleitung"
    )
    assert m.text == "Abbruchregel für 3 Beleidigungen"


def test_measures_from_the_command_line(redis_url: str) -> None:
    import subprocess
    import sys

    import redis as redis_sync
    from conftest import REPO, python_env

    redis_sync.Redis.from_url(redis_url).flushdb()
    env = python_env(REDIS_URL=redis_url, RUHEPULS_SECRET="cli-measures")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert run("team", "add", "desk", "--name", "Desk", "--platform", "slack").returncode == 0
    options = run("measure", "options", "--team", "desk")
    assert options.returncode == 0 and options.stdout.startswith("A.0: ")
    added = run("measure", "add", "--team", "desk", "--path", "B.1", "--role", "Teamleitung")
    assert added.returncode == 0 and "festgelegt" in added.stdout, added.stderr
    mid = added.stdout.split()[1]
    assert run("measure", "status", "--team", "desk", "--id", mid, "dropped").returncode == 0
    assert "dropped" in run("measure", "list", "--team", "desk").stdout
    bad = run("measure", "add", "--team", "desk", "--path", "Z.9", "--role", "Teamleitung")
    assert bad.returncode != 0 and "Bitte einen Vorschlag" in bad.stderr
    nobody = run("measure", "add", "--team", "nope", "--text", "Etwas Sinnvolles", "--role", "Teamleitung")
    assert nobody.returncode != 0


async def test_the_view_of_a_measure_on_the_exhaustion_type_needs_its_higher_k(rt: Runtime) -> None:
    """Issue 22: the higher k for the exhaustion-driven type was not applied to check-back views
    on a measure for that type."""
    from bot.measures import Measures
    from bot.weekly import _measure_notes
    from classifier import LoadType
    from classifier.disclosure import summarize, thresholds
    from classifier.measures import view_field

    q = rt.conversations.config.questionnaire
    exhausted = q.item(q.signpost.exhaustion_item).type
    other = next(t for t in LoadType if t is not exhausted)
    await rt.teams.save_team(Team(id="care", name="Care", platform="slack"))
    measures = Measures(rt, clock=lambda: ROUND1)
    _, on_exhausted = await measures.choose(
        "cli:admin", "care", path=f"{exhausted.value}.0", role="Teamleitung"
    )
    _, on_other = await measures.choose("cli:admin", "care", path=f"{other.value}.0", role="Teamleitung")
    counters = {"n": 6, view_field(on_exhausted.id, "clear"): 6, view_field(on_other.id, "clear"): 6}  # type: ignore[arg-type]
    for t in LoadType:
        counters |= {f"b:{t}:teilweise": 6, f"m:{t}": 6 * 12}
    k_types = thresholds(5, exhausted, 7)
    summary = summarize(q, 5, counters, None, k_types)
    week = (ROUND1 + timedelta(weeks=10)).strftime("%G-W%V")
    notes = {
        n.measure.id: n.verdict
        for n in await _measure_notes(rt, "care", week, [], summary, counters, k_types, 5)
    }
    assert notes[on_other.id] is not None, "six views: said for the other type"
    assert notes[on_exhausted.id] is None, "six views: withheld where the exhaustion k is seven"
