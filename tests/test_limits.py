"""The shared rate limiter against a real Redis: slots in order across processes (two limiter
objects, as two processes would hold), a 429 blocking a bucket for exactly its Retry-After,
fail-open when Redis is down."""

from __future__ import annotations

from conftest import free_port
from redis.asyncio import Redis

from flows.limits import Limiter, Rate


async def test_slots_are_shared_and_handed_out_in_order(redis: Redis) -> None:
    a, b = Limiter(redis, b"s"), Limiter(redis, b"s")
    bucket = a.bucket("slack", "T1", "chat.update")
    assert bucket == b.bucket("slack", "T1", "chat.update")
    rate = Rate(5, burst=2)  # one slot every 200 ms, two at once
    waits = [await (a if n % 2 else b).reserve(bucket, rate) for n in range(6)]
    assert waits[0] == 0 and waits[1] == 0, "the burst goes at once"
    steps = [later - earlier for earlier, later in zip(waits[1:], waits[2:], strict=False)]
    assert all(0.05 < s < 0.35 for s in steps), waits
    assert await a.reserve(bucket, rate, only_if_free=True) > 0.5, "not free: nothing taken"
    assert await a.reserve(a.bucket("slack", "T2", "chat.update"), rate) == 0, "another workspace"


async def test_a_429_blocks_the_bucket_for_exactly_its_retry_after(redis: Redis) -> None:
    limiter = Limiter(redis, b"s")
    bucket = limiter.bucket("slack", "T1", "chat.postMessage", "D123")
    assert "D123" not in bucket, "a chat appears only as a keyed hash"
    await limiter.block(bucket, 3)
    wait = await limiter.reserve(bucket, Rate(100, burst=100))
    assert 2.8 < wait <= 3.0
    assert 0 < await redis.pttl(bucket) <= 3000 + 61_000


async def test_redis_down_fails_open() -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    limiter = Limiter(dead, b"s")
    assert await limiter.reserve(limiter.bucket("slack", "T1", "chat.update"), Rate(1)) == 0
    await limiter.block(limiter.bucket("slack", "T1", "chat.update"), 5)  # no error
    await dead.aclose()
