"""Slack end to end: the real web app under uvicorn, a real Redis, a local fake Slack Web API;
every request signed exactly as Slack signs it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fakes import FakeServer, FakeSlack
from slackkit import SIGNING_SECRET, SlackAgent, running_app, signed_headers

import flows
import flows.keys
from bot.settings import Settings

DE_OPTIONS = ["nie", "selten", "manchmal", "oft", "immer"]
EN_OPTIONS = ["never", "rarely", "sometimes", "often", "always"]


@pytest.fixture(scope="module")
def fake_slack() -> FakeServer:
    with FakeServer(FakeSlack(), "/api") as server:
        yield server


@pytest.fixture(scope="module")
async def slack_app(redis_url: str, fake_slack: FakeServer) -> AsyncIterator[str]:
    settings = Settings(
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{fake_slack.url}/api/",
        SLACK_RESPONSE_URL_PREFIX=f"{fake_slack.url}/respond/",
        RUHEPULS_SECRET="slack-test-secret",
    )
    async with running_app(settings) as base:
        yield base


@pytest.fixture
async def agent(slack_app: str, fake_slack: FakeServer, redis) -> AsyncIterator[SlackAgent]:
    fake_slack.fake.reset()
    async with httpx.AsyncClient(timeout=10) as http:
        yield SlackAgent(http, slack_app, fake_slack.fake)


async def answer_all(agent: SlackAgent, labels: list[str]) -> None:
    for label in labels:
        r = await agent.click(label)
        assert r.status_code == 200


async def test_healthz(agent: SlackAgent) -> None:
    r = await agent.http.get(f"{agent.base}/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize(("lang", "options"), [("de", DE_OPTIONS)])  # both languages: test_transcripts
async def test_whole_survey_by_clicking(agent: SlackAgent, lang: str, options: list[str]) -> None:
    r = await agent.say("hallo")
    assert r.status_code == 200
    assert "Ruhepuls" in agent.text() and "Starten" in [b["text"]["text"] for b in agent.buttons()]
    if lang == "en":
        await agent.click("English")
        assert "Hello, this is Ruhepuls" in agent.text()
    await agent.click("Starten" if lang == "de" else "Start")
    intro_ts = agent.last_ts
    assert ("Frage 1 von 12" if lang == "de" else "Question 1 of 12") in agent.text()
    labels = [options[4], options[0], options[0], options[0]] * 3  # type A stands out
    before = len(agent.fake.calls)
    await answer_all(agent, labels)
    sent = [c.method for c in agent.fake.calls[before:]]
    assert sent == ["respond"] * 12, f"every click replaces the same message in place: {sent}"
    assert list(agent.messages) == [intro_ts]
    text = agent.text()
    assert ("Konflikt ohne Rückendeckung" if lang == "de" else "Customer conflict without backing") in text
    assert ("nirgends gespeichert" if lang == "de" else "stored nowhere") in text.lower()
    for call in agent.fake.calls:  # no notification text carries an answer or the result
        assert "Konflikt" not in str(call.params.get("text")) and "conflict" not in str(
            call.params.get("text")
        )
    # the result can be removed from the chat
    await agent.click("Aus dem Chat entfernen" if lang == "de" else "Remove from the chat")
    last = agent.fake.calls[-1]
    assert last.method == "respond" and last.params.get("delete_original") and agent.messages == {}


async def test_the_result_moves_out_of_the_history_into_the_app_home(agent: SlackAgent) -> None:
    await agent.say("hallo")
    await agent.click("Starten")
    for _ in range(12):
        await agent.click("oft")
    ts = agent.last_ts
    assert "Ihr Ergebnis" in agent.text(ts)
    before = len(agent.fake.calls)
    await agent.click("Nur im App-Home zeigen (nicht im Verlauf)", ts)
    for _ in range(200):
        if ts not in agent.messages and agent.home:
            break
        await asyncio.sleep(0.01)
        agent.sync()
    assert ts not in agent.messages, "gone from the message history"
    home = json.dumps(agent.home, ensure_ascii=False)
    assert "Ihr Ergebnis" in home and "Aus dem App-Home entfernen" in home and "App-Home zeigen" not in home
    assert [c.method for c in agent.fake.calls[before:]].count("views.publish") == 1
    await agent.click_home("Aus dem App-Home entfernen")
    cleared = json.dumps(agent.home, ensure_ascii=False)
    assert (
        "Hier erscheint Ihr Ergebnis" in cleared
        and "Konflikt" not in cleared
        and "Was helfen kann" not in cleared
    )


async def test_slash_command_opens_a_dm(agent: SlackAgent) -> None:
    r = await agent.command("", channel="C123")
    assert r.status_code == 200 and "Direktnachricht" in r.text
    assert agent.fake.methods()[:2] == ["conversations.open", "chat.postMessage"]
    assert "Starten" in [b["text"]["text"] for b in agent.buttons()]
    r = await agent.command("help", channel=agent.channel)
    assert r.status_code == 200 and "Direktnachricht" not in r.text
    assert "So funktioniert Ruhepuls" in agent.text()


async def test_double_and_stale_clicks(agent: SlackAgent, redis) -> None:
    await agent.say("hi")
    await agent.click("Starten")
    q1 = agent.last_ts
    payload = agent.click_payload("immer", q1)
    double = agent.click_payload("immer", q1)  # a second click: same button, new action_ts
    for body in (payload, payload, double):
        r = await agent.post(body, "application/x-www-form-urlencoded")
        assert r.status_code == 200
    await agent.settled()
    assert "Frage 2 von 12" in agent.text(q1)
    # a click on an old copy of question 1 changes nothing: question 2 is shown again
    await agent.post(_with_value(agent, q1, "a:a1:0"), "application/x-www-form-urlencoded")
    await agent.settled()
    assert "Frage 2 von 12" in agent.text(q1)
    await agent.click("nie")
    assert "Frage 3 von 12" in agent.text(q1)
    session = await _session_answers(redis, agent)
    assert session == "40----------", "the double click counted once, the stale click not at all"


async def test_a_double_tap_on_the_last_answer_leaves_the_result(agent: SlackAgent) -> None:
    """Issue 28: the second tap on the last answer replaced the result with "no longer running"."""
    await agent.say("hi")
    await agent.click("Starten")
    q = agent.last_ts
    for _ in range(11):
        await agent.click("selten", q)
    first, second = agent.click_payload("oft", q), agent.click_payload("oft", q)  # two taps, one screen
    for body in (first, second):
        assert (await agent.post(body, "application/x-www-form-urlencoded")).status_code == 200
        await agent.settled()
    assert "Ihr Ergebnis" in agent.text(q), "the result stays where it was shown"
    assert "nicht mehr läuft" not in str(agent.messages)
    assert list(agent.messages) == [q], "nothing posted below it either"
    late = agent.click_payload("Was hilft", q)  # the result's own buttons still work
    await agent.post(late, "application/x-www-form-urlencoded")
    await agent.settled()
    assert "Was helfen kann" in agent.text(q) or "Ruhepuls vergleicht" in agent.text(q)


async def _session_answers(redis, agent: SlackAgent) -> str:
    person = flows.pseudonym(b"slack-test-secret", "slack", f"{agent.team}:{agent.user}")
    return flows.Session.loads(await redis.hget(flows.keys.session(flows.SOLO, person), "d"), 12).answers


def _with_value(agent: SlackAgent, ts: str, value: str) -> str:
    from urllib.parse import parse_qs, urlencode

    payload = json.loads(parse_qs(agent.click_payload("nie", ts))["payload"][0])
    payload["actions"][0]["value"] = value
    return urlencode({"payload": json.dumps(payload)})


async def test_retry_is_answered_with_no_retry_and_dropped(agent: SlackAgent) -> None:
    await agent.say("hallo", event_id="Ev-same")
    posts = agent.fake.methods().count("chat.postMessage")
    r = await agent.say(
        "hallo", event_id="Ev-same", **{"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
    )
    assert r.status_code == 200 and r.headers.get("x-slack-no-retry") == "1"
    assert agent.fake.methods().count("chat.postMessage") == posts


async def test_forged_and_stale_signatures_are_refused(agent: SlackAgent) -> None:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": "Ev1",
            "event": {"type": "message", "channel_type": "im", "channel": "DU1", "user": "U1", "text": "hi"},
        }
    )
    forged = signed_headers(body, secret="not-the-secret")
    r = await agent.http.post(f"{agent.base}/slack/events", content=body, headers=forged)
    assert r.status_code == 401
    stale = signed_headers(body, timestamp=int(time.time()) - 600)
    r = await agent.http.post(f"{agent.base}/slack/events", content=body, headers=stale)
    assert r.status_code == 401
    r = await agent.http.post(
        f"{agent.base}/slack/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 401
    assert agent.fake.methods() == []


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        ("{not json", "application/json"),
        ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
        (
            "payload="
            + json.dumps({"type": "block_actions", "actions": [{"action_id": "rp:0", "value": "a:zz:9"}]}),
            "application/x-www-form-urlencoded",
        ),
        (
            "payload="
            + json.dumps(
                {
                    "type": "block_actions",
                    "user": {"id": "U1"},
                    "actions": [{"action_id": "rp:0", "value": "a:a1:3"}],
                }
            ),
            "application/x-www-form-urlencoded",
        ),
        (
            json.dumps(
                {"type": "event_callback", "event": {"type": "message", "channel_type": "im", "user": 5}}
            ),
            "application/json",
        ),
        (
            json.dumps({"type": "event_callback", "team_id": "T1", "event": {"type": "reaction_added"}}),
            "application/json",
        ),
        (json.dumps([1, 2, 3]), "application/json"),
        ("", "application/json"),
    ],
)
async def test_garbage_payloads_never_cause_a_500(agent: SlackAgent, body: str, ctype: str) -> None:
    r = await agent.post(body, ctype)
    assert r.status_code < 500


async def test_a_slow_response_url_never_holds_the_click(agent: SlackAgent) -> None:
    """The card goes out before the click is answered only while that takes under a second: a
    response URL that takes 1.5 s leaves the card to the person's queue, and it still arrives."""
    await agent.say("hallo")
    await agent.click("Starten")
    q = agent.last_ts
    agent.fake.respond_delay = 1.5
    try:
        began = time.monotonic()
        r = await agent.post(agent.click_payload("oft", q), "application/x-www-form-urlencoded")
        took = time.monotonic() - began
        assert r.status_code == 200 and took < 1.4, f"the click waited {took:.2f} s for a slow Slack"
        await agent.until_shown("Frage 2 von 12", q, 15, "the card never arrived")
    finally:
        agent.fake.respond_delay = 0.0


async def test_slack_api_errors_are_survived(agent: SlackAgent, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await agent.say("hallo")
    await agent.click("Starten")
    agent.fake.fail["respond"] = "expired_url"  # the response URL is refused: chat.update instead,
    agent.fake.fail["chat.update"] = "channel_not_found"  # which Slack refuses too
    r = await agent.click("oft")  # saved, although Slack refused to show question 2
    assert r.status_code == 200
    assert "chat.update failed: channel_not_found" in caplog.text
    agent.fake.rate_limit["chat.postMessage"] = 1
    await agent.say("weiter")  # retried after the 429, and question 2 appears
    assert "Frage 2 von 12" in agent.text()


async def test_no_personal_data_in_logs(agent: SlackAgent, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    agent.user = "USECRET42"
    agent.channel = "DUSECRET42"
    await agent.say("hallo")
    await agent.click("Starten")
    await answer_all(agent, ["immer"] * 12)
    assert "Ihr Ergebnis" in agent.text()
    for needle in ("USECRET42", "Ihr Ergebnis", "mehrere Belastungen", "xoxb-test", SIGNING_SECRET, "a:a1:4"):
        assert needle not in caplog.text


async def test_redis_down_gets_a_clear_answer_not_a_500(fake_slack: FakeServer) -> None:
    from conftest import free_port

    fake_slack.fake.reset()
    settings = Settings(
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=f"{fake_slack.url}/api/",
        SLACK_RESPONSE_URL_PREFIX=f"{fake_slack.url}/respond/",
        RUHEPULS_SECRET="x",
    )
    async with running_app(settings) as base, httpx.AsyncClient(timeout=15) as http:
        agent = SlackAgent(http, base, fake_slack.fake)
        r = await agent.say("hallo")
        assert r.status_code == 200
        post = next(c for c in fake_slack.fake.calls if c.method == "chat.postMessage")
        assert "kurz nicht erreichbar" in post.params["text"]
        health = await http.get(f"{base}/healthz")
        assert health.status_code == 503


async def test_a_hung_redis_costs_a_click_less_than_slacks_patience(fake_slack: FakeServer) -> None:
    """Issue 28: with Redis hung (SIGSTOP), a click took 20 s and the notice came after 40 s.
    Now every wait on Redis is bounded: Slack gets its answer inside its 3 s, the person a
    polite notice, and once Redis is back the survey goes on where it was."""
    import signal

    from conftest import free_port, redis_process

    fake_slack.fake.reset()
    port = free_port()
    with redis_process(
        ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], port
    ) as proc:
        settings = Settings(
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{fake_slack.url}/api/",
            SLACK_RESPONSE_URL_PREFIX=f"{fake_slack.url}/respond/",
            RUHEPULS_SECRET="hung",
        )
        async with running_app(settings) as base, httpx.AsyncClient(timeout=3.0) as http:  # Slack's patience
            agent = SlackAgent(http, base, fake_slack.fake)
            await agent.say("hallo")
            await agent.click("Starten")
            q = agent.last_ts
            await agent.click("oft", q)
            assert "Frage 2 von 12" in agent.text(q)
            proc.send_signal(signal.SIGSTOP)
            try:
                r = await agent.post(agent.click_payload("nie", q), "application/x-www-form-urlencoded")
                assert r.status_code == 200  # within 3 s, or httpx raised ReadTimeout
                deadline = time.monotonic() + 10
                while "kurz nicht erreichbar" not in str([c.params for c in fake_slack.fake.calls]):
                    assert time.monotonic() < deadline, "no notice while Redis hangs"
                    await asyncio.sleep(0.05)
            finally:
                proc.send_signal(signal.SIGCONT)
            await agent.settled()
            await agent.click("nie", q)
            assert "Frage 3 von 12" in agent.text(q), "the survey goes on where it was"


async def test_a_card_waiting_out_a_429_survives_a_killed_process(redis_url: str, tmp_path) -> None:
    """Issue 28: after kill -9 right after the ack, the next card (waiting behind a 429) never
    arrived, and a restarted serve did not resume it. The queue now lives on the sessions Redis
    and another process takes it over."""
    import signal
    import subprocess
    import sys

    from conftest import REPO, free_port, python_env, wait_until_up

    with FakeServer(FakeSlack(), "/api") as api:
        fake = api.fake
        port = free_port()
        env = python_env(
            REDIS_URL=redis_url,
            RUHEPULS_SECRET="durable",
            PORT=str(port),
            RUHEPULS_DATA_DIR=str(tmp_path),
            SLACK_BOT_TOKEN="xoxb-d",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{api.url}/api/",
            SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
        )

        def serve(name: str) -> subprocess.Popen[bytes]:
            out = (tmp_path / f"{name}.log").open("w")
            return subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        first = serve("first")
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", tmp_path / "first.log")
            async with httpx.AsyncClient(timeout=10) as http:
                agent = SlackAgent(http, f"http://127.0.0.1:{port}", fake)
                await agent.say("hallo")
                await agent.click("Starten")
                q = agent.last_ts
                fake.fail["respond"] = "expired_url"  # the response URL refuses: chat.update instead …
                fake.rate_limit["chat.update"], fake.retry_after = (
                    1,
                    6,
                )  # … which waits out a 429 (killed within it)
                r = await agent.post(agent.click_payload("oft", q), "application/x-www-form-urlencoded")
                assert r.status_code == 200
                deadline = time.monotonic() + 10
                while not any(c.method == "chat.update" for c in fake.calls):
                    assert time.monotonic() < deadline, "no chat.update tried"
                    await asyncio.sleep(0.05)
                first.send_signal(signal.SIGKILL)  # right after the ack, while the card waits
                first.wait(timeout=10)
                fake.retry_after = 0
                second = serve("second")
                try:
                    wait_until_up(f"http://127.0.0.1:{port}/healthz", tmp_path / "second.log")
                    await agent.until_shown("Frage 2 von 12", q, 40, "the waiting card never arrived")
                finally:
                    second.terminate()
                    second.wait(timeout=30)
        finally:
            if first.poll() is None:
                first.kill()


async def test_a_click_waits_behind_cards_another_process_still_delivers(agent: SlackAgent, redis) -> None:
    """Issue 28: a person's later card never overtakes an earlier one that another process
    still delivers (its queue on the sessions Redis, its lock held). Whether such a queue exists
    is read in the transition's own round trip, not asked per click."""
    from bot.slack.delivery import Op, _card

    await agent.say("hallo")
    await agent.click("Starten")
    q = agent.last_ts
    person = flows.pseudonym(b"slack-test-secret", "slack", f"{agent.team}:{agent.user}")
    queue = flows.keys.outgoing("slack", person)
    earlier = Op(
        "replace",
        agent.channel,
        {
            "text": "earlier",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "eine frühere Karte"}}],
        },
        q,
    )
    await redis.rpush(queue, json.dumps(_card(agent.team, earlier)))
    await redis.sadd(flows.keys.outgoing_set("slack", person[:1]), person)
    await redis.set(f"{queue}:lock", "another-process", px=60_000)
    before = len(agent.fake.calls)
    r = await agent.post(agent.click_payload("oft", q), "application/x-www-form-urlencoded")
    assert r.status_code == 200
    assert not agent.fake.calls[before:], "the click's card went out before the one still waiting"
    assert await redis.llen(queue) == 2, "the click's card waits behind the earlier one"
    await redis.delete(f"{queue}:lock")  # the other process is gone: recovery takes the queue
    await agent.until_shown("Frage 2 von 12", q, 20, "the queued cards never arrived")
    shown = [
        json.dumps(c.params.get("blocks"), ensure_ascii=False)
        for c in agent.fake.calls[before:]
        if c.method in ("chat.update", "respond")
    ]
    assert len(shown) == 2 and "eine frühere Karte" in shown[0] and "Frage 2 von 12" in shown[1]
