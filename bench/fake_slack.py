"""A fast stand-in for the Slack Web API, run in its own process by the benchmark so that its
cost is not counted in the bot's process. Answers like Slack; counts what it was sent."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.fakes import Record, serve

record = Record()
calls = record.calls
arrivals: dict[str, float] = {}
"""Response URL path -> when the card arrived (wall clock), for click-to-card times."""
LIMITS: dict[str, tuple[float, int]] = {
    "chat.update": (50 / 60, 10),
    "chat.delete": (50 / 60, 10),
    "conversations.open": (100 / 60, 20),
    "conversations.members": (100 / 60, 20),
    "chat.postMessage": (1.0, 3),
}
POSTS_PER_MINUTE = 3000
"""The workspace-wide budget for chat.postMessage, all channels together, that this fake
enforces and the benchmark configures the bot with (SLACK_POSTS_PER_MINUTE). Slack gives no
exact figure; the benchmark's workspace holds 5,000 people, so its budget is set so that the
rosters (Tier 4), not the posts, bound a Monday, as with the default 300 a minute across the
20 workspaces of 50,000 people the issue models."""
WORKSPACE_POSTS = (POSTS_PER_MINUTE / 60, POSTS_PER_MINUTE // 12)


def _limited(method: str, params: dict[str, Any]) -> float:
    """Seconds to wait when the call exceeds Slack's published limit; 0 within it."""
    if method not in LIMITS:
        return 0.0
    if method != "chat.postMessage":
        return record.limits.take([(method, LIMITS[method])])
    return record.limits.take(
        [(f"{method}:{params.get('channel')}", LIMITS[method]), (method, WORKSPACE_POSTS)]
    )


members: dict[str, list[str]] = {}
ts = itertools.count(1)


async def _params(request: Request) -> dict[str, Any]:
    body = await request.body()
    params: dict[str, Any] = dict(request.query_params)
    ctype = request.headers.get("content-type", "")
    if body and "json" in ctype:
        params.update(json.loads(body))
    elif body:
        params.update(dict(parse_qsl(body.decode(errors="replace"))))
    return params


async def api(request: Request) -> Response:
    method = request.path_params["method"]
    params = await _params(request)
    calls[method] += 1
    wait = _limited(method, params)
    if wait > 0:
        if method == "chat.postMessage":
            record.refuse(str(params.get("channel")))
        else:
            calls["429"] += 1
        return JSONResponse(
            {"ok": False, "error": "ratelimited"},
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    if method == "auth.test":
        return JSONResponse(
            {
                "ok": True,
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "team_id": "T1",
                "user": "bot",
                "team": "Bench",
                "url": "https://bench.invalid/",
            }
        )
    if method == "conversations.open":
        return JSONResponse({"ok": True, "channel": {"id": "D" + str(params.get("users", "X"))}})
    if method == "conversations.members":
        everyone = members.get(str(params.get("channel")), [])
        start, limit = int(params.get("cursor") or 0), int(params.get("limit") or 100)
        nxt = str(start + limit) if start + limit < len(everyone) else ""
        return JSONResponse(
            {
                "ok": True,
                "members": everyone[start : start + limit],
                "response_metadata": {"next_cursor": nxt},
            }
        )
    if method == "conversations.history":
        return JSONResponse({"ok": True, "messages": []})
    if method == "chat.postMessage":
        if record.latency:
            await asyncio.sleep(record.latency)  # the way to Slack and back
        record.posted(str(params.get("channel")))
        return JSONResponse({"ok": True, "channel": params.get("channel"), "ts": f"1.{next(ts)}"})
    if method == "files.getUploadURLExternal":
        fid = f"F{next(ts)}"
        return JSONResponse({"ok": True, "upload_url": f"{request.base_url}upload/{fid}", "file_id": fid})
    if method == "files.completeUploadExternal":
        files = params.get("files")
        files = json.loads(files) if isinstance(files, str) else files or []
        return JSONResponse({"ok": True, "files": [{"id": f.get("id")} for f in files]})
    return JSONResponse({"ok": True, "channel": params.get("channel"), "ts": params.get("ts")})


async def respond(request: Request) -> Response:
    await request.body()
    arrivals[request.path_params["rest"]] = time.time()
    calls["respond"] += 1
    return JSONResponse({"ok": True})


async def upload(request: Request) -> Response:
    await request.body()
    calls["upload"] += 1
    return Response("OK")


async def arrived(request: Request) -> Response:
    return JSONResponse(arrivals)


async def set_members(request: Request) -> Response:
    data = await request.json()
    members[data["channel"]] = data["members"]
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/api/{method}", api, methods=["POST", "GET"]),
        Route("/upload/{fid}", upload, methods=["POST"]),
        Route("/respond/{rest:path}", respond, methods=["POST"]),
        Route("/_arrivals", arrived),
        Route("/_members", set_members, methods=["POST"]),
        *record.routes(),
    ]
)

if __name__ == "__main__":
    serve(app, record, "Slack")
