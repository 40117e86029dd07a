"""Admin commands, the same on every surface (Slack `/ruhepuls …`, Telegram `/round …`, CLI):

    team list
    round open <team> [days]
    round close <team>
    round status <team>
    summary <team>          (also for the team's leads) the next weekly summary, as it would be posted

Only the ids in RUHEPULS_ADMINS (and the command line, which has the server's keys anyway) may
run them; each run is written to the audit log. No reply ever holds a count or a name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flows.schedule import next_allowed
from flows.teams import TeamError

from .runtime import Runtime

log = logging.getLogger("ruhepuls.admin")

ADMIN_WORDS = {"team", "teams", "round", "runde", "summary", "bericht"}
USAGE = {
    "de": "Admin-Befehle: team list · round open <team> [tage] · round close <team> · round status <team> · summary <team>",
    "en": "Admin commands: team list · round open <team> [days] · round close <team> · round status <team> · summary <team>",
}
REFUSED = {
    "de": "Das dürfen nur Admins von Ruhepuls. Wenn Sie eine Runde brauchen, wenden Sie sich an sie.",
    "en": "Only Ruhepuls admins may do that. If you need a round, please ask one of them.",
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def is_admin_command(text: str) -> bool:
    words = text.strip().lower().split()
    return bool(words) and words[0] in ADMIN_WORDS


class Admin:
    def __init__(self, rt: Runtime, clock: Callable[[], datetime] = _utcnow) -> None:
        self.rt = rt
        self.clock = clock

    def allowed(self, actor: str) -> bool:
        return actor.startswith("cli:") or actor in self.rt.settings.admins

    async def run(self, actor: str, text: str, lang: str = "de") -> str:
        """Run one admin command for `actor` ("slack:U1", "telegram:42", "cli:root")."""
        lang = "en" if lang == "en" else "de"
        words = text.split()
        if len(words) == 2 and words[0].lower() in ("summary", "bericht"):
            return await self.summary(actor, words[1], lang)
        if not self.allowed(actor):
            log.info("admin command refused")
            return REFUSED[lang]
        verb = " ".join(w.lower() for w in words[:2])
        args = words[2:]
        try:
            if verb in ("team list", "teams list") or verb in ("teams", "team"):
                return await self._team_list(lang)
            if verb in ("round open", "runde öffnen") and args:
                days = int(args[1]) if len(args) > 1 else self.rt.settings.round_days
                return await self.open_round(actor, args[0], days, lang)
            if verb in ("round close", "runde schließen") and args:
                return await self.close_round(actor, args[0], lang)
            if verb in ("round status", "runde status") and args:
                return await self.status(actor, args[0], lang)
        except ValueError:
            pass
        except TeamError as exc:
            return str(exc)
        return USAGE[lang]

    async def summary(self, actor: str, team_id: str, lang: str) -> str:
        from .reports import preview

        team = await self.rt.teams.team(team_id)
        if not self.allowed(actor) and (team is None or actor not in team.leads):
            log.info("summary preview refused")
            return REFUSED[lang]
        if team is None:
            return f"Team {team_id!r} gibt es nicht." if lang == "de" else f"There is no team {team_id!r}."
        await self.rt.teams.audit(actor, "summary preview", team_id, self.clock())
        return await preview(self.rt, team_id, self.clock()) or ""

    async def _team_list(self, lang: str) -> str:
        teams = await self.rt.teams.teams()
        if not teams:
            return "Noch keine Teams." if lang == "de" else "No teams yet."
        return "\n".join(f"{t.id}: {t.name} ({t.platform})" for t in teams)

    async def _team(self, team_id: str, lang: str) -> str:
        team = await self.rt.teams.team(team_id)
        if team is None:
            raise TeamError(
                f"Team {team_id!r} gibt es nicht." if lang == "de" else f"There is no team {team_id!r}."
            )
        return team.timezone

    async def open_round(self, actor: str, team_id: str, days: int, lang: str) -> str:
        tz = await self._team(team_id, lang)
        if not 1 <= days <= 90:
            raise TeamError("1–90 Tage." if lang == "de" else "1–90 days.")
        now = self.clock()
        r = await self.rt.teams.open_round(team_id, now, now + timedelta(days=days))
        await self.rt.teams.audit(actor, "round open", team_id, now, f"{r.id} {days}d")
        await self.rt.enqueue_invitations(team_id)
        ends = r.ends.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")
        start = next_allowed(now, tz, self.rt.settings.sending_hours).astimezone(ZoneInfo(tz))
        when = start.strftime("%d.%m.%Y %H:%M")
        if lang == "de":
            return f"Runde {r.id} für {team_id} ist offen bis {ends}. Die Einladungen gehen ab {when} hinaus."
        return f"Round {r.id} for {team_id} is open until {ends}. Invitations go out from {when}."

    async def close_round(self, actor: str, team_id: str, lang: str) -> str:
        await self._team(team_id, lang)
        closed = await self.rt.teams.close_round(team_id)
        await self.rt.teams.audit(actor, "round close", team_id, self.clock(), closed.id if closed else "-")
        if closed is None:
            return "Es ist keine Runde offen." if lang == "de" else "No round is open."
        return f"Runde {closed.id} ist geschlossen." if lang == "de" else f"Round {closed.id} is closed."

    async def status(self, actor: str, team_id: str, lang: str) -> str:
        tz = await self._team(team_id, lang)
        await self.rt.teams.audit(actor, "round status", team_id, self.clock())
        r = await self.rt.teams.current_round(team_id)
        if r is None:
            return (
                "Für dieses Team gab es noch keine Runde."
                if lang == "de"
                else "This team has had no round yet."
            )
        k = self.rt.settings.min_group_size
        enough = await self.rt.teams.respondents(team_id, r.id) >= k
        ends = r.ends.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")
        if lang == "de":
            state = f"offen bis {ends}" if r.is_open else f"geschlossen (Ende {ends})"
            part = (
                f"genug Antworten für eine Auswertung (mindestens {k})"
                if enough
                else "noch nicht genug Antworten für eine Auswertung"
            )
            return f"Runde {r.id} für {team_id}: {state}. Teilnahme: {part}."
        state = f"open until {ends}" if r.is_open else f"closed (ended {ends})"
        part = (
            f"enough responses for a summary (at least {k})"
            if enough
            else "not enough responses for a summary yet"
        )
        return f"Round {r.id} for {team_id}: {state}. Participation: {part}."
