"""Teams, rounds and membership in Redis: operational data, never joined with answers.

A team's round hash holds the round's random key; a person's done token is a keyed hash of
their pseudonym with that key, so when a round closes and its key is deleted, nobody can tell
any more who finished it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from redis.asyncio import Redis

from . import keys
from .due import Due
from .errors import TeamError
from .members import JOIN_AFTER_ROUND, Members
from .pool import Pools
from .schedule import reminder_times
from .sending import Sends


class Team(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name: str = Field(min_length=1, max_length=120)
    platform: str = Field(pattern=r"^[a-z][a-z0-9]{1,19}$")
    channel: str | None = None
    """Slack: the channel whose members make up the team."""
    workspace: str | None = Field(None, pattern=r"^[A-Z0-9]{2,20}$")
    """Slack with OAuth installs: the workspace (T…) the channel is in; None: the only one."""
    lead_channel: str | None = None
    """Where the weekly summary goes (Slack channel id, Telegram chat id)."""
    language: Literal["de", "en"] = "de"
    timezone: str = "Europe/Berlin"
    parent: str | None = None
    """A team this one reports into when it is too small on its own."""
    leads: tuple[str, ...] = ()
    """Platform-qualified ids ("slack:U1") who may preview the team's summary."""
    join_code: str | None = None
    """Telegram: the code in the deep link t.me/<bot>?start=<code>."""
    report_key: str | None = None
    """Signed into every report link of the team: a new one revokes them all, and a team added
    again under a removed team's id gets a new one (old links never come back to life)."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)
        return value


@dataclass(frozen=True, slots=True)
class Round:
    id: str
    status: Literal["open", "closed"]
    opened: datetime
    ends: datetime
    reminders: tuple[datetime, ...]
    reminded: int
    invited: bool
    unreachable: int = 0
    """Members an invitation could never reach (the app not installed for them, bot blocked)."""
    to_parent: int = 0
    """At close: results (fewer than k) that went on to the parent team's pool."""
    dropped: int = 0
    """At close: results (fewer than k, no parent) that were dropped, never stored."""
    lost: bool = False
    """The sessions Redis restarted during the round: results waiting for k were lost."""
    failed: int = 0
    """Invitations and reminders given up after repeated failures (how many, never to whom)."""
    failed_code: str = ""
    """The platform's error code of the last of them."""

    @property
    def is_open(self) -> bool:
        return self.status == "open"


_OPEN_ROUND = """
if redis.call('HGET', KEYS[1], 'status') == 'open' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


def done_token(secret: bytes, round_key: str, person: str) -> str:
    """Who finished a round, as the round's done set holds it: keyed with the server secret
    and the round's key, so Redis alone (a dump, a backup) never links it to a pseudonym."""
    mac = hmac.new(secret, f"{round_key}\x1f{person}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _round(raw: dict[bytes, bytes]) -> Round | None:
    if not raw:
        return None
    d = {k.decode(): v.decode() for k, v in raw.items()}
    reminders = tuple(datetime.fromisoformat(t) for t in d.get("reminders", "").split(",") if t)
    return Round(
        d["id"],
        "open" if d["status"] == "open" else "closed",
        datetime.fromisoformat(d["opened"]),
        datetime.fromisoformat(d["ends"]),
        reminders,
        int(d.get("reminded", 0)),
        d.get("invited") == "1",
        int(d.get("unreachable", 0)),
        int(d.get("to_parent", 0)),
        int(d.get("dropped", 0)),
        d.get("lost") == "1",
        sum(int(d.get(f"failed_{k}", 0)) for k in keys.KINDS),
        d.get("failed_code", ""),
    )


class TeamStore:
    """Teams, rounds and their bookkeeping on the data Redis; who finished a round and the
    completions not yet written are the `pools`' (on the sessions Redis)."""

    def __init__(self, redis: Redis, secret: bytes = b"", pools: Pools | None = None) -> None:
        self.redis = redis
        self.secret = secret
        self.pools = pools if pools is not None else Pools(redis, redis, 5)
        self.sessions = self.pools.sessions
        """Where per-person marks of a round live (who asked for no reminder, whose message
        failed): the sessions Redis, kept in memory only."""
        self._open = redis.register_script(_OPEN_ROUND)
        self.sends = Sends(redis, self.sessions)
        """Who was sent what in a round, failed sends and the send lock (`flows.sending`)."""
        self.due = Due(redis)
        """When each team next needs the worker (`flows.due`)."""
        self.members = Members(redis, self.team)
        """Who joined a team by its link, and which team a person's survey counts in."""

    # --- teams ------------------------------------------------------------------------------
    async def save_team(self, team: Team, *, join_link: bool = False) -> Team:
        """Save a team; `join_link`: its members join by a link (a platform without a roster,
        such as Telegram), so it gets a join code of its own if it has none."""
        if team.report_key is None:
            team = team.model_copy(update={"report_key": secrets.token_hex(8)})
        new_code = join_link and team.join_code is None
        if new_code:
            team = team.model_copy(update={"join_code": secrets.token_urlsafe(9)})
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(keys.team(team.id), team.model_dump_json())
            pipe.sadd(keys.TEAMS, team.id)
            if team.join_code:  # the team's own link: valid for a while, renewed by every round
                pipe.hset(keys.join_code(team.join_code), "team", team.id)
                if new_code:
                    pipe.expire(keys.join_code(team.join_code), JOIN_AFTER_ROUND)
            await pipe.execute()
        return team

    async def team(self, team_id: str) -> Team | None:
        try:
            raw = await self.redis.get(keys.team(team_id))
        except ValueError:  # a malformed id: no such team
            return None
        return Team.model_validate_json(raw) if raw else None

    async def teams(self) -> list[Team]:
        ids = sorted(m.decode() for m in await self.redis.smembers(keys.TEAMS))
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:  # one round trip (keys differ in slot)
            for i in ids:
                pipe.get(keys.team(i))
            raw = await pipe.execute()
        return [Team.model_validate_json(r) for r in raw if r]

    async def remove_team(self, team_id: str, sessions: Redis | None = None) -> dict[str, int] | None:
        """Delete everything of a team: its definition, rounds, counters, history, summaries,
        members, join codes, who-belongs-where and (on `sessions`, if the surveys in progress
        live on another server) its surveys in progress; None if there is no such team, else how
        many keys of each kind went."""
        if await self.team(team_id) is None:
            return None
        gone: dict[str, int] = {}
        sessions = sessions if sessions is not None else self.sessions
        if sessions is not self.redis:
            pattern = keys.team_pattern(team_id)
            elsewhere = [k async for k in sessions.scan_iter(match=pattern, count=1000)]
            if elsewhere:
                await sessions.delete(*elsewhere)
            gone["sessions"] = len(elsewhere)
        own = [k async for k in self.redis.scan_iter(match=keys.team_pattern(team_id), count=1000)]
        for key in own:
            kind = keys.team_key_kind(key.decode())
            gone[kind] = gone.get(kind, 0) + 1
        links = [
            k
            async for k in self.redis.scan_iter(match=keys.join_code("*"), count=1000)
            if await self.members.code_team(k) == team_id
        ]
        mapped = []
        async for k in self.redis.scan_iter(match=keys.who("*"), count=1000):
            if await self.redis.get(k) == team_id.encode():
                mapped.append(k)
        async with self.redis.pipeline(transaction=False) as pipe:
            for batch in (own, links, mapped):
                if batch:
                    pipe.delete(*batch)
            pipe.srem(keys.TEAMS, team_id)
            await pipe.execute()
        await self.due.drop(team_id)
        gone["join"], gone["who"] = len(links), len(mapped)
        return gone

    # --- rounds -----------------------------------------------------------------------------
    async def open_round(self, team_id: str, opened: datetime, ends: datetime) -> Round:
        if ends <= opened:
            raise TeamError("round_too_short")
        round_id = "r" + secrets.token_hex(4)
        r1, r2 = reminder_times(opened, ends)
        fields = {
            "id": round_id,
            "status": "open",
            "opened": opened.isoformat(),
            "ends": ends.isoformat(),
            "reminders": f"{r1.isoformat()},{r2.isoformat()}",
            "reminded": "0",
            "invited": "0",
            "key": secrets.token_hex(32),
        }
        flat = [x for kv in fields.items() for x in kv]
        if not await self._open(keys=[keys.round_hash(team_id)], args=flat):
            raise TeamError("round_already_open", team=team_id)
        team = await self.team(team_id)
        if team is not None and team.join_code:  # the team's own link lives as long as its rounds
            lifetime = int((ends - opened).total_seconds()) + JOIN_AFTER_ROUND
            await self.redis.expire(keys.join_code(team.join_code), lifetime)
        await self.pools.opened(team_id, round_id)
        await self.due.at(team_id, opened)  # the worker's next tick invites (or the job at once)
        current = await self.current_round(team_id)
        assert current is not None
        return current

    async def current_round(self, team_id: str) -> Round | None:
        return _round(await self.redis.hgetall(keys.round_hash(team_id)))

    async def close_round(self, team_id: str) -> Round | None:
        """Close the open round; delete its key and every per-person trace of it, and settle its
        pool (see `flows.pool`): what it did is kept on the round (`kept`, `to_parent`,
        `dropped`, `lost`) for the admin's status, as numbers only."""
        current = await self.current_round(team_id)
        if current is None or not current.is_open:
            return None
        rid = current.id
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.round_hash(team_id), "status", "closed")
            pipe.hdel(keys.round_hash(team_id), "key")
            pipe.delete(*(keys.sent(team_id, rid, k, c) for k in keys.KINDS for c in (False, True)))
            await pipe.execute()
        await self.sessions.delete(
            keys.quiet(team_id, rid), *(keys.retries(team_id, rid, k) for k in keys.KINDS)
        )
        await self.due.drop(team_id)
        team = await self.team(team_id)
        settled = await self.pools.close(team_id, rid, team.parent if team else None)
        await self.mark_round(
            team_id,
            to_parent=str(settled.to_parent),
            dropped=str(settled.dropped),
            lost="1" if settled.lost else "0",
        )
        return await self.current_round(team_id)

    async def mark_round(self, team_id: str, **fields: str) -> None:
        await self.redis.hset(keys.round_hash(team_id), mapping=fields)

    async def open_round_key(self, team_id: str) -> tuple[str, str] | None:
        """The open round's id and key, or None."""
        status, round_id, key = await self.redis.hmget(keys.round_hash(team_id), "status", "id", "key")
        if status != b"open" or round_id is None or key is None:
            return None
        return round_id.decode(), key.decode()

    async def has_finished(self, team_id: str, round_id: str, token: str) -> bool:
        return await self.pools.has_finished(team_id, round_id, token)

    async def respondents(self, team_id: str, round_id: str) -> int:
        """Completed surveys in a round (internal: never shown; compared with k only)."""
        return int(await self.redis.hget(keys.counters(team_id), keys.round_total_field(round_id)) or 0)

    # --- audit ------------------------------------------------------------------------------
    async def audit(self, actor: str, action: str, team_id: str, at: datetime, detail: str = "") -> None:
        entry = {
            "at": at.isoformat(timespec="seconds"),
            "who": actor,
            "what": action,
            "team": team_id,
            "detail": detail,
        }
        await self.redis.xadd(keys.AUDIT, entry, maxlen=100_000, approximate=True)

    async def audit_log(self, count: int = 100) -> list[dict[str, str]]:
        rows = await self.redis.xrevrange(keys.AUDIT, count=count)
        return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in reversed(rows)]
