"""The floor: a bare slack-bolt AsyncApp whose block_actions handler only acks and does one
Redis EVALSHA, mounted the same way (FastAPI, bolt's async handler, uvicorn)."""

from __future__ import annotations

import argparse
import os
import re

import uvicorn
from fastapi import FastAPI, Request
from redis.asyncio import Redis
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

LUA = "return redis.call('HINCRBY', KEYS[1], 'n', 1)"


def build() -> FastAPI:
    redis = Redis.from_url(os.environ["REDIS_URL"])
    script = redis.register_script(LUA)
    client = AsyncWebClient(token="xoxb-bench", base_url=os.environ["SLACK_API_URL"])
    bolt = AsyncApp(
        client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], process_before_response=True
    )

    @bolt.action(re.compile(".*"))
    async def on_click(ack, body) -> None:  # type: ignore[no-untyped-def]
        await ack()
        await script(keys=[f"floor:{{{body['user']['id']}}}"])

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    @api.post("/slack/events")
    async def events(request: Request):  # type: ignore[no-untyped-def]
        return await handler.handle(request)

    return api


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    uvicorn.run(build(), host="127.0.0.1", port=ap.parse_args().port, log_level="warning", access_log=False)
