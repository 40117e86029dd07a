"""A stand-in for the Teams connector (Bot Framework's REST service, `/teams/v3/...`), run in its
own process by the benchmark. With --limits it refuses with 429, as Teams does, what passes its
published limits: 50 requests a second per app and tenant over every call (messages, new
personal chats, roster pages), and per conversation 7 messages a second, 60 in 30 seconds.
Counts messages per conversation and when the first one arrived; `bot_token` is the
TEAMS_TOKEN_PROVIDER the benchmark's workers use (it never checks a token)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from collections import Counter
from typing import Any

import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.gcra import Gcra

PER_APP_TENANT = (50.0, 50)
PER_CONVERSATION = [(7.0, 7), (2.0, 60)]  # 7 in a second; 60 in 30 seconds

calls: Counter[str] = Counter()
posts: Counter[str] = Counter()
"""Messages per conversation (a second invitation in one personal chat is a duplicate)."""
refused: Counter[str] = Counter()
posted_at: dict[str, float] = {}
rosters: dict[str, list[tuple[str, str]]] = {}
"""Team id -> [(29: account id, Entra object id)]"""
latency = {"seconds": 0.0}
limits = Gcra(enforce=False)
ids = itertools.count(1)


def bot_token(scope: str | list[str], tenant: str | None) -> str:
    return jwt.encode({"aud": "https://api.botframework.com", "exp": 4102444800, "appid": "bench"}, "x" * 32)


def _limited(tenant: str, conversation: str | None) -> float:
    scopes: list[tuple[str, tuple[float, int]]] = [(f"tenant:{tenant}", PER_APP_TENANT)]
    if conversation is not None:
        scopes += [(f"conv:{conversation}:{n}", rate) for n, rate in enumerate(PER_CONVERSATION)]
    return limits.take(scopes)


def _refuse(key: str, wait: float) -> Response:
    calls["429"] += 1
    refused[key] += 1
    return JSONResponse(
        {"error": {"code": "TooManyRequests"}},
        status_code=429,
        headers={"Retry-After": str(max(1, round(wait)))},
    )


async def connector(request: Request) -> Response:
    parts = request.path_params["rest"].strip("/").split("/")
    body: dict[str, Any] = json.loads(await request.body() or b"{}")
    tenant = "bench-tenant"
    if parts == ["v3", "conversations"] and request.method == "POST":  # a personal chat
        calls["create"] += 1
        account = (body.get("members") or [{}])[0].get("id", "")
        if (wait := _limited(tenant, None)) > 0:
            return _refuse(f"create:{account}", wait)
        return JSONResponse({"id": f"a:chat-{account}"}, status_code=201)
    if len(parts) >= 4 and parts[:2] == ["v3", "conversations"]:
        conversation = parts[2]
        if parts[3].lower() == "pagedmembers":
            calls["roster"] += 1
            if (wait := _limited(tenant, None)) > 0:
                return _refuse(f"roster:{conversation}", wait)
            accounts = rosters.get(conversation, [])
            q = request.query_params
            start, size = int(q.get("continuationToken") or 0), int(q.get("pageSize") or 100)
            page = [{"id": a, "aadObjectId": e, "name": "Person"} for a, e in accounts[start : start + size]]
            nxt = str(start + size) if start + size < len(accounts) else None
            return JSONResponse({"members": page, "continuationToken": nxt})
        if parts[3] == "activities" and request.method == "POST":
            calls["send"] += 1
            if (wait := _limited(tenant, conversation)) > 0:
                return _refuse(conversation, wait)
            if latency["seconds"]:
                await asyncio.sleep(latency["seconds"])
            posts[conversation] += 1
            posted_at.setdefault(conversation, time.time())
            return JSONResponse({"id": f"m{next(ids)}"}, status_code=201)
    return JSONResponse({"error": {"code": "NotFound"}}, status_code=404)


async def set_roster(request: Request) -> Response:
    data = await request.json()
    rosters[data["team"]] = [tuple(m) for m in data["members"]]
    return JSONResponse({"ok": True})


async def set_latency(request: Request) -> Response:
    latency["seconds"] = float((await request.json())["seconds"])
    return JSONResponse({"ok": True})


async def stats(request: Request) -> Response:
    return JSONResponse(dict(calls))


async def per_conversation(request: Request) -> Response:
    return JSONResponse(dict(posts))


async def refusals(request: Request) -> Response:
    return JSONResponse(dict(refused))


async def first_posts(request: Request) -> Response:
    return JSONResponse(posted_at)


app = Starlette(
    routes=[
        Route("/teams/{rest:path}", connector, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/_roster", set_roster, methods=["POST"]),
        Route("/_latency", set_latency, methods=["POST"]),
        Route("/_stats", stats),
        Route("/_posts", per_conversation),
        Route("/_refused", refusals),
        Route("/_posted_at", first_posts),
    ]
)

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--limits", action="store_true", help="answer 429 as Teams does past its limits")
    args = ap.parse_args()
    limits.enforce = args.limits
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
