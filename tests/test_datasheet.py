"""What is stored, held against the declared list (flows/keys.yaml): a whole round through the
real app pieces and a real Redis, then every key is checked; then the team is removed and
nothing of it may remain. README's "What is stored" must be the generated list, word for word."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from conftest import REPO
from fakes import FakeServer, FakeSlack

from bot.admin import Admin
from bot.outreach import tick
from bot.platform import declared_keys
from bot.privacy import stored_list
from bot.runtime import runtime
from bot.settings import Settings
from bot.slack.client import web_client
from bot.slack.outreach import SlackOutreach
from flows import events as ev
from flows import keys
from flows.datasheet import kind_of
from flows.teams import Team

OPENED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
MEMBERS = [f"UMEMBER{n:03d}" for n in range(8)]


def test_every_key_kind_is_declared_once_with_both_languages() -> None:
    ids = [k.id for k in declared_keys()]
    assert len(ids) == len(set(ids))
    for k in declared_keys():
        re.compile(k.pattern)
        assert k.holds.de and k.holds.en and k.lives.de and k.lives.en


async def test_a_whole_round_leaves_only_declared_keys_within_their_lifetimes(redis_url: str, redis) -> None:
    fake = FakeSlack(channel_members={"CTEAM": MEMBERS})
    with FakeServer(fake, "/api") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            SLACK_BOT_TOKEN="xoxb-k",
            SLACK_SIGNING_SECRET="s",
            SLACK_API_URL=f"{api.url}/api/",
            RUHEPULS_SECRET="keys-secret",
            RUHEPULS_QUIET_HOURS="24-0",
            RUHEPULS_WORKDAYS="mon-sun",
        )
        clock = {"now": OPENED}
        async with runtime(settings, clock=lambda: clock["now"]) as rt:
            await rt.teams.save_team(
                Team(id="support", name="Support", platform="slack", channel="CTEAM", lead_channel="LSUP")
            )
            await rt.teams.save_team(Team(id="hotline", name="Hotline", platform="telegram"), join_link=True)
            await rt.teams.members.join_link("hotline", days=3, uses=5)
            admin = Admin(rt, clock=lambda: clock["now"])
            await admin.run("cli:x", "round open support 10", "de")
            outreach = {"slack": SlackOutreach(rt, web_client(rt))}
            await tick(rt, outreach, OPENED + timedelta(minutes=1))  # invitations
            clock["now"] = OPENED + timedelta(hours=2)
            for uid in MEMBERS[:6]:  # six finish, one is half-way, one never starts
                person = rt.person("slack", f"T1:{uid}")
                await rt.conversations.handle(person, ev.Start("de"), event_id=f"s{uid}")
                for n, item in enumerate(rt.conversations.config.questionnaire.items):
                    await rt.conversations.handle(person, ev.Answer(item.id, 3), event_id=f"{uid}-{n}")
            half = rt.person("slack", f"T1:{MEMBERS[6]}")
            await rt.conversations.handle(half, ev.Start("de"))
            await rt.conversations.handle(half, ev.Answer("a1", 2))
            solo = rt.person("slack", "T2:ELSEWHERE")
            await rt.conversations.handle(solo, ev.Start("de"))
            await tick(rt, outreach, OPENED + timedelta(days=5))  # first reminder
            await tick(rt, outreach, OPENED + timedelta(days=7, hours=1))  # weekly summary (W49)
            assert any(
                c.method == "chat.postMessage" and c.params.get("channel") == "LSUP" for c in fake.calls
            )
            rnd = await rt.teams.current_round("support")
            assert rnd is not None and rnd.reminded == 1
            tags = [
                str(c.params.get("metadata"))
                for c in fake.calls
                if c.method == "chat.postMessage" and str(c.params.get("channel", "")).startswith("D")
            ]
            assert len(tags) > len(MEMBERS), "invitations and reminders went out"
            assert all("ruhepuls" in t for t in tags)
            for tag in tags:  # an export of the workspace can't tell a reminder (a non-responder)
                assert "rem" not in tag and "inv" not in tag and rnd.id not in tag
            await admin.run("cli:x", "round close support", "de")

            ttl = settings.session_ttl_seconds
            found = await check_keys(redis, ttl)
            assert {
                "session",
                "counters",
                "history",
                "publication",
                "plan",
                "team",
                "round",
                "who",
                "join",
                "audit",
            } <= found
            assert not any(k.startswith(b"rp:{support}:done:") for k in await redis.keys("*")), "closed"
            for key in await redis.keys("rp:{support}:s:*"):  # finished surveys keep no answers, no ids
                fields = set(await redis.hkeys(key))
                assert b"d" not in fields or key.endswith(half.encode())
            people = {rt.person("slack", f"T1:{uid}") for uid in MEMBERS}
            for key, value in await dump(redis):
                hit = [
                    (uid, key, (key + value)[max(0, (key + value).find(uid.encode()) - 40) :][:80])
                    for uid in MEMBERS
                    if uid.encode() in key + value
                ]
                assert not hit, f"a platform user id: {hit}"

            gone = await rt.teams.remove_team("support", rt.sessions)
            assert gone is not None and gone["counters"] == 1 and gone["who"] == len(MEMBERS)
            left = [k for k in await redis.keys("*") if b"{support}" in k]
            assert left == [], f"team removal left {left}"
            assert not any(p.encode() in v for _, v in await dump(redis) for p in people)
            assert await redis.get(keys.who(next(iter(people)))) is None


async def check_keys(redis, session_ttl: int) -> set[str]:
    """Every key matches exactly one declared kind and lives no longer than it says."""
    found = set()
    for key in await redis.keys("*"):
        name = key.decode()
        kinds = kind_of(name, declared_keys())
        assert len(kinds) == 1, f"{name} matches {[k.id for k in kinds]} declared kinds"
        kind = kinds[0]
        found.add(kind.id)
        limit = kind.ttl_limit(session_ttl)
        ttl = await redis.ttl(key)
        if ttl == -2:
            continue  # expired since it was listed
        if limit is not None:
            assert 0 <= ttl <= limit, (
                f"{name} lives {ttl} s, declared at most {limit}"
            )  # 0: under a second left
    return found


async def dump(redis) -> list[tuple[bytes, bytes]]:
    out = []
    for key in await redis.keys("*"):
        kind = (await redis.type(key)).decode()
        if kind == "string":
            value = repr(await redis.get(key))
        elif kind == "hash":
            value = repr(await redis.hgetall(key))
        elif kind == "set":
            value = repr(await redis.smembers(key))
        elif kind == "list":
            value = repr(await redis.lrange(key, 0, -1))
        elif kind == "zset":
            value = repr(await redis.zrange(key, 0, -1))
        else:
            value = repr(await redis.xrange(key))
        out.append((key, value.encode()))
    return out


def test_readme_what_is_stored_is_the_declared_list() -> None:
    readme = (REPO / "README.md").read_text()
    block = readme.split("<!-- stored:begin -->\n", 1)[1].split("\n<!-- stored:end -->", 1)[0]
    assert block == stored_list(Settings(), "en", declared_keys()), "run: ruhepuls privacy --stored --lang en"
