"""A fast stand-in for the Slack Web API, run in its own process by the benchmark so that its
cost is not counted in the bot's process. Answers like Slack; counts what it was sent."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.gcra import Gcra

calls: Counter[str] = Counter()
posts: Counter[str] = Counter()
latency = {"seconds": 0.0}
"""How long each chat.postMessage takes (the Monday scenario sets Slack's typical ~150 ms)."""
"""chat.postMessage calls per channel (a second post to one DM is a duplicate)."""
arrivals: dict[str, float] = {}
"""Response URL path -> when the card arrived (wall clock), for click-to-card times."""
LIMITS: dict[str, tuple[float, int]] = {
    "chat.update": (50 / 60, 10),
    "chat.delete": (50 / 60, 10),
    "conversations.open": (100 / 60, 20),
    "conversations.members": (100 / 60, 20),
    "chat.postMessage": (1.0, 3),
}
limits = Gcra(enforce=False)


def _limited(method: str, params: dict[str, Any]) -> float:
    """Seconds to wait when the call exceeds Slack's published limit; 0 within it."""
    if method not in LIMITS:
        return 0.0
    key = method + (f":{params.get('channel')}" if method == "chat.postMessage" else "")
    return limits.take([(key, LIMITS[method])])


refused: Counter[str] = Counter()
"""429s per channel for chat.postMessage (a post refused twice: the bot did not wait as told)."""
members: dict[str, list[str]] = {}
posted_at: dict[str, float] = {}
"""Channel -> when the first post there arrived (wall clock)."""
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
        calls["429"] += 1
        if method == "chat.postMessage":
            refused[str(params.get("channel"))] += 1
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
        if latency["seconds"]:
            await asyncio.sleep(latency["seconds"])  # the way to Slack and back
        posts[str(params.get("channel"))] += 1
        posted_at.setdefault(str(params.get("channel")), time.time())
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


async def stats(request: Request) -> Response:
    return JSONResponse(dict(calls))


async def arrived(request: Request) -> Response:
    return JSONResponse(arrivals)


async def set_members(request: Request) -> Response:
    data = await request.json()
    members[data["channel"]] = data["members"]
    return JSONResponse({"ok": True})


async def set_latency(request: Request) -> Response:
    latency["seconds"] = float((await request.json())["seconds"])
    return JSONResponse({"ok": True})


async def first_posts(request: Request) -> Response:
    return JSONResponse(posted_at)


async def refusals(request: Request) -> Response:
    return JSONResponse(dict(refused))


async def per_channel(request: Request) -> Response:
    return JSONResponse(dict(posts))


async def reset(request: Request) -> Response:
    calls.clear()
    posts.clear()
    posted_at.clear()
    refused.clear()
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/api/{method}", api, methods=["POST", "GET"]),
        Route("/upload/{fid}", upload, methods=["POST"]),
        Route("/respond/{rest:path}", respond, methods=["POST"]),
        Route("/_stats", stats),
        Route("/_reset", reset, methods=["POST"]),
        Route("/_arrivals", arrived),
        Route("/_members", set_members, methods=["POST"]),
        Route("/_posts", per_channel),
        Route("/_refused", refusals),
        Route("/_posted_at", first_posts),
        Route("/_latency", set_latency, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--limits", action="store_true", help="answer 429 as Slack does past its limits")
    args = ap.parse_args()
    limits.enforce = args.limits
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
