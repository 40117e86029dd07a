"""Server-side latency for the benchmark: an ASGI wrapper that times each POST from the first
byte the app sees to the last byte it sends, and serves the figures at GET /_timings (then
forgets them). Used around both Ruhepuls and the floors; the product itself is untouched."""

from __future__ import annotations

import json
import time
from typing import Any


class Timed:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: list[float] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_timings":
            body = json.dumps(self.samples).encode()
            self.samples = []
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.samples.append(time.perf_counter() - start)

        await self.app(scope, receive, timed_send)
