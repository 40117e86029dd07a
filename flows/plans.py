"""Where a team's Stufenplan is kept (the data Redis, one key per team, beside its measures):
the current plan only, its version and dates; who wrote it is in the audit log, who read it
nowhere."""

from __future__ import annotations

from redis.asyncio import Redis

from classifier.stufenplan import Plan

from . import keys


class PlanStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, team_id: str) -> Plan | None:
        """The team's plan (None: none yet, or an entry that no longer reads)."""
        raw = await self.redis.get(keys.stufenplan(team_id))
        if not raw:
            return None
        try:
            return Plan.model_validate_json(raw)
        except ValueError:
            return None

    async def save(self, plan: Plan) -> None:
        await self.redis.set(keys.stufenplan(plan.team), plan.model_dump_json())

    async def drop(self, team_id: str) -> None:
        await self.redis.delete(keys.stufenplan(team_id))
