"""A team's record of measures in Redis, and a lead's measure being chosen in a chat dialog.

The record holds what `classifier.measures.Measure` holds (no answers, nothing about a person);
every change is written to the audit log by the caller (`bot.measures`), with who made it.
"""

from __future__ import annotations

import json
import secrets
from datetime import date

from pydantic import ValidationError
from redis.asyncio import Redis

from classifier.measures import Measure, Status

from . import keys

DRAFT_SECONDS = 900


class MeasureStore:
    def __init__(self, redis: Redis, sessions: Redis | None = None) -> None:
        """`sessions`: where a lead's dialog keeps its draft (the sessions Redis, memory only)."""
        self.redis = redis
        self.sessions = sessions if sessions is not None else redis

    async def all(self, team_id: str) -> list[Measure]:
        """The team's measures, oldest first (an unreadable entry is left out, never raised)."""
        found = [_read(v) for v in (await self.redis.hgetall(keys.measures(team_id))).values()]
        return sorted((m for m in found if m is not None), key=lambda m: (m.chosen, m.id))

    async def get(self, team_id: str, measure_id: str) -> Measure | None:
        return _read(await self.redis.hget(keys.measures(team_id), measure_id))

    @staticmethod
    def new_id() -> str:
        return f"m{secrets.token_hex(3)}"

    async def save(self, m: Measure) -> None:
        await self.redis.hset(keys.measures(m.team), m.id, m.model_dump_json())

    async def set_status(self, team_id: str, measure_id: str, status: Status) -> Measure | None:
        m = await self.get(team_id, measure_id)
        if m is None:
            return None
        changed = m.model_copy(update={"status": status})
        await self.save(changed)
        return changed

    async def asked_in(self, team_id: str, round_opened: date) -> Measure | None:
        """The measure a round opened on this day checks back on: the latest running one whose
        check is due (one extra question per survey at most)."""
        due = [m for m in await self.all(team_id) if m.asks_in(round_opened)]
        return due[-1] if due else None

    # --- a lead's dialog (Telegram): a few fields, under their pseudonym, for minutes ----------
    async def draft(self, person: str) -> dict[str, str]:
        raw = await self.sessions.get(keys.measure_draft(person))
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    async def keep_draft(self, person: str, draft: dict[str, str]) -> None:
        await self.sessions.set(keys.measure_draft(person), json.dumps(draft), ex=DRAFT_SECONDS)

    async def drop_draft(self, person: str) -> None:
        await self.sessions.delete(keys.measure_draft(person))


def _read(raw: bytes | str | None) -> Measure | None:
    """A stored measure, or None for a missing or unreadable one."""
    try:
        return Measure.model_validate_json(raw) if raw is not None else None
    except ValidationError:
        return None
