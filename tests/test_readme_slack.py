"""The README's Slack set-up without a public URL (Socket Mode), followed as written: its code
blocks run in bash, line by line, in a folder that holds only the project's `.venv`, from writing
`.env` to the worker ("Teams and rounds"), and a member of the team's channel answers the
invitation to a result.

Only what lies outside this machine is played: Slack's app pages (the placeholders get the two
tokens), the Web API (a local fake, reached where the internet would be, with the team's channel
and its member) and Slack's Socket Mode end (a local WebSocket that hands the bot what the member
writes and presses, as envelopes). The worker's clock limits are lifted, as on a weekday
morning."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from aiohttp import web
from conftest import free_port, python_env, wait_until_up
from fakes import FakeServer, FakeSlack
from readme import WEEKDAY_MORNING, Shell, blocks, clone, statements
from slackkit import SlackAgent

BOT_TOKEN, APP_TOKEN = "xoxb-from-the-install-page", "xapp-1-from-basic-information"
ANSWERS = ["immer", "nie", "nie", "nie"] * 3


class SocketEnd:
    """Slack's Socket Mode end: the bot connects, and envelopes go out to it."""

    def __init__(self) -> None:
        self.ws: web.WebSocketResponse | None = None
        self.acks: list[str] = []
        self.ids = itertools.count(1)

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        self.ws = ws
        async for message in ws:
            self.acks.append(json.loads(message.data).get("envelope_id", ""))
        return ws

    async def send(self, kind: str, payload: dict[str, Any]) -> None:
        assert self.ws is not None, "the bot is not connected"
        envelope = f"env-{next(self.ids)}"
        await self.ws.send_json(
            {"envelope_id": envelope, "type": kind, "accepts_response_payload": False, "payload": payload}
        )
        for _ in range(500):
            if envelope in self.acks:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"envelope {envelope} was not acknowledged")


class SocketAgent(SlackAgent):
    """A member whose messages and presses reach the bot over Socket Mode."""

    def __init__(self, end: SocketEnd, fake: FakeSlack, channel: str) -> None:
        super().__init__(None, "", fake)  # type: ignore[arg-type]
        self.end, self.channel = end, channel

    async def post(self, body: str, content_type: str, **headers: str) -> httpx.Response:
        if content_type == "application/json":
            await self.end.send("events_api", json.loads(body))
        else:
            await self.end.send("interactive", json.loads(parse_qs(body)["payload"][0]))
        return httpx.Response(200)


async def test_the_readme_takes_a_slack_admin_from_two_tokens_to_a_survey(tmp_path: Path) -> None:
    folder = clone(tmp_path)
    socket_mode = blocks(
        "\n### Try it in a workspace without a public URL", "\n### Run it behind a public URL"
    )
    rounds = blocks("\n## Teams and rounds (admins)", "\n- Run these in the folder")
    assert len(socket_mode) == 1 and len(rounds) == 1

    end = SocketEnd()
    socket_app = web.Application()
    socket_app.router.add_get("/link", end.link)
    runner = web.AppRunner(socket_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    socket_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake = FakeSlack(socket_url=f"ws://127.0.0.1:{socket_port}/link", channel_members={"C0123": ["U100"]})
    port = free_port()
    try:
        with FakeServer(fake, "/api") as api:
            env = python_env(  # Slack, where the fakes are
                PORT=str(port),
                SLACK_API_URL=f"{api.url}/api/",
                SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
            )
            shell = Shell(folder, env, {"<the xoxb-… token>": BOT_TOKEN, "<the xapp-… token>": APP_TOKEN})
            try:
                await follow(shell, socket_mode[0], rounds[0], end, fake, port)
            finally:
                shell.stop()
    finally:
        await runner.cleanup()
    logs = "".join(p.read_text() for p in folder.glob("*.log"))
    assert BOT_TOKEN not in logs and APP_TOKEN not in logs


async def follow(
    shell: Shell, socket_mode: str, rounds: str, end: SocketEnd, fake: FakeSlack, port: int
) -> None:
    for line in statements(socket_mode):
        if line.endswith(".venv/bin/ruhepuls"):
            shell.start(line, "serve")
            await asyncio.to_thread(
                wait_until_up, f"http://127.0.0.1:{port}/healthz", shell.folder / "serve.log", 60
            )
        else:
            await asyncio.to_thread(shell.run, line)
    for _ in range(1000):
        if end.ws is not None:
            break
        await asyncio.sleep(0.02)
    # 5. "In Slack, open the app's Messages tab and write hallo"
    dm = SocketAgent(end, fake, "DU100")
    await dm.say("hallo")
    assert "Ruhepuls" in dm.text(), dm.text()
    # Teams and rounds: the team is the channel's members; the worker invites them
    for line in statements(rounds):
        if line.split("#")[0].strip().endswith("ruhepuls worker"):
            shell.start(line.split("#")[0].strip(), "worker", **WEEKDAY_MORNING)
        else:
            await asyncio.to_thread(shell.run, line)
    for _ in range(600):  # the invitation, in the member's DM
        dm.sync()
        if len(dm.messages) >= 2:
            break
        await asyncio.sleep(0.1)
    assert len(dm.messages) >= 2, (shell.folder / "worker.log").read_text()
    invitation = dm.last_ts
    await dm.click("Starten", invitation)
    assert "Frage 1 von 12" in dm.text(invitation), dm.text(invitation)
    for label in ANSWERS:
        await dm.click(label, invitation)
    assert "Konflikt ohne Rückendeckung" in dm.text(invitation), dm.text(invitation)
