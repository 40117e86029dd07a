"""Microsoft Teams end to end: the real web app under uvicorn with Bot Framework auth on, a
real Redis, an RSA key made here whose keys a local identity fake serves, and a local connector
fake that records every activity the bot sends."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from slackkit import running_app
from teamskit import APP_ID, FakeTeams, FakeTeamsServer, TeamsAgent, activity, eventually, teams_env

import flows
import flows.keys
from bot.settings import Settings

DE_OPTIONS = ["nie", "selten", "manchmal", "oft", "immer"]


@pytest.fixture(scope="module")
def fake() -> AsyncIterator[FakeTeams]:
    with FakeTeamsServer(FakeTeams()) as f:
        yield f


def settings_for(redis_url: str, fake: FakeTeams, **extra: str) -> Settings:
    return Settings(
        REDIS_URL=redis_url,
        RUHEPULS_SECRET="teams-secret",
        RUHEPULS_ADMINS="teams:admin-1",
        **teams_env(fake),
        **extra,
    )


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
    assert "Konflikt ohne Rückendeckung" in text and "nirgends gespeichert" in text.lower()
    assert not any(ch.isdigit() for ch in text.split("Konflikt", 1)[1][:80]), "no score"
    await agent.press("Aus dem Chat entfernen")
    await eventually(lambda: any(s.method == "DELETE" for s in agent.fake.sent))
    deleted = [s for s in agent.fake.sent if s.method == "DELETE"]
    assert deleted[-1].path.endswith(f"/activities/{agent.card_id}")
    assert "nirgends gespeichert" in agent.text().lower(), "the card that stays, should the delete fail"


async def _keys(redis) -> set[bytes]:
    return {k async for k in redis.scan_iter("rp:*")}


@pytest.mark.parametrize(
    "bad",
    [
        "forged",
        "expired",
        "audience",
        "issuer",
        "service_url",
        "no_service_claim",
        "none",
        "garbage",
        "hs256",
    ],
)
async def test_activities_without_a_valid_token_are_refused(agent: TeamsAgent, redis, bad: str) -> None:
    import time as _time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    f = agent.fake
    tokens = {
        "forged": lambda: jwt.encode(
            jwt.decode(f.token(), options={"verify_signature": False}),
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            algorithm="RS256",
            headers={"kid": "test-key"},
        ),
        "expired": lambda: f.token(
            exp=int(_time.time()) - 3600, iat=int(_time.time()) - 7200, nbf=int(_time.time()) - 7200
        ),
        "audience": lambda: f.token(aud="someone-else"),
        "issuer": lambda: f.token(iss="https://evil.example"),
        "service_url": lambda: f.token(serviceurl="https://elsewhere.example/teams/"),
        "no_service_claim": lambda: f.token(serviceurl=None),
        "none": lambda: jwt.encode(
            {"iss": "https://api.botframework.com", "aud": APP_ID}, None, algorithm="none"
        ),
        "garbage": lambda: "not.a.jwt",
        "hs256": lambda: jwt.encode(
            {
                "iss": "https://api.botframework.com",
                "aud": APP_ID,
                "exp": int(_time.time()) + 60,
                "serviceurl": f.service_url,
            },
            "k" * 32,
            algorithm="HS256",
        ),
    }
    before = await _keys(redis)
    for body in (
        activity(f, "message", agent.user, text="start"),
        activity(f, "installationUpdate", agent.user, action="add"),
    ):
        r = await agent.post(body, token=tokens[bad]())
        assert r.status_code == 401, (bad, r.status_code, r.text)
    r = await agent.client.post(
        f"{agent.base}/api/messages", json=activity(f, "message", agent.user, text="start")
    )
    assert r.status_code == 401  # no Authorization at all
    assert await _keys(redis) == before, "nothing stored"
    # A drain, not a sleep: a valid message from the same person is answered after anything the
    # refused ones could have set off (one queue per person); only its answer may have gone out.
    await agent.say("start")
    assert [x.body["attachments"][0]["content"] for x in f.sent] == [agent.card], "nothing sent for them"


async def test_a_service_url_that_does_not_match_the_token_is_refused(agent: TeamsAgent, redis) -> None:
    body = activity(
        agent.fake, "message", agent.user, text="start", serviceUrl="https://attacker.example/teams/"
    )
    before = await _keys(redis)
    assert (await agent.post(body)).status_code == 401
    assert await _keys(redis) == before and agent.fake.sent == []


async def test_the_same_press_twice_and_two_presses_at_once_advance_once(agent: TeamsAgent, redis) -> None:
    import asyncio

    await agent.say("start")
    await agent.press("Starten")
    first = agent.press_body("oft")
    r1 = await agent.post(first)
    r2 = await agent.post(first)  # the same activity delivered again
    assert r1.status_code == r2.status_code == 200
    assert "Frage 2 von 12" in agent.text(r1.json()["value"])
    assert "Frage 2 von 12" in agent.text(r2.json()["value"]), "the repeat shows where the survey stands"
    # two different presses on the card of question 2, at the same moment
    agent.card = r1.json()["value"]
    a, b = agent.press_body("nie"), agent.press_body("immer")
    ra, rb = await asyncio.gather(agent.post(a), agent.post(b))
    assert ra.status_code == rb.status_code == 200
    person = flows.pseudonym(b"teams-secret", "teams", agent.user)
    data = await redis.hget(flows.keys.session(flows.SOLO, person), "d")
    session = flows.Session.loads(data, 12)
    assert session.answers[:2] in ("3" + "0", "3" + "4") and session.answers[2] == "-", session.answers


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"not json", 400),
        (b"[]", 400),
        (b"{}", 400),
        (b'{"type": 5}', 400),
        (b'{"type": "message"}', 400),
        (b"\xff\xfe", 400),
        (b'{"type": "message", "serviceUrl": "x"}', 400),
        (b"[" * 5000 + b"]" * 5000, 400),
    ],
)
async def test_garbage_bodies_never_cause_a_5xx(agent: TeamsAgent, body: bytes, status: int) -> None:
    r = await agent.client.post(
        f"{agent.base}/api/messages",
        content=body,
        headers={"Authorization": f"Bearer {agent.fake.token()}", "Content-Type": "application/json"},
    )
    assert r.status_code == status, r.text


async def test_malformed_unknown_and_old_activities_do_nothing_harmful(agent: TeamsAgent, redis) -> None:
    f = agent.fake
    odd = [
        activity(f, "typing", agent.user),
        activity(f, "messageReaction", agent.user),
        activity(f, "somethingNew", agent.user),
        activity(f, "message", agent.user, conversation={"id": 5}),
        activity(f, "message", agent.user, **{"from": "nobody"}),
        activity(f, "invoke", agent.user, name="adaptiveCard/action", value={"action": "x"}),
        activity(
            f,
            "invoke",
            agent.user,
            name="adaptiveCard/action",
            value={"action": {"type": "Action.Execute", "verb": "rp", "data": {"rp": "a:zz:9"}}},
        ),
        activity(
            f,
            "invoke",
            agent.user,
            name="adaptiveCard/action",
            value={"action": {"type": "Action.Execute", "verb": "rp", "data": {"rp": "x" * 500}}},
        ),
        activity(f, "invoke", agent.user, name="composeExtension/query", value={}),
    ]
    for body in odd:
        r = await agent.post(body)
        assert r.status_code < 500, (body["type"], r.status_code, r.text)
    # a card from an old question: the press does not answer the current one
    await agent.say("start")
    await agent.press("Starten")
    old = agent.press_body("immer")
    await agent.press("nie")
    await agent.press("nie")
    r = await agent.post(old)
    assert r.status_code == 200
    person = flows.pseudonym(b"teams-secret", "teams", agent.user)
    session = flows.Session.loads(await redis.hget(flows.keys.session(flows.SOLO, person), "d"), 12)
    assert session.answers[:3] == "00-", session.answers


async def test_a_channel_mention_is_pointed_to_the_personal_chat(agent: TeamsAgent, redis) -> None:
    before = await _keys(redis)
    body = activity(agent.fake, "message", agent.user, personal=False, text="<at>Ruhepuls</at> start")
    assert (await agent.post(body)).status_code == 200
    await eventually(lambda: agent.fake.posts("19:team@thread.tacv2") != [])
    assert "privaten Chat" in str(agent.fake.cards("19:team@thread.tacv2")[-1])
    deadline = time.monotonic() + 10
    while (now := await _keys(redis)) != before:  # the card's queue goes once it is shown
        assert time.monotonic() < deadline, f"no survey, nothing stored: {now - before}"
        await asyncio.sleep(0.01)


async def test_redis_down_gets_a_clear_answer_not_a_5xx(fake: FakeTeams) -> None:
    from conftest import free_port

    fake.sent.clear()
    settings = settings_for(f"redis://127.0.0.1:{free_port()}/0", fake)
    async with running_app(settings) as base, httpx.AsyncClient(timeout=15) as http:
        agent = TeamsAgent(http, base, fake, "no-redis")
        r = await agent.say("hallo")
        assert r.status_code == 200
        assert "kurz nicht erreichbar" in agent.text()
        r = await agent.post(
            agent.press_body(index=0) if agent.actions() else activity(fake, "message", agent.user, text="x")
        )
        assert r.status_code < 500


async def test_a_429_from_the_connector_is_waited_out_after_the_request(agent: TeamsAgent) -> None:
    agent.fake.rate_limit = {len(agent.fake.posts()) + 1}
    try:
        r = await agent.post(activity(agent.fake, "message", agent.user, text="hallo"))
        assert r.status_code == 200, "the request does not wait for the connector"
        await agent.settled(0, seconds=10)
        assert "Ruhepuls" in agent.text()
    finally:
        agent.fake.rate_limit = set()


def test_a_whole_survey_through_ruhepuls_serve(redis_url: str, fake: FakeTeams, tmp_path) -> None:
    import asyncio
    import subprocess
    import sys

    from conftest import REPO, free_port, python_env, wait_until_up

    port = free_port()
    # The SDK's generic fallbacks must change nothing: neither these variables nor a .env file
    # in the working directory that asks to accept unauthenticated activities.
    generic = {
        "CLIENT_ID": "someone-else",
        "CLIENT_SECRET": "not-ours",
        "SERVICE_URL": "https://attacker.example/",
        "DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS": "true",
        "CLOUD": "China",
    }
    (tmp_path / ".env").write_text("DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS=true\nTENANT_ID=evil\n")
    env = python_env(
        REDIS_URL=redis_url,
        RUHEPULS_SECRET="teams-serve",
        PORT=str(port),
        PYTHONPATH=f"{REPO}:{REPO / 'tests'}",
        **teams_env(fake),
        **generic,
    )
    with (tmp_path / "serve.log").open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            env=env,
            cwd=tmp_path,
            text=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz", tmp_path / "serve.log")
        unsigned = httpx.post(f"{base}/api/messages", json=activity(fake, "message", "x", text="start"))
        assert unsigned.status_code == 401

        async def survey() -> str:
            async with httpx.AsyncClient(timeout=15) as http:
                agent = TeamsAgent(http, base, fake, "served-person")
                await agent.install()
                await agent.say("start")
                await agent.press("Starten")
                for _ in range(12):
                    await agent.press("oft")
                return agent.text()

        text = asyncio.run(survey())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "Ihr Ergebnis" in text or "Ergebnis" in text
    log = (tmp_path / "serve.log").read_text()
    assert "served-person" not in log and "eyJ" not in log and "Traceback" not in log


def test_a_card_waiting_out_a_429_survives_a_killed_process(
    redis_url: str, fake: FakeTeams, tmp_path
) -> None:
    """Issue 28: Teams cards waited in the process's memory; kill -9 while one waited out a 429
    lost it. The queue is on the sessions Redis and a restarted process delivers it."""
    import asyncio
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO, free_port, python_env, wait_until_up

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = python_env(
        REDIS_URL=redis_url,
        RUHEPULS_SECRET="teams-killed",
        PORT=str(port),
        PYTHONPATH=f"{REPO}:{REPO / 'tests'}",
        **teams_env(fake),
    )

    def serve(name: str) -> subprocess.Popen[str]:
        with (tmp_path / f"{name}.log").open("w") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"],
                env=env,
                cwd=tmp_path,
                text=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def say_start() -> str:
        async with httpx.AsyncClient(timeout=15) as http:
            agent = TeamsAgent(http, base, fake, "killed-person")
            await agent.install()
            fake.limit_next, fake.retry_after = 1, 6  # the next post waits out a 429 (killed within it)
            r = await agent.post(activity(fake, "message", agent.user, text="start"))  # no wait for the card
            assert r.status_code == 200
            return agent.conversation

    first = serve("first")
    limited = fake.limited
    try:
        wait_until_up(f"{base}/healthz", tmp_path / "first.log")
        conversation = asyncio.run(say_start())
        deadline = time.monotonic() + 10
        while fake.limited == limited:
            assert time.monotonic() < deadline, "the post was never tried"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # while the card waits out its 429
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert not fake.cards(conversation)
    second = serve("second")
    try:
        wait_until_up(f"{base}/healthz", tmp_path / "second.log")
        deadline = time.monotonic() + 60
        while not fake.cards(conversation):
            assert time.monotonic() < deadline, "the waiting card never arrived"
            time.sleep(0.1)
    finally:
        second.terminate()
        second.wait(timeout=30)
        fake.retry_after = 1
    assert len(fake.cards(conversation)) == 1 and "Ruhepuls" in json.dumps(fake.cards(conversation)[0])


async def test_a_persons_messages_leave_no_write_of_their_own_on_the_data_server(
    agent: TeamsAgent, redis
) -> None:
    """At rest: the conversation reference is written when it is new or changed, not on every
    message (each would be a record of that person's activity in the append-only file)."""
    await agent.say("hallo")
    (ref,) = [k async for k in redis.scan_iter("rp:ref:teams:person:*")]
    await redis.hset(ref, "probe", "1")  # gone if the reference were written again
    await agent.say("hallo")
    await agent.say("hilfe")
    assert await redis.hget(ref, "probe") == b"1", "an unchanged reference was written again"


async def test_the_privacy_page_names_what_teams_stores(app: str) -> None:
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{app}/privacy")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "Microsoft Teams: wohin der Bot" in r.text and "Microsoft Teams: where the bot" in r.text


async def test_huge_bodies_are_refused_unread(agent: TeamsAgent) -> None:
    huge = b"x" * (2 * 1024 * 1024)
    url = f"{agent.base}/api/messages"
    r = await agent.client.post(url, content=huge, headers={"Authorization": f"Bearer {agent.fake.token()}"})
    assert r.status_code == 413
    r = await agent.client.post(url, content=huge)
    assert r.status_code == 401, "no token: refused before the body is read"


async def test_development_mode_never_sends_the_bots_token_to_an_address_a_request_chose(
    redis_url: str, fake: FakeTeams
) -> None:
    """Issue 24: unsigned activities in development mode made the bot POST its connector token to
    any serviceUrl. Now only a serviceUrl on this machine is answered, and nothing that came
    through a proxy or tunnel is admitted."""
    fake.sent.clear()
    settings = settings_for(redis_url, fake, TEAMS_DANGEROUSLY_ALLOW_UNAUTHENTICATED="1")
    async with running_app(settings) as base, httpx.AsyncClient(timeout=15) as http:
        agent = TeamsAgent(http, base, fake, "dev-user")
        elsewhere = activity(
            fake, "message", agent.user, text="hallo", serviceUrl="https://attacker.invalid/"
        )
        r = await http.post(f"{base}/api/messages", json=elsewhere)  # no token at all
        assert r.status_code == 403
        tunnelled = activity(fake, "message", agent.user, text="hallo")
        r = await http.post(
            f"{base}/api/messages", json=tunnelled, headers={"X-Forwarded-For": "203.0.113.9"}
        )
        assert r.status_code == 403
        assert fake.sent == [], "nothing was sent anywhere"
        local = activity(fake, "message", agent.user, text="hallo")  # the emulator on this machine
        r = await http.post(f"{base}/api/messages", json=local)
        assert r.status_code == 200
        await eventually(lambda: bool(fake.sent), seconds=10)


async def test_a_signed_activity_of_another_channel_is_not_served_as_teams(agent: TeamsAgent) -> None:
    """Issue 24: a validly signed `webchat` activity was served as if it came from Teams."""
    before = len(agent.fake.sent)
    r = await agent.post(activity(agent.fake, "message", agent.user, text="hallo", channelId="webchat"))
    assert r.status_code == 403 and len(agent.fake.sent) == before


async def test_a_key_not_endorsed_for_teams_is_refused(agent: TeamsAgent) -> None:
    """Issue 24: Bot Framework's key set says per key which channels it may speak for; a token
    from a key endorsed only for Web Chat was served although the activity said `msteams`."""
    before = len(agent.fake.sent)
    hello = activity(agent.fake, "message", agent.user, text="hallo")
    r = await agent.post(hello, token=agent.fake.token(webchat_key=True))
    assert r.status_code == 403 and len(agent.fake.sent) == before
    r = await agent.post(activity(agent.fake, "message", agent.user, text="hallo"))
    assert r.status_code == 200, "the key endorsed for Teams is served"


@pytest.mark.parametrize(
    ("identity", "credentials", "kind"),
    [
        ("system", "FederatedIdentityCredentials", "system"),
        ("direct", "ManagedIdentityCredentials", None),
        ("11111111-2222-4333-8444-555555555555", "FederatedIdentityCredentials", "user"),
    ],
)
def test_a_managed_identity_instead_of_a_client_secret(
    identity: str, credentials: str, kind: str | None
) -> None:
    """Issue 24: Azure creates single-tenant bots, ideally with a managed identity, no secret."""
    from bot.msteams.sdk import build

    settings = Settings(
        TEAMS_APP_ID=APP_ID,
        TEAMS_TENANT_ID="22222222-2222-4333-8444-555555555555",
        TEAMS_MANAGED_IDENTITY=identity,
    )
    from bot.msteams.settings import TeamsSettings

    assert settings.section(TeamsSettings).enabled and settings.section(TeamsSettings).off_reason() is None
    creds = build(settings).app.credentials
    assert type(creds).__name__ == credentials and getattr(creds, "managed_identity_type", None) == kind
    assert not hasattr(creds, "client_secret"), "no secret in play"
