"""`ruhepuls doctor`: check a deployment before agents meet it. Prints what is right, what is
wrong and how to fix it; exits non-zero when anything is wrong."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .platform import Check, enabled, platforms
from .settings import Settings

if TYPE_CHECKING:
    from .runtime import Runtime


Finding = Check


def line(f: Check) -> str:
    return f"ok       {f.what}" if f.ok else f"PROBLEM  {f.what}\n         fix: {f.fix}"


async def platform_checks(rt: Runtime) -> list[Check]:
    """Each enabled platform's own check (its credentials work), and a clock that agrees with
    Redis's (signatures and tokens allow five minutes)."""
    out: list[Check] = []
    for platform in enabled(rt.settings):
        try:
            out += await platform.check(rt)
        except Exception as exc:
            out.append(
                Check(False, f"{platform.name}: the check failed ({type(exc).__name__})", "see the log")
            )
    seconds, micros = await rt.redis.time()
    skew = abs(seconds + micros / 1e6 - time.time())
    if skew > 30:
        out.append(
            Check(
                False,
                f"this machine's clock differs from Redis's by {skew:.0f} s",
                "run NTP (chrony or systemd-timesyncd) on every machine",
            )
        )
    else:
        out.append(Check(True, "the clock agrees with Redis's"))
    hours = rt.settings.sending_hours
    if hours.start_hour < 6 or hours.end_hour > 22:
        out.append(
            Check(
                False,
                f"invitations may go out at night ({hours.start_hour}:00 to {hours.end_hour}:00)",
                "set RUHEPULS_QUIET_HOURS to cover the night, e.g. 18-8",
            )
        )
    elif hours.end_hour - hours.start_hour < 3:
        out.append(
            Check(
                False,
                "fewer than three hours a day are left for invitations",
                "widen the sending window (RUHEPULS_QUIET_HOURS), e.g. 18-8",
            )
        )
    else:
        out.append(
            Check(True, f"invitations go out from {hours.start_hour}:00 to {hours.end_hour}:00 team time")
        )
    return out


async def _config(redis: Redis, name: str) -> str | None:
    try:
        reply = await redis.config_get(name)
    except RedisError:
        return None  # CONFIG is often disabled on managed services
    value = reply.get(name) if isinstance(reply, dict) else None
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None


async def _persists(redis: Redis) -> bool | None:
    aof, save = await _config(redis, "appendonly"), await _config(redis, "save")
    if aof is None and save is None:
        return None
    return aof == "yes" or bool((save or "").strip())


async def _replicated(sessions: Redis) -> Finding:
    """Pools of fewer than k completions live only on the sessions Redis: a replica (that, too,
    writes nothing) keeps them through a restart of the primary."""
    try:
        info = await sessions.info("replication")
    except (RedisError, OSError):
        info = {}
    if int(info.get("connected_slaves", 0) or 0) > 0 or info.get("role") == "slave":
        return Finding(True, "the sessions Redis has a replica: pools of fewer than k survive a restart")
    return Finding(
        True,
        "the sessions Redis has no replica: a restart loses at most k-1 results per team "
        "(round status says so); a replica that writes nothing, with Sentinel, keeps them",
    )


async def check(settings: Settings, data: Redis, sessions: Redis) -> list[Finding]:
    out: list[Finding] = []
    try:
        await asyncio.wait_for(data.ping(), 2)
        out.append(Finding(True, "the data Redis answers"))
    except (RedisError, OSError, TimeoutError):
        return [Finding(False, "the data Redis does not answer", "check REDIS_URL and that Redis runs")]
    try:
        await data.eval("return 1", 0)
        out.append(Finding(True, "Lua scripts run"))
    except RedisError:
        out.append(Finding(False, "Lua scripts are refused", "allow EVAL/EVALSHA for Ruhepuls's user (ACL)"))
    policy = await _config(data, "maxmemory-policy")
    if policy is not None and policy.startswith("allkeys"):
        out.append(
            Finding(
                False,
                f"maxmemory-policy {policy} may evict rounds and counters",
                "set maxmemory-policy noeviction (or a volatile-* policy)",
            )
        )
    elif policy is not None:
        out.append(Finding(True, f"maxmemory-policy {policy} evicts no data without a TTL"))
    persists = await _persists(data)
    if persists is False:
        out.append(
            Finding(
                False,
                "the data Redis keeps nothing on disk: teams, rounds and counters end with it",
                "turn on RDB snapshots (save 60 1) or AOF on the data Redis",
            )
        )
    elif persists:
        out.append(Finding(True, "the data Redis persists"))
    shared = sessions is data
    if shared and persists:
        out.append(
            Finding(
                False,
                "surveys in progress share the data Redis, which writes to disk: answers in "
                "progress reach its files and backups",
                "set RUHEPULS_SESSION_REDIS_URL to a Redis with --save '' --appendonly no",
            )
        )
    elif not shared:
        session_persists = await _persists(sessions)
        if session_persists:
            out.append(
                Finding(
                    False,
                    "the sessions Redis writes to disk: answers in progress reach its files",
                    "run it with --save '' --appendonly no",
                )
            )
        elif session_persists is False:
            out.append(
                Finding(True, "surveys in progress stay in memory (the sessions Redis writes nothing)")
            )
            out.append(await _replicated(sessions))
    if settings.secret is None and (settings.public or settings.external_redis):
        out.append(
            Finding(
                False,
                "RUHEPULS_SECRET is not set (needed with a Redis of your own or a public HOST)",
                "set RUHEPULS_SECRET (32+ random bytes) in the environment, away from the data",
            )
        )
    elif settings.secret is None:
        out.append(
            Finding(
                True,
                "a generated secret, outside the data directory, serves this local trial "
                "(set RUHEPULS_SECRET in production)",
            )
        )
    else:
        out.append(Finding(True, "RUHEPULS_SECRET is set"))
    for platform in platforms().values():
        out += platform.findings(settings)
    return out
