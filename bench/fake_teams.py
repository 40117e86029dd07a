"""A stand-in for the Teams connector (Bot Framework's REST service, `/teams/v3/...`), run in its
own process by the benchmark. With --limits it refuses with 429, as Teams does, what passes its
published limits: 50 requests a second per app and tenant over every call (messages, new
personal chats, roster pages), and per conversation 7 messages a second, 60 in 30 seconds.
Counts messages per conversation and when the first one arrived; `bot_token` is the
TEAMS_TOKEN_PROVIDER the benchmark's workers use (it never checks a token)."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.fakes import Record, serve

PER_APP_TENANT = (50.0, 50)
PER_CONVERSATION = [(7.0, 7), (2.0, 60)]  # 7 in a second; 60 in 30 seconds

record = Record()
rosters: dict[str, list[tuple[str, str]]] = {}
"""Team id -> [(29: account id, Entra object id)]"""
ids = itertools.count(1)


def bot_token(scope: str | list[str], tenant: str | None) -> str:
    return jwt.encode({"aud": "https://api.botframework.com", "exp": 4102444800, "appid": "bench"}, "x" * 32)


def _limited(tenant: str, conversation: str | None) -> float:
    scopes: list[tuple[str, tuple[float, int]]] = [(f"tenant:{tenant}", PER_APP_TENANT)]
    if conversation is not None:
        scopes += [(f"conv:{conversation}:{n}", rate) for n, rate in enumerate(PER_CONVERSATION)]
    return record.limits.take(scopes)


def _refuse(key: str, wait: float) -> Response:
    record.refuse(key)
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
        record.calls["create"] += 1
        account = (body.get("members") or [{}])[0].get("id", "")
        if (wait := _limited(tenant, None)) > 0:
            return _refuse(f"create:{account}", wait)
        return JSONResponse({"id": f"a:chat-{account}"}, status_code=201)
    if len(parts) >= 4 and parts[:2] == ["v3", "conversations"]:
        conversation = parts[2]
        if parts[3].lower() == "pagedmembers":
            record.calls["roster"] += 1
            if (wait := _limited(tenant, None)) > 0:
                return _refuse(f"roster:{conversation}", wait)
            accounts = rosters.get(conversation, [])
            q = request.query_params
            start, size = int(q.get("continuationToken") or 0), int(q.get("pageSize") or 100)
            page = [{"id": a, "aadObjectId": e, "name": "Person"} for a, e in accounts[start : start + size]]
            nxt = str(start + size) if start + size < len(accounts) else None
            return JSONResponse({"members": page, "continuationToken": nxt})
        if parts[3] == "activities" and request.method == "POST":
            record.calls["send"] += 1
            if (wait := _limited(tenant, conversation)) > 0:
                return _refuse(conversation, wait)
            if record.latency:
                await asyncio.sleep(record.latency)
            record.posted(conversation)
            return JSONResponse({"id": f"m{next(ids)}"}, status_code=201)
    return JSONResponse({"error": {"code": "NotFound"}}, status_code=404)


async def set_roster(request: Request) -> Response:
    data = await request.json()
    rosters[data["team"]] = [tuple(m) for m in data["members"]]
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/teams/{rest:path}", connector, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/_roster", set_roster, methods=["POST"]),
        *record.routes(),
    ]
)

if __name__ == "__main__":
    serve(app, record, "Teams")
