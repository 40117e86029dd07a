"""Slack over Socket Mode: with SLACK_APP_TOKEN set, the bot connects to the WebSocket URL that
`apps.connections.open` hands out, acks each envelope, and answers through the Web API. The
WebSocket end is a local stand-in for Slack's."""

from __future__ import annotations

import asyncio
import json

import httpx
from aiohttp import web
from fakes import FakeServer, FakeSlack
from slackkit import running_app

from bot.settings import Settings


async def test_a_dm_over_socket_mode(redis_url: str, redis) -> None:
    acks: asyncio.Queue[dict] = asyncio.Queue()

    async def link(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        await ws.send_json(
            {
                "envelope_id": "env-1",
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": {
                    "type": "event_callback",
                    "team_id": "T1",
                    "api_app_id": "A1",
                    "event_id": "EvSock1",
                    "event": {
                        "type": "message",
                        "channel_type": "im",
                        "channel": "DU7",
                        "user": "U7",
                        "text": "hallo",
                        "ts": "1.1",
                    },
                },
            }
        )
        async for message in ws:
            await acks.put(json.loads(message.data))
        return ws

    socket_app = web.Application()
    socket_app.router.add_get("/link", link)
    runner = web.AppRunner(socket_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    fake = FakeSlack(socket_url=f"ws://127.0.0.1:{port}/link")
    with FakeServer(fake, "/api") as api:
        settings = Settings(
            REDIS_URL=redis_url,
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_APP_TOKEN="xapp-test",
            SLACK_API_URL=f"{api.url}/api/",
            SLACK_RESPONSE_URL_PREFIX=f"{api.url}/respond/",
            RUHEPULS_SECRET="socket-secret",
        )
        async with running_app(settings) as base:
            ack = await asyncio.wait_for(acks.get(), timeout=10)
            assert ack["envelope_id"] == "env-1"
            for _ in range(200):
                if "chat.postMessage" in fake.methods():
                    break
                await asyncio.sleep(0.02)
            post = next(c for c in fake.calls if c.method == "chat.postMessage")
            assert post.params["channel"] == "DU7"
            assert any(
                e.get("value", "").startswith("start:")
                for b in post.params["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
            )
            # without a signing secret, HTTP requests are refused
            async with httpx.AsyncClient() as http:
                r = await http.post(
                    f"{base}/slack/events",
                    content=b"{}",
                    headers={"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"},
                )
                assert r.status_code == 401
    await runner.cleanup()


def test_manifests_match_what_the_app_handles() -> None:
    from pathlib import Path

    import yaml

    from bot.slack import manifest_scopes

    folder = Path(__file__).resolve().parent.parent / "bot" / "slack"
    for name, socket in (("manifest.yaml", False), ("manifest-socket.yaml", True)):
        m = yaml.safe_load((folder / name).read_text())
        assert set(m["oauth_config"]["scopes"]["bot"]) == manifest_scopes(), "both ask for the same scopes"
        s = m["settings"]
        assert s["socket_mode_enabled"] is socket
        assert set(s["event_subscriptions"]["bot_events"]) == {
            "message.im",
            "app_home_opened",
            "app_uninstalled",  # an OAuth installation's token is forgotten with it
            "tokens_revoked",
        }
        assert s["interactivity"]["is_enabled"] is True
        assert m["features"]["slash_commands"][0]["command"] == "/ruhepuls"
        assert set(m["oauth_config"]["scopes"]["bot"]) >= {
            "chat:write",
            "im:history",
            "im:write",
            "commands",
            "channels:read",
            "groups:read",
            "files:write",
        }
        urls = [
            s["event_subscriptions"].get("request_url"),
            s["interactivity"].get("request_url"),
            m["features"]["slash_commands"][0].get("url"),
        ]
        assert all(u is None for u in urls) if socket else all(u.endswith("/slack/events") for u in urls)
