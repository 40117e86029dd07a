"""Measures, the same on every surface (Slack modal, Telegram dialog, Teams card, CLI, the admin
command `measure`): who may change them, what a summary offers, choosing and changing one.

Only a team's leads and the admins (and the command line, which has the server's keys anyway)
may; every change, and every refused try, goes into the audit log with who made it. The record
holds no answers and nothing about a person (`classifier.measures`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from pydantic import ValidationError

from classifier import Lang, LoadType, day_text
from classifier.measures import STATUSES, Measure, Status, options, path_text
from flows.errors import TeamError
from flows.measures import MeasureStore
from flows.teams import Team

from .runtime import Runtime
from .texts import say


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Measures:
    def __init__(self, rt: Runtime, clock: Callable[[], datetime] = _utcnow) -> None:
        self.rt = rt
        self.store = MeasureStore(rt.redis, rt.sessions)
        self.clock = clock

    async def team_for(self, actor: str, team_id: str) -> Team:
        """The team, when `actor` may change its measures; TeamError otherwise (audited)."""
        team = await self.rt.teams.team(team_id)
        allowed = actor.startswith("cli:") or actor in self.rt.settings.admins
        if team is not None and (allowed or actor in team.leads):
            return team
        await self.rt.teams.audit(actor, "measure refused", team.id if team else "-", self.clock())
        raise TeamError("measure_refused")

    async def options(self, team_id: str) -> list[str]:
        """The support paths (`<type>.<index>`) matching the team's last summary (its bands are in
        the history from the moment its week is frozen, so a card posted with it can offer them)."""
        history = await self.rt.publications.history(team_id, last=1)
        return options(self.rt.conversations.config.questionnaire, history[-1].bands if history else None)

    def label(self, ref: str, lang: Lang) -> str:
        """A path as a lead chooses it: worded for the organisation."""
        text = path_text(self.rt.conversations.config.questionnaire, ref)
        return text.for_lead(lang) if text else ref

    async def choose(
        self,
        actor: str,
        team_id: str,
        *,
        path: str | None = None,
        text: str | None = None,
        role: str,
        check: str = "4w",
        due: str = "4w",
    ) -> tuple[Team, Measure]:
        """Save a new measure (running from today) for a team `actor` may change, and return
        both. TeamError names what is wrong; the lengths are the record's own (`Measure`)."""
        team = await self.team_for(actor, team_id)
        q = self.rt.conversations.config.questionnaire
        if (path is None and not text) or (path is not None and path_text(q, path) is None):
            raise TeamError("measure_need_what")
        today = self.clock().date()
        try:
            m = Measure(
                id=MeasureStore.new_id(),
                team=team.id,
                type=LoadType(path[0]) if path else None,
                path=path,
                text=None if path else text,
                role=role.strip(),
                chosen=today,
                check=_check_date(today, check),
                due=_weeks_or_date(today, due),
            )
        except ValidationError as exc:
            if any("names_someone" in str(e.get("msg", "")) for e in exc.errors()):
                raise TeamError("measure_names_someone") from exc
            wrong = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            raise TeamError("measure_bad_role" if "role" in wrong else "measure_need_what") from exc
        await self.store.save(m)
        await self.rt.teams.audit(
            actor, "measure add", team.id, self.clock(), f"{m.id} {m.path or 'own'} running"
        )
        return team, m

    async def set_status(self, actor: str, team_id: str, measure_id: str, status: str) -> Measure:
        team = await self.team_for(actor, team_id)
        if status not in STATUSES:
            raise TeamError("usage")
        s: Status = status
        m = await self.store.set_status(team.id, measure_id, s)
        if m is None:
            raise TeamError("measure_no_such", id=measure_id, team=team.id)
        await self.rt.teams.audit(actor, "measure status", team.id, self.clock(), f"{m.id} {status}")
        return m

    def saved(self, m: Measure, team: Team, lang: Lang) -> str:
        """The confirmation, for the lead channel."""
        check = (
            say("measure_when_date", lang, date=day_text(m.check, lang))
            if m.check
            else say("measure_when_next", lang)
        )
        what = m.what(self.rt.conversations.config.questionnaire, lang, lead=True).rstrip(".")
        return say(
            "measure_saved",
            lang,
            id=m.id,
            team=team.name,
            what=what,
            role=m.role,
            check=check,
            due=day_text(m.due, lang) if m.due else "–",
        )

    async def listing(self, actor: str, team_id: str, lang: Lang) -> str:
        team = await self.team_for(actor, team_id)
        q = self.rt.conversations.config.questionnaire
        rows = [
            say(
                "measure_row",
                lang,
                id=m.id,
                what=m.what(q, lang, lead=True).rstrip("."),
                role=m.role,
                since=day_text(m.chosen, lang),
                due=day_text(m.due, lang) if m.due else "–",
                status=m.status,
            )
            for m in await self.store.all(team.id)
        ]
        return "\n".join(rows) if rows else say("measure_none", lang, team=team.name)


def _check_date(today: date, check: str) -> date | None:
    return None if check == "next" else _weeks_or_date(today, check)


def _weeks_or_date(today: date, given: str) -> date:
    """`<n>w` (weeks from today, 1 to 52) or an ISO date from today on."""
    try:
        if (
            given.endswith("w")
            and given[:-1].isascii()
            and given[:-1].isdigit()
            and 1 <= int(given[:-1]) <= 52
        ):
            return today + timedelta(weeks=int(given[:-1]))
        day = date.fromisoformat(given)
    except ValueError as exc:
        raise TeamError("usage") from exc
    if day < today:
        raise TeamError("usage")
    return day
