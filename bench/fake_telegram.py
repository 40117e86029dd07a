"""A stand-in for the Telegram Bot API (`/bot<token>/<method>`), run in its own process by the
benchmark. With --limits it refuses, as Telegram does, what passes its limits for one bot:
about 30 messages a second overall, one a second per chat, 20 a minute per group; a refusal is
a 429 with `retry_after`. Counts messages per chat and when the first one arrived."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import re
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

OVERALL = (30.0, 30)
PER_CHAT = (1.0, 1)
PER_GROUP = (20 / 60, 20)
SENDS = {"sendMessage", "sendPhoto"}

calls: Counter[str] = Counter()
posts: Counter[str] = Counter()
"""Messages per chat (a second invitation to one person is a duplicate)."""
refused: Counter[str] = Counter()
"""429s per chat (a message refused more than once means the bot did not wait as told)."""
posted_at: dict[str, float] = {}
"""Chat -> when the first message there arrived (wall clock)."""
latency = {"seconds": 0.0}
limits = Gcra(enforce=False)
ids = itertools.count(1)
FIELD = re.compile(rb'name="([^"]+)"\r\n(?:Content-Type: text/plain[^\r]*\r\n)?\r\n([^\r]{0,256})\r\n')


async def _params(request: Request) -> dict[str, Any]:
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    if "multipart" in ctype:  # a photo: only the plain fields are of interest
        return {k.decode(): v.decode(errors="replace") for k, v in FIELD.findall(body)}
    if "json" in ctype:
        return dict(json.loads(body or b"{}"))
    return dict(parse_qsl(body.decode(errors="replace")))


def _wait(method: str, chat: str) -> float:
    if method not in SENDS:
        return 0.0
    scopes = [("bot", OVERALL), (f"chat:{chat}", PER_CHAT)]
    if chat.startswith("-"):
        scopes.append((f"group:{chat}", PER_GROUP))
    return limits.take(scopes)


async def api(request: Request) -> Response:
    method = request.path_params["method"]
    params = await _params(request)
    calls[method] += 1
    chat = str(params.get("chat_id", ""))
    if (wait := _wait(method, chat)) > 0:
        calls["429"] += 1
        refused[chat] += 1
        seconds = max(1, math.ceil(wait))
        return JSONResponse(
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            },
            status_code=429,
        )
    me = {"id": 4242, "is_bot": True, "first_name": "Ruhepuls", "username": "ruhepuls_bench_bot"}
    if method == "getMe":
        return JSONResponse({"ok": True, "result": me})
    if method in SENDS:
        if latency["seconds"]:
            await asyncio.sleep(latency["seconds"])  # the way to Telegram and back
        posts[chat] += 1
        posted_at.setdefault(chat, time.time())
        kind = "group" if chat.startswith("-") else "private"
        message = {
            "message_id": next(ids),
            "date": int(time.time()),
            "from": me,
            "chat": {"id": int(chat), "type": kind},
        }
        return JSONResponse({"ok": True, "result": message})
    return JSONResponse({"ok": True, "result": True})


async def stats(request: Request) -> Response:
    return JSONResponse(dict(calls))


async def refusals(request: Request) -> Response:
    return JSONResponse(dict(refused))


async def per_chat(request: Request) -> Response:
    return JSONResponse(dict(posts))


async def first_posts(request: Request) -> Response:
    return JSONResponse(posted_at)


async def set_latency(request: Request) -> Response:
    latency["seconds"] = float((await request.json())["seconds"])
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/bot{token}/{method}", api, methods=["POST", "GET"]),
        Route("/_stats", stats),
        Route("/_posts", per_chat),
        Route("/_refused", refusals),
        Route("/_posted_at", first_posts),
        Route("/_latency", set_latency, methods=["POST"]),
    ]
)

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--limits", action="store_true", help="answer 429 as Telegram does past its limits")
    args = ap.parse_args()
    limits.enforce = args.limits
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
