"""Test helpers for Slack: the real web app under uvicorn, signed requests shaped like Slack's,
and an agent that clicks the buttons the bot actually sent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from conftest import free_port
from fakes import FakeSlack
from slack_sdk.signature import SignatureVerifier

from bot.settings import Settings
from bot.web import create_app

SIGNING_SECRET = "test-signing-secret"


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[str]:
    """Serve the real app with uvicorn on a free port of this event loop."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def signed_headers(
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig, "Content-Type": content_type}


class SlackAgent:
    """One agent in a Slack workspace, talking to the bot in their DM."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base: str,
        fake: FakeSlack,
        user: str = "U100",
        team: str = "T1",
        enterprise: str | None = None,
    ) -> None:
        """`enterprise`: the workspace belongs to this Enterprise Grid organisation, where the
        app is installed org-wide."""
        self.http, self.base, self.fake = http, base, fake
        self.user, self.team, self.channel = user, team, f"D{user}"
        self.enterprise = enterprise
        self._seen_calls = 0
        self.messages: dict[str, list[dict[str, Any]]] = {}  # ts -> blocks, as on screen
        self._events = 0
        self.home: list[dict[str, Any]] = []

    # --- what the agent sees --------------------------------------------------------------
    def sync(self) -> list[str]:
        """Apply the bot's new Web API calls to the screen; return their method names."""
        new = self.fake.calls[self._seen_calls :]
        self._seen_calls = len(self.fake.calls)
        for call in new:
            p = call.params
            if p.get("channel") != self.channel and call.method != "views.publish":
                continue
            if call.method == "chat.postMessage" and call.result.get("ok"):
                self.messages[call.result["ts"]] = p.get("blocks") or []
            elif call.method == "chat.update" and call.result.get("ok"):  # a refused update shows nothing
                self.messages[p["ts"]] = p.get("blocks") or []
            elif call.method == "views.publish" and p.get("user_id") == self.user:
                view = p.get("view")
                self.home = (json.loads(view) if isinstance(view, str) else view)["blocks"]
            elif call.method == "respond" and call.result.get("ok") and p.get("delete_original"):
                self.messages.pop(p["ts"], None)
            elif call.method == "respond" and call.result.get("ok"):
                self.messages[p["ts"]] = p.get("blocks") or []
            elif call.method == "chat.delete":
                self.messages.pop(p["ts"], None)
        return [c.method for c in new if c.method != "auth.test"]

    async def until_shown(self, words: str, ts: str, seconds: float, why: str) -> None:
        """Wait until the message `ts` shows `words` (a card delivered after the request)."""
        deadline = time.monotonic() + seconds
        while True:
            self.sync()
            if words in self.text(ts):
                return
            assert time.monotonic() < deadline, why
            await asyncio.sleep(0.1)

    def text(self, ts: str | None = None) -> str:
        blocks = self.messages[ts or self.last_ts]
        parts = []
        for b in blocks:
            if "text" in b and isinstance(b["text"], dict):
                parts.append(b["text"]["text"])
            for e in b.get("elements", []):
                if isinstance(e.get("text"), str):
                    parts.append(e["text"])
                elif isinstance(e.get("text"), dict):
                    parts.append(e["text"]["text"])
        return "\n".join(parts)

    @property
    def last_ts(self) -> str:
        return list(self.messages)[-1]

    def buttons(self, ts: str | None = None) -> list[dict[str, Any]]:
        return [e for b in self.messages[ts or self.last_ts] if b["type"] == "actions" for e in b["elements"]]

    # --- what the agent does --------------------------------------------------------------
    async def post(self, body: str, content_type: str, **headers: str) -> httpx.Response:
        h = signed_headers(body, content_type=content_type) | headers
        return await self.http.post(f"{self.base}/slack/events", content=body, headers=h)

    async def say(self, text: str, event_id: str | None = None, **headers: str) -> httpx.Response:
        self._events += 1
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": self.team,
                **self._org(),
                "api_app_id": "A1",
                "event_id": event_id or f"Ev{self.user}{self._events}{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "event": {
                    "type": "message",
                    "channel_type": "im",
                    "channel": self.channel,
                    "user": self.user,
                    "text": text,
                    "ts": f"{time.time():.6f}",
                },
            }
        )
        before = self._mine()
        r = await self.post(body, "application/json", **headers)
        await self.replied(before)
        self.sync()
        return r

    def _org(self) -> dict[str, Any]:
        """What an event of an org-wide installation says besides its workspace, as Slack sends it."""
        if self.enterprise is None:
            return {}
        return {
            "enterprise_id": self.enterprise,
            "is_enterprise_install": True,
            "authorizations": [
                {
                    "enterprise_id": self.enterprise,
                    "team_id": None,
                    "user_id": self.fake.bot_user,
                    "is_bot": True,
                    "is_enterprise_install": True,
                }
            ],
        }

    def _mine(self) -> int:
        return sum(c.params.get("channel") == self.channel for c in list(self.fake.calls))

    async def replied(self, before: int, seconds: float = 5.0) -> None:
        """Wait until the bot wrote to this DM again (it acks first and delivers right after,
        in order), or `seconds` passed (there is no reply); then until it is quiet."""
        deadline = time.monotonic() + seconds
        while self._mine() == before and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await self.quiet()

    async def quiet(self, for_seconds: float = 0.1, at_most: float = 3.0) -> None:
        """Wait until the bot has written nothing to this DM for a moment."""
        deadline = time.monotonic() + at_most
        seen, since = self._mine(), time.monotonic()
        while time.monotonic() - since < for_seconds and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            if self._mine() != seen:
                seen, since = self._mine(), time.monotonic()

    async def settled(self) -> list[str]:
        """After raw posts: wait until the bot is quiet, then look at the screen."""
        await self.quiet()
        return self.sync()

    def click_payload(self, label: str, ts: str | None = None) -> str:
        ts = ts or self.last_ts
        button = next(b for b in self.buttons(ts) if b["text"]["text"] == label)
        payload = {
            "type": "block_actions",
            "api_app_id": "A1",
            "trigger_id": "trig",
            "user": {"id": self.user, "team_id": self.team},
            "team": {"id": self.team},
            "container": {"type": "message", "message_ts": ts, "channel_id": self.channel},
            "channel": {"id": self.channel},
            "message": {"ts": ts, "blocks": self.messages[ts]},
            "response_url": f"{self.fake.base_url}/respond/{self.channel}/{ts}/{time.time_ns()}",
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

    async def click(self, label: str, ts: str | None = None) -> httpx.Response:
        before = self._mine()
        r = await self.post(self.click_payload(label, ts), "application/x-www-form-urlencoded")
        await self.replied(before)
        self.sync()
        return r

    async def click_home(self, label: str) -> httpx.Response:
        """Press a button in the App Home view."""
        button = next(
            e
            for b in self.home
            if b["type"] == "actions"
            for e in b["elements"]
            if e["text"]["text"] == label
        )
        payload = {
            "type": "block_actions",
            "user": {"id": self.user, "team_id": self.team},
            "team": {"id": self.team},
            "container": {"type": "view", "view_id": "V1"},
            "view": {"id": "V1", "type": "home"},
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": "home",
                    "type": "button",
                    "value": button["value"],
                    "action_ts": f"{time.time_ns()}",
                }
            ],
        }
        r = await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        for _ in range(200):
            if any(c.method == "views.publish" for c in self.fake.calls[self._seen_calls :]):
                break
            await asyncio.sleep(0.01)
        await self.quiet()
        self.sync()
        return r

    async def command(self, text: str = "", channel: str = "C1") -> httpx.Response:
        body = urlencode(
            {
                "team_id": self.team,
                "channel_id": channel,
                "user_id": self.user,
                "command": "/ruhepuls",
                "text": text,
                "response_url": "https://hooks.invalid/c",
                "trigger_id": "trig",
            }
        )
        before = self._mine()
        r = await self.post(body, "application/x-www-form-urlencoded")
        if not r.text.strip() or "Direktnachricht" in r.text or "direct message" in r.text:
            await self.replied(before)  # the survey goes on in the DM
        self.sync()
        return r
