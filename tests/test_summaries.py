"""Weekly team summaries end to end: real Redis, the worker's tick with the time passed in,
the local fake Slack / Telegram APIs as the lead channel."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REPO, Clock, python_env
from fakes import FakeServer, FakeSlack, FakeTelegram

from bot.outreach import tick
from bot.runtime import Runtime, runtime
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.outreach import SlackOutreach
from bot.telegram.outreach import TelegramOutreach
from bot.weekly import preview, run_unit, units
from flows import events as ev
from flows import keys
from flows.teams import Team

OPENED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Berlin (week 48)
REPORT = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)  # next Monday, 09:30 in Berlin


@pytest.fixture
async def rt(redis_url: str, fake_slack: FakeServer, redis) -> AsyncIterator[Runtime]:
    settings = Settings(
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN="xoxb-t",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=f"{fake_slack.url}/api/",
        RUHEPULS_SECRET="summary-secret",
        RUHEPULS_ADMINS="slack:UADMIN",
    )
    async with runtime(settings, clock=Clock(OPENED + timedelta(hours=1))) as r:
        yield r


async def take_surveys(rt: Runtime, team_id: str, people: int, value: int = 3, tag: str = "") -> None:
    """`people` members of the team finish the survey in the open round."""
    for n in range(people):
        person = rt.person("slack", f"T1:U{tag}{team_id}{n}")
        await rt.teams.members.place([person], team_id)
        await rt.conversations.handle(person, ev.Start("de"))
        for item in rt.conversations.config.questionnaire.items:
            await rt.conversations.handle(person, ev.Answer(item.id, value))


async def open_team(rt: Runtime, team_id: str = "support", **extra) -> Team:
    team = await rt.teams.save_team(
        Team(
            id=team_id,
            name=team_id.title(),
            platform="slack",
            channel="CTEAM",
            lead_channel=f"L{team_id}",
            **extra,
        )
    )
    await rt.teams.open_round(team_id, OPENED, OPENED + timedelta(days=14))
    return team


def lead_posts(fake: FakeSlack, channel: str) -> list[str]:
    return [
        c.params["text"]
        for c in fake.calls
        if c.method == "chat.postMessage" and c.params["channel"] == channel
    ]


async def test_below_k_posts_not_enough_yet_and_nothing_else(rt: Runtime, fake_slack: FakeServer) -> None:
    fake = fake_slack.fake
    await open_team(rt)
    await take_surveys(rt, "support", 4)
    outreach = {"slack": SlackOutreach(rt, web_client(rt))}
    await tick(rt, outreach, REPORT)
    posts = lead_posts(fake, "Lsupport")
    assert len(posts) == 1 and "noch nicht genug Antworten" in posts[0]
    for word in ("Konflikt", "deutlich", "teilweise", "kaum"):
        assert word not in posts[0]
    assert "files.getUploadURLExternal" not in fake.methods() and fake.uploads == {}


async def test_k_or_more_posts_summary_and_chart_once(rt: Runtime, fake_slack: FakeServer) -> None:
    fake = fake_slack.fake
    await open_team(rt)
    await take_surveys(rt, "support", 5)
    outreach = {"slack": SlackOutreach(rt, web_client(rt))}
    await tick(rt, outreach, REPORT - timedelta(hours=2))  # 07:30 in Berlin: not yet
    assert lead_posts(fake, "Lsupport") == []
    expected = await preview(rt, "support", REPORT)
    await asyncio.gather(*(tick(rt, outreach, REPORT + timedelta(minutes=m)) for m in range(3)))
    await tick(rt, outreach, REPORT + timedelta(hours=3))
    posts = lead_posts(fake, "Lsupport")
    assert posts == [expected], "one post per team per week, exactly as previewed"
    text = posts[0]
    assert "genug Antworten" in text and "Konflikt ohne Rückendeckung: deutlich ausgeprägt" in text
    assert "Strukturelle Spannungsfelder" in text and "bei vielen" not in text  # spread only from 10
    words_only = text.replace("(2026-W49)", "").replace("mindestens 5 Personen", "")
    assert not re.search(r"\d", words_only), "no number other than the week and k"
    assert len(fake.uploads) == 1 and next(iter(fake.uploads.values())) > 1000  # the PNG chart
    complete = next(c for c in fake.calls if c.method == "files.completeUploadExternal")
    assert complete.params.get("channel_id") == "Lsupport"
    # the chart was drawn when it went out: the frozen post keeps no image (issue 29)
    frozen = await rt.redis.hgetall(keys.publication("support", "2026-W49"))
    assert frozen and b"chart" not in frozen and all(len(v) < 4000 for v in frozen.values())
    # next week: nothing new, so nothing is shown (the published responses are never reused)
    await tick(rt, outreach, REPORT + timedelta(days=7))
    assert "noch nicht genug" in lead_posts(fake, "Lsupport")[-1]


async def test_from_ten_spread_and_trend(rt: Runtime, fake_slack: FakeServer) -> None:
    fake = fake_slack.fake
    await open_team(rt)
    await take_surveys(rt, "support", 10, value=1)  # the trend needs 10 behind both reports
    outreach = {"slack": SlackOutreach(rt, web_client(rt))}
    await tick(rt, outreach, REPORT)
    rt.conversations._clock = Clock(REPORT + timedelta(hours=2))
    await take_surveys(rt, "support", 7, value=4, tag="b")
    await take_surveys(rt, "support", 4, value=0, tag="c")
    await tick(rt, outreach, REPORT + timedelta(days=7))
    text = lead_posts(fake, "Lsupport")[-1]
    assert "bei vielen" in text and "stärker als im letzten Bericht" in text
    for word in ("alle", "niemand", "Prozent", "%"):
        assert word not in text


async def test_small_teams_count_in_their_parent_once_their_rounds_end(
    rt: Runtime, fake_slack: FakeServer
) -> None:
    fake = fake_slack.fake
    await rt.teams.save_team(Team(id="dept", name="Dept", platform="slack", lead_channel="Ldept"))
    for team_id, n in (("small", 2), ("tiny", 3), ("big", 9)):
        await open_team(rt, team_id, parent="dept")
        await take_surveys(rt, team_id, n)
    for team_id in ("small", "tiny"):
        await rt.teams.close_round(team_id)
    assert [t.id for t in (await units(rt))["dept"]] == ["dept", "big", "small", "tiny"]
    await tick(rt, {"slack": SlackOutreach(rt, web_client(rt))}, REPORT)
    assert (
        "Gemeinsame Auswertung" in lead_posts(fake, "Ldept")[0]
        and "Muster im Team" in lead_posts(fake, "Ldept")[0]
    )
    assert "Muster im Team" in lead_posts(fake, "Lbig")[0]
    for small in ("Lsmall", "Ltiny"):  # the same sentence every week, answered or not
        assert "gemeinsamen Auswertung für Dept" in lead_posts(fake, small)[0]
        assert "jede Woche gleich" in lead_posts(fake, small)[0]


async def test_no_user_id_and_no_personal_answer_anywhere_in_redis(rt: Runtime, redis) -> None:
    await open_team(rt)
    await take_surveys(rt, "support", 6)
    await rt.teams.close_round("support")
    await run_unit(rt, (await units(rt))["support"], REPORT, lambda *a: asyncio.sleep(0, True))
    everything = []
    for key in await redis.keys("*"):
        kind = (await redis.type(key)).decode()
        value = {
            "string": redis.get,
            "hash": redis.hgetall,
            "set": redis.smembers,
            "list": lambda k: redis.lrange(k, 0, -1),
            "stream": lambda k: redis.xrange(k),
        }[kind]
        everything.append(f"{key!r} {await value(key)!r}")
        if kind == "hash" and b":s:" in key:
            assert set(await redis.hkeys(key)) <= {b"v", b"f"}  # version, "just finished"
    dump = "\n".join(everything)
    for n in range(6):
        assert f"Usupport{n}" not in dump
    assert "|m:A" not in dump and "|b:A:" not in dump, "published counters are deleted"
    assert all(b":" not in f.split(b"|")[0] for f in await redis.hkeys("rp:{support}:agg"))


async def test_preview_for_admins_and_leads_only(rt: Runtime) -> None:
    from bot.admin import Admin

    await open_team(rt, leads=("slack:ULEAD",))
    admin = Admin(rt, clock=lambda: REPORT)
    assert "Ruhepuls-Wochenbericht" in await admin.run("slack:ULEAD", "summary support", "de")
    assert "Ruhepuls-Wochenbericht" in await admin.run("slack:UADMIN", "summary support", "de")
    assert "Admins" in await admin.run("slack:USOMEONE", "summary support", "de")


def test_a_public_host_needs_a_configured_secret(tmp_path) -> None:
    env = python_env(HOST="0.0.0.0", RUHEPULS_DATA_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:1/0")
    out = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0 and "RUHEPULS_SECRET" in out.stderr
    assert not (tmp_path / "secret").exists(), "no secret is generated next to the data"


def test_summary_preview_and_privacy_commands(redis_url: str, tmp_path) -> None:
    env = python_env(REDIS_URL=redis_url, RUHEPULS_SECRET="cli", RUHEPULS_DATA_DIR=str(tmp_path))
    cli = [sys.executable, "-m", "bot"]
    subprocess.run(
        [*cli, "team", "add", "ops", "--name", "Ops", "--platform", "slack", "--channel", "C1"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [*cli, "summary", "preview", "--team", "ops"], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert (
        out.returncode == 0
        and "Ruhepuls-Wochenbericht für Ops" in out.stdout
        and "noch nicht genug" in out.stdout
    )
    sheet = subprocess.run([*cli, "privacy"], env=env, cwd=REPO, capture_output=True, text=True).stdout
    assert "DATENBLATT" in sheet and "DATA SHEET" in sheet
    assert (
        "bis 7 Tage nach der letzten Antwort" in sheet
        and "until 7 days after the last answer" in sheet
        and "needs at least 5 people who answered" in sheet
    )
    env["RUHEPULS_SESSION_TTL_DAYS"], env["RUHEPULS_MIN_GROUP_SIZE"] = "3", "8"
    sheet = subprocess.run(
        [*cli, "privacy", "--lang", "en"], env=env, cwd=REPO, capture_output=True, text=True
    ).stdout
    assert (
        "until 3 days after the last answer" in sheet
        and "needs at least 8 people who answered" in sheet
        and "DATENBLATT" not in sheet
    )
    env["RUHEPULS_MIN_GROUP_SIZE"] = "4"
    bad = subprocess.run([*cli, "privacy"], env=env, cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "min_group_size" in bad.stderr.lower()


async def test_telegram_lead_chat_gets_text_and_photo(redis_url: str, redis) -> None:
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN="1:T",
            TELEGRAM_API_URL=f"{api.url}/bot",
            RUHEPULS_SECRET="tg-sum",
        )
        async with runtime(settings, clock=Clock(OPENED + timedelta(hours=1))) as rt:
            await rt.teams.save_team(Team(id="hot", name="Hot", platform="telegram", lead_channel="-1001"))
            await rt.teams.open_round("hot", OPENED, OPENED + timedelta(days=14))
            await take_surveys(rt, "hot", 5)
            from telegram import Bot

            async with Bot("1:T", base_url=f"{api.url}/bot") as bot:
                await tick(rt, {"telegram": TelegramOutreach(rt, bot)}, REPORT)
    texts = [c.params["text"] for c in fake.calls if c.method == "sendMessage"]
    assert len(texts) == 1 and "Wochenbericht für Hot" in texts[0]
    assert len(fake.photos()) == 1 and fake.photos()[0].params["chat_id"] == "-1001"


@pytest.mark.parametrize(
    ("a2", "cause"),
    [(0, "selten in fehlender Rückendeckung"), (4, "hauptsächlich in fehlender Rückendeckung")],
)
async def test_the_cause_line_comes_from_the_teams_own_answers(rt: Runtime, a2: int, cause: str) -> None:
    """Six who say they never lacked backing (but calls can't be ended) are not told their
    cause is a lack of backing; six who say they often did, are."""
    await open_team(rt)
    for n in range(6):
        person = rt.person("slack", f"T1:UCAUSE{n}")
        await rt.teams.members.place([person], "support")
        await rt.conversations.handle(person, ev.Start("de"))
        answers = {i.id: 0 for i in rt.conversations.config.questionnaire.items} | {
            "a1": 4,
            "a2": a2,
            "a3": 4,
        }
        for item, value in answers.items():
            await rt.conversations.handle(person, ev.Answer(item, value))
    text = await preview(rt, "support", REPORT) or ""
    assert "Konflikt ohne Rückendeckung: deutlich ausgeprägt" in text, text
    assert f"Konflikt ohne Rückendeckung: Das Team sieht die Ursache {cause}" in text, text
    assert "Vorsicht beim Lesen" in text


async def test_a_refused_chart_never_posts_the_summary_twice(rt: Runtime, fake_slack: FakeServer) -> None:
    """Issue 29: an upload refused after the text was posted made the next run post the text again."""
    fake = fake_slack.fake
    await open_team(rt)
    await take_surveys(rt, "support", 5)
    fake.fail["files.getUploadURLExternal"] = "internal_error"
    outreach = {"slack": SlackOutreach(rt, web_client(rt))}
    for minutes in range(3):
        await tick(rt, outreach, REPORT + timedelta(minutes=minutes))
    assert len(lead_posts(fake, "Lsupport")) == 1, "the text once, whatever became of the chart"
    assert ("system", "summary chart failed") in [(e["who"], e["what"]) for e in await rt.teams.audit_log()]


async def test_the_charts_upload_goes_through_the_shared_limiter_and_waits_out_a_429(
    rt: Runtime, fake_slack: FakeServer
) -> None:
    """Issue 29: the chart went around the rate limiter (files_upload_v2 on the raw client). Its
    two Web API calls now take their slots in the shared buckets and wait out Slack's 429."""
    fake = fake_slack.fake
    await open_team(rt)
    await take_surveys(rt, "support", 5)
    fake.rate_limit["files.getUploadURLExternal"] = 1
    fake.retry_after = 1
    outreach = {"slack": SlackOutreach(rt, web_client(rt))}
    await tick(rt, outreach, REPORT)
    assert len(lead_posts(fake, "Lsupport")) == 1
    methods = fake.methods()
    assert methods.count("files.getUploadURLExternal") == 2, "refused once, then waited out and taken"
    assert (
        "files.completeUploadExternal" in methods
        and len(fake.uploads) == 1
        and min(fake.uploads.values()) > 1000
    )
    complete = next(c for c in fake.calls if c.method == "files.completeUploadExternal")
    assert complete.params.get("channel_id") == "Lsupport"
    buckets = [k.decode() async for k in rt.sessions.scan_iter(match="rp:limit:slack:*files*")]
    assert buckets, "the upload took slots in the shared limiter"
    assert ("system", "summary chart failed") not in [
        (e["who"], e["what"]) for e in await rt.teams.audit_log()
    ]


def test_the_chart_shows_the_last_quarter_however_long_the_history() -> None:
    """Issue 24: the chart grew with every published week (two years kept), past what a Teams
    card carries and past what anyone can read. It shows the last 13 weeks, this one included."""
    import classifier
    from bot.chart import band_chart
    from bot.weekly import CHART_WEEKS, _chart_series
    from flows.publications import HistoryEntry

    wide = frozenset({"A", "B", "C", "D"})
    bands = {"A": "deutlich", "B": "teilweise", "C": "kaum", "D": "kaum"}
    history = [HistoryEntry(f"{2025 + i // 52}-W{i % 52 + 1:02d}", bands, wide) for i in range(104)]
    series = _chart_series(history, "2027-W01", bands, wide)
    assert len(series) == CHART_WEEKS == 13 and series[-1][0] == "2027-W01" and series[0][0] == "2026-W41"
    short = band_chart(classifier.default(), series[-2:], "de")
    assert len(band_chart(classifier.default(), series, "de")) < 1.5 * len(short)


async def test_a_telegram_lead_group_gets_at_most_twenty_messages_a_minute(redis_url: str, redis) -> None:
    """Issue 29: Telegram lets a bot send a group 20 messages a minute (and a chat one a second);
    the lead chat is a group, and the summary's photo went around the limiter."""
    fake = FakeTelegram()
    with FakeServer(fake, "/bot") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            TELEGRAM_BOT_TOKEN="1:T",
            TELEGRAM_API_URL=f"{api.url}/bot",
            RUHEPULS_SECRET="tg-group",
        )
        async with runtime(settings) as rt:
            from telegram import Bot

            async with Bot("1:T", base_url=f"{api.url}/bot") as bot:
                outreach = TelegramOutreach(rt, bot)
                for n in range(5):
                    await outreach._send(-1001, text=f"Nachricht {n}")
                await outreach._send(-1001, "send_photo", photo=b"\x89PNG\r\n\x1a\n")
    sent = [c for c in fake.calls if c.method in ("sendMessage", "sendPhoto")]
    assert [c.method for c in sent] == ["sendMessage"] * 5 + ["sendPhoto"]
    # three at a second's distance, then one every three seconds: the photo is the sixth message
    # in the group, no sooner than 9 s after the first (one a second alone would allow 5 s)
    assert sent[-1].at - sent[0].at >= 8.5
