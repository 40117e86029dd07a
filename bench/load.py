"""The load generator, run as its own process: simulated agents taking whole surveys by clicking,
each click a block_actions request signed exactly as Slack signs it.

    python -m bench.load --url http://127.0.0.1:8001/slack/events --secret S --first 0 \\
        (--closed 32 | --rate 200) --seconds 8 [--answers 12]
Prints one JSON line: clicks, seconds, clicks_per_s, p50_ms, p99_ms, errors, next_agent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

import classifier

ITEMS = [item.id for item in classifier.default().items]  # in the order the survey asks them


class Agent:
    def __init__(self, n: int, answers: int, respond: str) -> None:
        self.user = f"U{n:07d}"
        self.respond = respond
        self.clicks = ["start:de"] + [f"a:{item}:{(n + k) % 5}" for k, item in enumerate(ITEMS[:answers])]
        self.step = 0

    @property
    def done(self) -> bool:
        return self.step >= len(self.clicks)

    def payload(self) -> str:
        value = self.clicks[self.step]
        body = {
            "type": "block_actions",
            "api_app_id": "A1",
            "trigger_id": "t",
            "user": {"id": self.user, "team_id": "T1"},
            "team": {"id": "T1"},
            "container": {"type": "message", "message_ts": "1.1", "channel_id": "D" + self.user},
            "channel": {"id": "D" + self.user},
            "response_url": f"{self.respond}/D{self.user}/{self.step}",
            "actions": [
                {
                    "action_id": "rp:0",
                    "block_id": "b",
                    "type": "button",
                    "value": value,
                    "action_ts": f"{time.time():.6f}{self.step}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(body)})


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="one URL, or several separated by commas (round robin)")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--respond", default="https://hooks.invalid/respond", help="base of the response URLs")
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--closed", type=int, default=0, help="concurrent agents (closed loop)")
    ap.add_argument("--rate", type=float, default=0.0, help="clicks per second (open loop)")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--answers", type=int, default=12)
    ap.add_argument("--agents", type=int, default=0, help="stop after this many agents finished")
    args = ap.parse_args()
    signer = SignatureVerifier(args.secret)
    latencies: list[float] = []
    errors = 0
    next_agent = args.first
    finished = 0

    def new_agent() -> Agent:
        nonlocal next_agent
        next_agent += 1
        return Agent(next_agent - 1, args.answers, args.respond)

    urls = args.url.split(",")
    turn = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def click(agent: Agent) -> None:
            nonlocal errors, finished, turn
            url, turn = urls[turn % len(urls)], turn + 1  # a load balancer's round robin
            body = agent.payload()
            ts = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signer.generate_signature(timestamp=ts, body=body),
            }
            start = time.perf_counter()
            try:
                async with http.post(url, data=body, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            latencies.append(time.perf_counter() - start)
            agent.step += 1
            if agent.done:
                finished += 1

        began = time.perf_counter()
        deadline = began + args.seconds
        if args.closed:

            async def worker() -> None:
                agent = new_agent()
                while time.perf_counter() < deadline and not (args.agents and finished >= args.agents):
                    await click(agent)
                    if agent.done:
                        if args.agents and next_agent - args.first >= args.agents:
                            return
                        agent = new_agent()

            await asyncio.gather(*(worker() for _ in range(args.closed)))
        else:
            idle: deque[Agent] = deque()
            tasks: set[asyncio.Task[None]] = set()
            interval, n = 1.0 / args.rate, 0

            async def run(agent: Agent) -> None:
                await click(agent)
                if not agent.done:
                    idle.append(agent)

            while (now := time.perf_counter()) < deadline:
                due = began + n * interval
                if due > now:
                    await asyncio.sleep(due - now)
                agent = idle.popleft() if idle else new_agent()
                t = asyncio.create_task(run(agent))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
                n += 1
            if tasks:
                await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return (
            round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2) if latencies else 0.0
        )

    print(
        json.dumps(
            {
                "clicks": len(latencies),
                "seconds": round(elapsed, 3),
                "clicks_per_s": round(len(latencies) / elapsed, 1),
                "p50_ms": pct(0.5),
                "p99_ms": pct(0.99),
                "errors": errors,
                "next_agent": next_agent,
                "finished": finished,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
