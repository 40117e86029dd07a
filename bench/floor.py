"""The floor: a bare slack-bolt AsyncApp whose block_actions handler only acks and does one
Redis EVALSHA, mounted the same way (FastAPI, bolt's async handler, uvicorn).

With `--update` it also makes the one Slack Web API call every real click needs
(`chat.update` with a question's worth of blocks, through one kept-alive connection pool): a
floor for what any bot that answers a click in place must do."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

import aiohttp
import uvicorn
from fastapi import FastAPI, Request
from redis.asyncio import Redis
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.timing import Timed

LUA = "return redis.call('HINCRBY', KEYS[1], 'n', 1)"
LABELS = ["nie", "selten", "manchmal", "oft", "immer", "möchte ich nicht beantworten"]
BLOCKS = [
    {"type": "context", "elements": [{"type": "plain_text", "text": "Frage 3 von 12"}]},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "In den letzten 4 Wochen: Wie oft …\n*… eine Frage*"},
    },
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": f"rp:{n}",
                "value": f"a:c1:{n}",
                "text": {"type": "plain_text", "text": label},
            }
            for n, label in enumerate(LABELS)
        ],
    },
]


def build(update: bool) -> FastAPI:
    redis = Redis.from_url(os.environ["REDIS_URL"])
    script = redis.register_script(LUA)
    sessions: list[aiohttp.ClientSession] = []
    api = FastAPI()
    bolt = AsyncApp(
        client=AsyncWebClient(token="xoxb-bench", base_url=os.environ["SLACK_API_URL"]),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=True,
    )

    @bolt.action(re.compile(".*"))
    async def on_click(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await script(keys=[f"floor:{{{body['user']['id']}}}"])
        if update:
            if not sessions:
                sessions.append(aiohttp.ClientSession())
            client.session = sessions[0]
            container = body["container"]
            await client.chat_update(
                channel=container["channel_id"],
                ts=container["message_ts"],
                blocks=BLOCKS,
                text="Frage 3 von 12",
            )

    handler = AsyncSlackRequestHandler(bolt)

    @api.post("/slack/events")
    async def events(request: Request) -> Any:
        return await handler.handle(request)

    return api


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()
    uvicorn.run(
        Timed(build(args.update)), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )
