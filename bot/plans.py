"""A team's Stufenplan as its leads and the admins write it, the same on every surface (Slack
`/ruhepuls stufenplan …`, Telegram `/stufenplan …`, a Teams chat, the CLI):

    stufenplan <team>                   the current plan, as it is written
    stufenplan <team> vorlage|template  a plan to start from
    stufenplan <team> [de|en] <steps>   save: three to five steps, one per line or separated by
                                        `||`, each `signal | what the agent may do | who backs them`

Every save is the next version and is audited (who, which team, which version: never the text).
The first plan becomes the team's measure for conflict without backing (A), so the round after
four weeks checks back on it. Agents read it with "Was darf ich?" (flows, never counted per
person)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from classifier import Lang, day_text, stufenplan
from classifier.stufenplan import Plan, PlanError
from flows.errors import TeamError
from flows.plans import PlanStore

from .measures import Measures
from .runtime import Runtime
from .texts import say

WORDS = ("stufenplan",)
"""The command's first word (`stufenplan` alone, without a team, is an agent asking to read it)."""


def is_plan_command(text: str) -> bool:
    words = text.split()
    return len(words) >= 2 and words[0].lower().lstrip("/") in WORDS


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Plans:
    def __init__(self, rt: Runtime, clock: Callable[[], datetime] = _utcnow) -> None:
        self.rt, self.clock = rt, clock
        self.store = PlanStore(rt.redis)
        self.measures = Measures(rt, clock)

    async def run(self, actor: str, text: str, lang: Lang) -> str:
        """One command (its words after `stufenplan`), for `actor` ("slack:U1", "cli:root")."""
        team_id, rest = (text.strip().split(None, 1) + ["", ""])[:2]
        head, steps = (rest.split(None, 1) + ["", ""])[:2]  # split at any space or line break
        try:
            team = await self.measures.team_for(actor, team_id)
        except TeamError:
            return say("plan_refused", lang)
        lang = team.language if team.language in ("de", "en") else lang
        word = head.lower()
        if not word:
            return await self.show(team.id, lang)
        if word in ("vorlage", "template"):
            out: Lang = "en" if word == "template" else "de"
            return f"{say('plan_template', out)}\n\nstufenplan {team.id} {out}\n{stufenplan.template(out)}"
        written: Lang = team.language
        if word in ("de", "en"):
            written = "en" if word == "en" else "de"
        else:
            steps = rest  # no language named: the team's, and the first word is the plan's
        try:
            return await self.save(actor, team.id, written, steps, lang)
        except PlanError as exc:
            return say(exc.key, lang, **exc.params)

    async def show(self, team_id: str, lang: Lang) -> str:
        plan = await self.store.get(team_id)
        if plan is None:
            return say("plan_none_yet", lang, team=team_id)
        head = say(
            "plan_current",
            lang,
            team=team_id,
            version=plan.version,
            since=day_text(plan.since, lang),
            changed=day_text(plan.changed, lang),
        )
        parts = [head]
        for written in ("de", "en"):
            steps = getattr(plan, written)
            if steps:
                parts.append(f"stufenplan {team_id} {written}\n{stufenplan.written(steps)}")
        return "\n\n".join(parts)

    async def save(self, actor: str, team_id: str, written: Lang, text: str, lang: Lang) -> str:
        steps = stufenplan.parse(text)
        today = self.clock().date()
        before = await self.store.get(team_id)
        plan = (
            Plan.first(team_id, written, steps, today)
            if before is None
            else before.with_steps(written, steps, today)
        )
        await self.store.save(plan)
        await self.rt.teams.audit(
            actor, "stufenplan", team_id, self.clock(), f"version {plan.version} {written}"
        )
        lines = [say("plan_saved", lang, team=team_id, version=plan.version, written=written)]
        other = plan.en if written == "de" else plan.de
        if before is not None and (before.en if written == "de" else before.de) and other is None:
            lines.append(say("plan_other_dropped", lang))
        if await self._as_measure(actor, team_id, lang):
            lines.append(say("plan_measure", lang))
        return "\n".join(lines)

    async def _as_measure(self, actor: str, team_id: str, lang: Lang) -> bool:
        """Record the plan as the team's measure for A, unless one is planned or running."""
        current = await self.measures.store.all(team_id)
        if any(m.path == stufenplan.PATH and m.status in ("planned", "running") for m in current):
            return False
        role = say("measure_role_default", lang)
        await self.measures.choose(actor, team_id, path=stufenplan.PATH, role=role)
        return True
