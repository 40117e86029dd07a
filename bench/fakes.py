"""What the benchmark's platform fakes share: their rate limits (GCRA, as the platforms describe
theirs: a rate and a burst), what they record (messages per conversation, when the first one
arrived, refusals per conversation), the routes that tell it, and how each is started."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route


@dataclass
class Gcra:
    enforce: bool = True
    _tat: dict[str, float] = field(default_factory=dict)

    def take(self, scopes: list[tuple[str, tuple[float, int]]]) -> float:
        """Seconds to wait if a call now would pass the limit of any scope (`key`, (rate per
        second, burst)), and then nothing is taken; 0 when it is within all, which it takes."""
        if not self.enforce:
            return 0.0
        now = time.monotonic()
        waits, taken = [], []
        for key, (rate, burst) in scopes:
            interval = 1 / rate
            tat = max(self._tat.get(key, now), now)
            waits.append(max(0.0, tat - interval * (burst - 1) - now))
            taken.append((key, tat + interval))
        if max(waits) > 1e-6:
            return max(waits)
        self._tat.update(taken)
        return 0.0


@dataclass
class Record:
    """What a fake was sent. `latency`: how long each message takes (the way there and back)."""

    calls: Counter[str] = field(default_factory=Counter)
    posts: Counter[str] = field(default_factory=Counter)
    """Messages per conversation (a second invitation to one person is a duplicate)."""
    refused: Counter[str] = field(default_factory=Counter)
    """429s per conversation (a message refused twice: the bot did not wait its turn)."""
    posted_at: dict[str, float] = field(default_factory=dict)
    """Conversation -> when the first message there arrived (wall clock)."""
    latency: float = 0.0
    limits: Gcra = field(default_factory=lambda: Gcra(enforce=False))

    def posted(self, conversation: str) -> None:
        self.posts[conversation] += 1
        self.posted_at.setdefault(conversation, time.time())

    def refuse(self, conversation: str) -> None:
        self.calls["429"] += 1
        self.refused[conversation] += 1

    def reset(self) -> None:
        self.calls.clear()
        self.posts.clear()
        self.refused.clear()
        self.posted_at.clear()

    def routes(self) -> list[BaseRoute]:
        async def stats(request: Request) -> Response:
            return JSONResponse(dict(self.calls))

        async def posts(request: Request) -> Response:
            return JSONResponse(dict(self.posts))

        async def refused(request: Request) -> Response:
            return JSONResponse(dict(self.refused))

        async def posted_at(request: Request) -> Response:
            return JSONResponse(self.posted_at)

        async def latency(request: Request) -> Response:
            self.latency = float((await request.json())["seconds"])
            return JSONResponse({"ok": True})

        async def reset(request: Request) -> Response:
            self.reset()
            return JSONResponse({"ok": True})

        return [
            Route("/_stats", stats),
            Route("/_posts", posts),
            Route("/_refused", refused),
            Route("/_posted_at", posted_at),
            Route("/_latency", latency, methods=["POST"]),
            Route("/_reset", reset, methods=["POST"]),
        ]


def serve(app: Starlette, record: Record, platform: str) -> None:
    """The command line of a fake: `--port`, and `--limits` to refuse past `platform`'s limits."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--limits", action="store_true", help=f"answer 429 as {platform} does past its limits")
    args = ap.parse_args()
    record.limits.enforce = args.limits
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
