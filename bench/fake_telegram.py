"""A stand-in for the Telegram Bot API (`/bot<token>/<method>`), run in its own process by the
benchmark. With --limits it refuses, as Telegram does, what passes its limits for one bot:
about 30 messages a second overall, one a second per chat, 20 a minute per group; a refusal is
a 429 with `retry_after`. Counts messages per chat and when the first one arrived."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.fakes import Record, serve

OVERALL = (30.0, 30)
PER_CHAT = (1.0, 1)
PER_GROUP = (20 / 60, 20)
SENDS = {"sendMessage", "sendPhoto"}

record = Record()
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
    return record.limits.take(scopes)


async def api(request: Request) -> Response:
    method = request.path_params["method"]
    params = await _params(request)
    record.calls[method] += 1
    chat = str(params.get("chat_id", ""))
    if (wait := _wait(method, chat)) > 0:
        record.refuse(chat)
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
        if record.latency:
            await asyncio.sleep(record.latency)  # the way to Telegram and back
        record.posted(chat)
        kind = "group" if chat.startswith("-") else "private"
        message = {
            "message_id": next(ids),
            "date": int(time.time()),
            "from": me,
            "chat": {"id": int(chat), "type": kind},
        }
        return JSONResponse({"ok": True, "result": message})
    return JSONResponse({"ok": True, "result": True})


app = Starlette(routes=[Route("/bot{token}/{method}", api, methods=["POST", "GET"]), *record.routes()])

if __name__ == "__main__":
    serve(app, record, "Telegram")
