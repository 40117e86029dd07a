"""Every byte from the internet reaches our code before any check: arbitrary bytes, JSON and form
bodies, signed as Slack signs them or not, with Telegram's secret or not, at every inbound route
of the running app (`ruhepuls serve` as its own process). Never a 5xx, and a survey in progress
beside it is untouched."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest
import redis as redis_sync
from conftest import REPO, free_port, python_env, ruhepuls_process, wait_until_up
from fakes import FakeServer, FakeSlack, FakeTelegram
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slackkit import SIGNING_SECRET, signed_headers
from teamskit import FakeTeams, FakeTeamsServer, teams_env
from tgkit import WEBHOOK_SECRET

import flows

SECRET = "fuzz-secret"
USER = "UFUZZ001"


TEAMS = FakeTeams()


@pytest.fixture(scope="module")
def app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with (
        FakeServer(FakeSlack(), "/api") as slack,
        FakeServer(FakeTelegram(), "/bot") as tg,
        FakeTeamsServer(TEAMS),
    ):
        port = free_port()
        env = python_env(
            REDIS_URL=redis_url,
            RUHEPULS_SECRET=SECRET,
            PORT=str(port),
            RUHEPULS_DATA_DIR=str(tmp_path_factory.mktemp("fuzz")),
            SLACK_BOT_TOKEN="xoxb-fuzz",
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{slack.url}/api/",
            SLACK_RESPONSE_URL_PREFIX=f"{slack.url}/respond/",
            TELEGRAM_BOT_TOKEN="4242:fuzz-token",
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TELEGRAM_API_URL=f"{tg.url}/bot",
            RUHEPULS_WEB_CHAT="1",
            PYTHONPATH=str(REPO / "tests"),
            **teams_env(TEAMS),
        )
        log = tmp_path_factory.mktemp("fuzzlog") / "serve.log"
        base = f"http://127.0.0.1:{port}"
        with ruhepuls_process(["serve"], env, log):
            wait_until_up(f"{base}/healthz", log)
            yield base
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def click(base: str, value: str) -> httpx.Response:
    payload = {
        "type": "block_actions",
        "user": {"id": USER, "team_id": "T1"},
        "team": {"id": "T1"},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D" + USER},
        "channel": {"id": "D" + USER},
        "actions": [
            {
                "action_id": "rp:0",
                "block_id": "b",
                "type": "button",
                "value": value,
                "action_ts": str(time.time_ns()),
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return httpx.post(
        f"{base}/slack/events",
        content=body,
        headers=signed_headers(body, content_type="application/x-www-form-urlencoded"),
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
known_shapes = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["block_actions", "event_callback", "url_verification", "view_submission", "x"]
        )
        | json_values,
        "event": json_values
        | st.fixed_dictionaries(
            {
                "type": st.sampled_from(["message", "app_mention"]),
                "user": json_values,
                "text": json_values,
                "channel": json_values,
            }
        ),
        "actions": json_values | st.lists(st.fixed_dictionaries({"value": json_values}), max_size=2),
        "user": json_values,
        "team": json_values,
        "container": json_values,
        "challenge": json_values,
        "update_id": json_values,
        "message": json_values,
        "callback_query": json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    known_shapes.map(lambda v: json.dumps(v).encode()),
    known_shapes.map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
    st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=5).map(
        lambda d: urlencode(d).encode()
    ),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),  # deep nesting
    st.just(b"\xff\xfe\x00not utf-8"),
)
activity_shapes = st.fixed_dictionaries(
    {"serviceUrl": st.just("SVC") | json_values},
    optional={
        "type": st.sampled_from(
            ["message", "invoke", "conversationUpdate", "installationUpdate", "typing", "x"]
        )
        | json_values,
        "id": json_values,
        "text": json_values,
        "name": st.just("adaptiveCard/action") | json_values,
        "from": json_values | st.fixed_dictionaries({"id": json_values, "aadObjectId": json_values}),
        "conversation": json_values
        | st.fixed_dictionaries({"id": json_values, "conversationType": json_values}),
        "recipient": json_values,
        "channelId": st.just("msteams") | json_values,
        "replyToId": json_values,
        "value": json_values
        | st.fixed_dictionaries(
            {
                "action": json_values
                | st.fixed_dictionaries(
                    {"type": st.just("Action.Execute"), "verb": st.just("rp"), "data": json_values}
                )
            }
        ),
        "membersAdded": json_values,
        "action": json_values,
        "channelData": json_values,
    },
)
content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""])


@given(
    body=bodies,
    content_type=content_types,
    signed=st.booleans(),
    route=st.sampled_from(["slack", "telegram", "teams"]),
    activity=activity_shapes,
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_body_gets_a_5xx(
    app: str, body: bytes, content_type: str, signed: bool, route: str, activity: dict
) -> None:
    if route == "teams":
        headers = {"Content-Type": content_type}
        if signed:
            headers["Authorization"] = f"Bearer {TEAMS.token()}"
        if signed:  # half the time a shape Teams could send, at the right service
            raw = json.dumps(activity).replace('"SVC"', json.dumps(TEAMS.service_url)).encode()
            body = raw if len(body) % 2 else body
        r = httpx.post(f"{app}/api/messages", content=body, headers=headers, timeout=10)
    elif route == "slack":
        headers = {"Content-Type": content_type}
        if signed:
            ts = str(int(time.time()))
            sig = (
                "v0="
                + __import__("hmac")
                .new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, "sha256")
                .hexdigest()
            )
            headers |= {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
        r = httpx.post(f"{app}/slack/events", content=body, headers=headers, timeout=10)
    else:
        headers = {"Content-Type": content_type}
        if signed:
            headers["X-Telegram-Bot-Api-Secret-Token"] = WEBHOOK_SECRET
        r = httpx.post(f"{app}/telegram/webhook", content=body, headers=headers, timeout=10)
    assert r.status_code < 500, (route, signed, body[:200], r.status_code, r.text[:200])


WEB = httpx.Client(timeout=10)


@given(
    body=bodies,
    content_type=content_types,
    with_form=st.booleans(),
    action=st.text(max_size=80) | st.sampled_from(["clear", "s:de", "a:a1:3", "", "x" * 3000]),
    code=st.text(max_size=200),
)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_web_chat_input_gets_a_5xx(
    app: str, body: bytes, content_type: str, with_form: bool, action: str, code: str
) -> None:
    """The web chat's page, its presses (with this browser's cookie and form token, or raw
    bytes) and its links: a page or a clear refusal, never a 5xx."""
    page = WEB.get(f"{app}/chat")
    assert page.status_code < 500
    token = next(iter(__import__("re").findall(r'name="csrf" value="([^"]+)"', page.text)), "")
    if with_form:
        r = WEB.post(f"{app}/chat", data={"a": action, "csrf": token})
    else:
        r = WEB.post(f"{app}/chat", content=body, headers={"Content-Type": content_type})
    assert r.status_code < 500, (with_form, action[:80], body[:200], r.status_code, r.text[:200])
    link = WEB.get(f"{app}/j/{quote(code, safe='')}")
    assert link.status_code < 500, (code, link.status_code)


@example(token="0/")
@example(token="..")
@example(token="")
@example(token="a/b.c")
@example(token="x" * 5000)
@given(token=st.text(max_size=500) | st.from_regex(r"[A-Za-z0-9_=-]{0,300}\.[0-9a-f]{0,80}", fullmatch=True))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_report_link_gets_a_5xx(app: str, token: str) -> None:
    """The report page reads its token from the path: whatever it is, a clear refusal."""
    r = httpx.get(f"{app}/report/{quote(token, safe='')}", timeout=10, follow_redirects=True)
    assert r.status_code in (403, 404, 410), (token, r.status_code, r.text[:200])


def test_huge_bodies_are_refused_before_they_are_read(app: str) -> None:
    huge = b"x" * (2 * 1024 * 1024)
    r = httpx.post(f"{app}/slack/events", content=huge, timeout=30)
    assert r.status_code == 413
    r = httpx.post(
        f"{app}/telegram/webhook",
        content=huge,
        timeout=30,
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    assert r.status_code == 413
    assert httpx.post(f"{app}/telegram/webhook", content=huge, timeout=30).status_code == 403


def test_a_survey_in_progress_is_untouched_by_the_fuzz(app: str, redis_url: str) -> None:
    person = flows.pseudonym(SECRET.encode(), "slack", f"T1:{USER}")
    key = flows.keys.session(flows.SOLO, person)
    assert click(app, "start:de").status_code == 200
    assert click(app, "a:a1:3").status_code == 200
    r = redis_sync.Redis.from_url(redis_url)
    before = r.hget(key, "d")
    assert before is not None and b"3-----------" in before
    test_no_body_gets_a_5xx(app=app)  # a fresh run of the fuzz, beside the survey
    assert r.hget(key, "d") == before


HEADER_VALUES = ["²", "١٢٣", "１２３", "-1", "1e20", " 1", "99999999999999999999", "", "v0=²", "\u00a0"]


@example(name="X-Slack-Request-Timestamp", value="²")
@example(name="Content-Length", value="²")
@given(
    name=st.sampled_from(
        [
            "X-Slack-Request-Timestamp",
            "X-Slack-Signature",
            "X-Telegram-Bot-Api-Secret-Token",
            "Authorization",
            "Content-Type",
            "X-Slack-Retry-Num",
            "X-Slack-Retry-Reason",
        ]
    ),
    value=st.sampled_from(HEADER_VALUES)
    | st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=40),
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_header_gets_a_5xx(app: str, name: str, value: str) -> None:
    """Issue 28: a Slack timestamp "²" (isdigit() is true, int() fails) answered 500."""
    for route in ("/slack/events", "/telegram/webhook", "/api/messages"):
        try:
            r = httpx.post(f"{app}{route}", content=b"{}", headers={name: value}, timeout=10)
        except (httpx.LocalProtocolError, UnicodeEncodeError):
            continue  # a header the client itself refuses to send
        assert r.status_code < 500, (route, name, value, r.status_code)


@pytest.mark.parametrize(
    "update",
    [
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1e20,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "A"},
                "text": "hi",
            },
        },
        {
            "update_id": 2,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": {"x": 1}, "type": "private"},
                "from": {"id": 5, "is_bot": False, "first_name": "A"},
                "text": "hi",
            },
        },
        {
            "update_id": 3,
            "message": {
                "message_id": 1,
                "date": -1e300,
                "chat": {"id": 5, "type": "private"},
                "from": {"id": [1], "is_bot": False, "first_name": "A"},
                "text": "hi",
            },
        },
    ],
)
def test_odd_telegram_updates_with_the_secret_get_no_5xx(app: str, update: dict) -> None:
    r = httpx.post(
        f"{app}/telegram/webhook",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        timeout=10,
    )
    assert r.status_code < 500, (update, r.status_code, r.text[:200])
