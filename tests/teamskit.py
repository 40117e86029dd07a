"""Test helpers for Microsoft Teams: an RSA key made here, its OpenID metadata and JWKS served
by a local identity fake, a local connector fake that records every activity the bot sends, and
an agent that presses the card actions the bot actually sent, with activities signed as the
Bot Framework signs them. Token acquisition (`bot_token`) is the only seam replaced."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fakes import Threaded

APP_ID = "00000000-aaaa-4bbb-8ccc-000000000001"
TENANT = "11111111-2222-4333-8444-555555555555"
BOT_TOKEN = jwt.encode({"aud": "https://api.botframework.com", "exp": 4102444800, "appid": APP_ID}, "x" * 32)
ISSUER = "https://api.botframework.com"
KID = "test-key"
WEBCHAT_KID = "webchat-key"


def bot_token(scope: str | list[str], tenant: str | None) -> str:
    """TEAMS_TOKEN_PROVIDER for tests: what the bot presents to the connector."""
    return BOT_TOKEN


def no_token(scope: str | list[str], tenant: str | None) -> str:
    """A TEAMS_TOKEN_PROVIDER that fails, as a wrong client secret would."""
    raise ValueError("AADSTS7000215: Invalid client secret provided")


@dataclass
class Sent:
    method: str
    path: str
    body: dict[str, Any]
    conversation: str
    authorization: str


@dataclass
class FakeTeams:
    """Plays the Bot Framework's OpenID metadata and keys (`/v1/.well-known/...`) and the Teams
    connector (`/v3/conversations/...`). `installed` are the Entra ids the app is installed for
    (a personal chat with anyone else is refused with 403); `roster[team]` its members;
    `rate_limit[n]` answers the n-th activity post with 429 (Retry-After `retry_after`)."""

    installed: set[str] = field(default_factory=set)
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])
    """The channels Bot Framework's key set says the signing key speaks for."""
    roster: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """team id -> [(29: account id, Entra object id)]"""
    channels: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    """team id -> [(channel id, name)]; General's name is None, as the connector lists it."""
    sent: list[Sent] = field(default_factory=list)
    rate_limit: set[int] = field(default_factory=set)
    retry_after: int = 1
    limited: int = 0
    """How many posts were answered with 429."""
    limit_next: int = 0
    """Answer this many of the next posts with 429."""
    max_bytes: int = 0
    """Refuse an activity larger than this (JSON bytes) with 413 MessageSizeTooBig, as Teams
    does from about 28 KB (0: no limit)."""
    refused: int = 0
    calls: list[str] = field(default_factory=list)
    """Every authorised connector call by kind, in order: `roster` (a page of a team's members),
    `open` (a new personal chat), `post` (an activity, a refused one too), `other`."""
    delay: float = 0.0
    entra: Any = None
    """A FakeEntra (tests/entra.py) whose tokens for the bot the connector accepts, as Bot
    Framework accepts Entra's; without one, only the fixed test token (`bot_token`)."""
    base_url: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    webchat_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    """A second signing key of the same key set, endorsed only for Web Chat."""
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _posts: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def openid_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/teams/"

    def jwks(self) -> dict[str, Any]:
        def public(key: rsa.RSAPrivateKey) -> dict[str, Any]:
            return {
                **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())),
                "use": "sig",
                "alg": "RS256",
            }

        return {
            "keys": [
                {**public(self.key), "kid": KID, "endorsements": self.endorsements},
                {**public(self.webchat_key), "kid": WEBCHAT_KID, "endorsements": ["webchat"]},
            ]
        }

    def token(self, *, webchat_key: bool = False, **overrides: Any) -> str:
        """A Bot Framework token as Teams sends it; `overrides` change or (None) drop claims;
        `webchat_key`: signed with the key endorsed for Web Chat only."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": APP_ID,
            "iat": now - 10,
            "nbf": now - 10,
            "exp": now + 3600,
            "serviceurl": self.service_url,
        }
        for k, v in overrides.items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        key, kid = (self.webchat_key, WEBCHAT_KID) if webchat_key else (self.key, KID)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def authorized(self, auth: str) -> bool:
        bearer = auth.removeprefix("Bearer ")
        if self.entra is not None:
            return bool(self.entra.verifies(bearer))
        return bearer == BOT_TOKEN

    # --- the connector --------------------------------------------------------------------------
    def answer(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any], auth: str
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/v1/.well-known/openidconfiguration":
            return (
                200,
                {
                    "issuer": ISSUER,
                    "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
                {},
            )
        if path == "/v1/.well-known/keys":
            return 200, self.jwks(), {}
        if not self.authorized(auth):
            return 401, {"error": {"code": "Unauthorized"}}, {}
        parts = path.removeprefix("/teams").strip("/").split("/")
        with self._lock:
            self.calls.append(
                "open"
                if parts[:2] == ["v3", "conversations"] and len(parts) == 2 and method == "POST"
                else "roster"
                if parts[3:] == ["pagedMembers"]
                else "post"
                if parts[3:4] == ["activities"] and method == "POST" and len(parts) == 4
                else "other"
            )
        if parts[:2] == ["v3", "conversations"] and len(parts) == 2 and method == "POST":
            if not (body.get("tenantId") or (body.get("channelData") or {}).get("tenant", {}).get("id")):
                return (
                    400,
                    {"error": {"code": "BadSyntax", "message": "Incorrect conversation creation parameters"}},
                    {},
                )
            member = (body.get("members") or [{}])[0].get("id", "")
            entra = next((e for accounts in self.roster.values() for a, e in accounts if a == member), None)
            if entra not in self.installed:
                return 403, {"error": {"code": "Forbidden", "message": "app not installed"}}, {}
            return 201, {"id": f"a:chat-{entra}"}, {}
        if parts[:2] == ["v3", "teams"] and parts[3:] == ["conversations"] and method == "GET":
            if parts[2] not in self.channels:
                return 404, {"error": {"code": "NotFound", "message": "team not found"}}, {}
            return 200, {"conversations": [{"id": c, "name": n} for c, n in self.channels[parts[2]]]}, {}
        if len(parts) >= 3 and parts[:2] == ["v3", "conversations"]:
            conversation = parts[2]
            if parts[3:] == ["pagedMembers"]:
                accounts = self.roster.get(conversation, [])
                start, size = int(query.get("continuationToken") or 0), int(query.get("pageSize") or 100)
                page = accounts[start : start + size]
                nxt = str(start + size) if start + size < len(accounts) else None
                members = [{"id": a, "aadObjectId": e, "name": f"Person {e[-4:]}"} for a, e in page]
                return 200, {"members": members, "continuationToken": nxt}, {}
            if parts[3:4] == ["activities"]:
                if method == "POST" and len(parts) == 4:
                    if self.delay:
                        threading.Event().wait(self.delay)
                    with self._lock:
                        n = next(self._posts)
                        if self.max_bytes and len(json.dumps(body)) > self.max_bytes:
                            self.refused += 1
                            return 413, {"error": {"code": "MessageSizeTooBig"}}, {}
                        if n in self.rate_limit or self.limit_next > 0:
                            self.limit_next = max(0, self.limit_next - 1)
                            self.limited += 1
                            return (
                                429,
                                {"error": {"code": "TooManyRequests"}},
                                {"Retry-After": str(self.retry_after)},
                            )
                        activity_id = f"m{next(self._ids)}"
                        self.sent.append(Sent("POST", path, {**body, "id": activity_id}, conversation, auth))
                    return 201, {"id": activity_id}, {}
                with self._lock:
                    self.sent.append(Sent(method, path, body, conversation, auth))
                return 200, {"id": parts[-1]}, {}
        return 404, {"error": {"code": "NotFound"}}, {}

    # --- what was sent ----------------------------------------------------------------------------
    def posts(self, conversation: str | None = None) -> list[Sent]:
        return [
            s
            for s in list(self.sent)
            if s.method == "POST" and (conversation is None or s.conversation == conversation)
        ]

    def cards(self, conversation: str) -> list[dict[str, Any]]:
        return [
            a["content"]
            for s in self.posts(conversation)
            for a in s.body.get("attachments", [])
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]


class FakeTeamsServer(Threaded):
    def __init__(self, fake: FakeTeams) -> None:
        self.fake = fake
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlparse(self.path)
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                status, payload, headers = outer.fake.answer(
                    self.command,
                    url.path,
                    dict(parse_qsl(url.query)),
                    body,
                    self.headers.get("Authorization", ""),
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.serve(Handler)

    def __enter__(self) -> FakeTeams:
        self.fake.base_url = self.url
        self.thread.start()
        return self.fake


def teams_env(fake: FakeTeams) -> dict[str, str]:
    """The settings that point Ruhepuls's Teams side at the fakes."""
    return {
        "TEAMS_APP_ID": APP_ID,
        "TEAMS_TENANT_ID": TENANT,
        "TEAMS_OPENID_METADATA_URL": fake.openid_url,
        "TEAMS_TOKEN_PROVIDER": "teamskit:bot_token",
    }


def activity(
    fake: FakeTeams,
    kind: str,
    user: str,
    *,
    personal: bool = True,
    conversation: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An activity as Teams sends it from the user with Entra id `user`."""
    conv = conversation or (f"a:chat-{user}" if personal else "19:team@thread.tacv2")
    body: dict[str, Any] = {
        "type": kind,
        "id": f"f:{uuid.uuid4().hex}",
        "timestamp": "2026-11-24T09:00:00.000Z",
        "serviceUrl": fake.service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{user}", "aadObjectId": user, "name": "Someone"},
        "conversation": {
            "id": conv,
            "conversationType": "personal" if personal else "channel",
            "tenantId": TENANT,
        },
        "recipient": {"id": f"28:{APP_ID}", "name": "Ruhepuls"},
        "channelData": {"tenant": {"id": TENANT}},
    }
    body.update(fields)
    return body


class TeamsAgent:
    """One person in their personal chat with the bot, over real HTTP."""

    def __init__(self, client: httpx.AsyncClient, base: str, fake: FakeTeams, user: str) -> None:
        self.client, self.base, self.fake, self.user = client, base, fake, user
        self.card: dict[str, Any] | None = None
        self.card_id: str | None = None

    @property
    def conversation(self) -> str:
        return f"a:chat-{self.user}"

    async def post(self, body: dict[str, Any], token: str | None = None) -> httpx.Response:
        token = token if token is not None else self.fake.token()
        return await self.client.post(
            f"{self.base}/api/messages", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    async def install(self) -> httpx.Response:
        return await self.post(activity(self.fake, "installationUpdate", self.user, action="add"))

    async def say(self, text: str) -> httpx.Response:
        before = len(self.fake.posts(self.conversation))
        r = await self.post(activity(self.fake, "message", self.user, text=text))
        await self.settled(before)
        return r

    async def settled(self, before: int, seconds: float = 10) -> None:
        """Wait until the bot has posted something new here (then take the newest card)."""
        import asyncio

        deadline = time.monotonic() + seconds
        while len(self.fake.posts(self.conversation)) <= before:
            assert time.monotonic() < deadline, "the bot posted nothing"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        last = self.fake.posts(self.conversation)[-1]
        self.card = last.body["attachments"][0]["content"]
        self.card_id = last.body["id"]

    def actions(self, card: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("type") == "Action.Execute":
                    found.append(node)
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(card or self.card)
        return found

    def text(self, card: dict[str, Any] | None = None) -> str:
        return "\n".join(
            b.get("text", "")
            for b in (card or self.card or {}).get("body", [])
            if b.get("type") == "TextBlock"
        )

    def press_body(self, label: str | None = None, *, index: int | None = None) -> dict[str, Any]:
        actions = self.actions()
        action = actions[index] if index is not None else next(a for a in actions if a["title"] == label)
        return activity(
            self.fake,
            "invoke",
            self.user,
            name="adaptiveCard/action",
            replyToId=self.card_id,
            value={
                "action": {"type": "Action.Execute", "verb": action["verb"], "data": action["data"]},
                "trigger": "manual",
            },
        )

    async def press(self, label: str | None = None, *, index: int | None = None) -> httpx.Response:
        """Press a button on the current card; the answer's card takes its place."""
        r = await self.post(self.press_body(label, index=index))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["type"] == "application/vnd.microsoft.card.adaptive", body
        self.card = body["value"]
        return r


async def eventually(predicate: Any, seconds: float = 10) -> None:
    import asyncio

    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)
