"""Admin commands, the same on every surface (Slack `/ruhepuls …`, Telegram `/round …`, CLI):

    team list
    round open <team> [days]
    round close <team>
    round status <team>
    summary <team>          (also for the team's leads) the next weekly summary, as it would be posted
    measures <team>         (also for the team's leads) the team's measures
    report <team> [weeks]   (also for the team's leads) a signed link to the team report page
    measure <team> <id> planned|running|done|dropped   (also for the team's leads)
    stufenplan <team> …     (also for the team's leads) the team's step plan (bot/plans.py)

Only the ids in RUHEPULS_ADMINS (and the command line, which has the server's keys anyway) may
run them; each run, and each refused try, is written to the audit log. No reply ever holds a
count or a name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from classifier import Lang, moment_text, number_text
from flows.errors import TeamError
from flows.schedule import next_allowed
from flows.store import REDIS_DOWN
from flows.teams import Round, Team

from .plans import Plans, is_plan_command
from .platform import platforms
from .runtime import Runtime
from .texts import say

log = logging.getLogger("ruhepuls.admin")

ADMIN_WORDS = {
    "team",
    "teams",
    "round",
    "runde",
    "summary",
    "bericht",
    "measure",
    "measures",
    "maßnahme",
    "maßnahmen",
}
KNOWN = {"team list", "round open", "round close", "round status", "summary preview"}
"""The commands a refused try may be logged as."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def is_admin_command(text: str) -> bool:
    """A command for leads and admins (`stufenplan` alone is an agent asking to read the plan)."""
    words = text.strip().lower().split()
    return bool(words) and (words[0] in ADMIN_WORDS or is_plan_command(text))


def _local(at: datetime, tz: str, lang: Lang) -> str:
    return moment_text(at.astimezone(ZoneInfo(tz)), lang)


class Admin:
    def __init__(self, rt: Runtime, clock: Callable[[], datetime] = _utcnow) -> None:
        self.rt = rt
        self.clock = clock

    def allowed(self, actor: str) -> bool:
        return actor.startswith("cli:") or actor in self.rt.settings.admins

    async def _refuse(self, actor: str, what: str, team_id: str, lang: Lang) -> str:
        """Log and audit a refused try. Only a known command and an existing team id go into the
        log and the audit log: whatever else someone typed is never written anywhere."""
        what = what if what in KNOWN else "admin command"
        team = team_id if await self.rt.teams.team(team_id) is not None else "-"
        log.info("%s refused", what)
        await self.rt.teams.audit(actor, f"{what} refused", team, self.clock())
        return say("refused", lang)

    async def run(self, actor: str, text: str, lang: str = "de") -> str:
        """Run one admin command for `actor` ("slack:U1", "telegram:42", "cli:root")."""
        lg: Lang = "en" if lang == "en" else "de"
        if is_plan_command(text):
            return await Plans(self.rt, self.clock).run(actor, text.strip().split(None, 1)[1], lg)
        words = text.split()
        if len(words) == 2 and words[0].lower() in ("summary", "bericht"):
            return await self.summary(actor, words[1], lg)
        if words and words[0].lower() in ("measure", "measures", "maßnahme", "maßnahmen"):
            return await self.measure(actor, words[1:], lg)
        if len(words) in (2, 3) and words[0].lower() in ("report", "teambericht"):
            weeks = int(words[2]) if words[2:] and words[2].isdigit() else None
            return await self.report_link(actor, words[1], weeks, lg)
        verb = " ".join(w.lower() for w in words[:2])
        args = words[2:]
        if not self.allowed(actor):
            return await self._refuse(actor, verb, args[0] if args else "-", lg)
        try:
            if verb in ("team list", "teams list") or verb in ("teams", "team"):
                return await self._team_list(lg)
            if verb in ("round open", "runde öffnen") and args:
                days = int(args[1]) if len(args) > 1 else self.rt.settings.round_days
                return await self.open_round(actor, args[0], days, lg)
            if verb in ("round close", "runde schließen") and args:
                return await self.close_round(actor, args[0], lg)
            if verb in ("round status", "runde status") and args:
                return await self.status(actor, args[0], lg)
        except ValueError:
            pass
        except TeamError as exc:
            return say(exc.key, lg, **exc.params)
        return say("usage", lg)

    async def summary(self, actor: str, team_id: str, lang: Lang) -> str:
        from .weekly import preview

        team = await self.rt.teams.team(team_id)
        if not self.allowed(actor) and (team is None or actor not in team.leads):
            return await self._refuse(actor, "summary preview", team_id, lang)
        if team is None:
            return say("no_team", lang, team=team_id)
        await self.rt.teams.audit(actor, "summary preview", team_id, self.clock())
        return await preview(self.rt, team_id, self.clock()) or ""

    async def measure(self, actor: str, args: list[str], lang: Lang) -> str:
        """List a team's measures, or change one's status (leads of the team and admins)."""
        from .measures import Measures

        measures = Measures(self.rt, self.clock)
        try:
            if len(args) == 1:
                return await measures.listing(actor, args[0], lang)
            if len(args) == 3:
                m = await measures.set_status(actor, args[0], args[1], args[2].lower())
                return say("measure_status_set", lang, id=m.id, status=m.status)
        except TeamError as exc:
            return say(exc.key, lang, **exc.params)
        return say("usage", lang)

    async def report_link(self, actor: str, team_id: str, weeks: int | None, lang: Lang) -> str:
        """A signed link to the team report page over the last `weeks` weeks (default: half a
        year), for the team's leads and the admins."""
        from .measures import Measures
        from .report_link import REPORT_WEEKS, recent_link
        from .texts import report_texts as texts

        try:
            team = await Measures(self.rt, self.clock).team_for(actor, team_id)
        except TeamError as exc:
            return say(exc.key, lang)
        await self.rt.teams.audit(actor, "report link", team.id, self.clock())
        url = await recent_link(self.rt, team.id, team.language, weeks or REPORT_WEEKS)
        days = self.rt.settings.report_link_days
        return texts()("link_line", lang, days=days, url=url)

    async def _team_list(self, lang: Lang) -> str:
        teams = await self.rt.teams.teams()
        if not teams:
            return say("no_teams", lang)
        return "\n".join(f"{t.id}: {t.name} ({t.platform})" for t in teams)

    async def _team(self, team_id: str) -> Team:
        team = await self.rt.teams.team(team_id)
        if team is None:
            raise TeamError("no_team", team=team_id)
        return team

    async def open_round(self, actor: str, team_id: str, days: int, lang: Lang) -> str:
        team = await self._team(team_id)
        tz = team.timezone
        if not 1 <= days <= 90:
            raise TeamError("days_range")
        platform = platforms().get(team.platform)
        if platform is not None and (why := await platform.unreachable(self.rt, team, lang)):
            return why
        now = self.clock()
        r = await self.rt.teams.open_round(team_id, now, now + timedelta(days=days))
        await self.rt.teams.audit(actor, "round open", team_id, now, f"{r.id} {days}d")
        start = next_allowed(now, tz, self.rt.settings.sending_hours)
        opened = say(
            "round_opened",
            lang,
            round=r.id,
            team=team_id,
            ends=_local(r.ends, tz, lang),
            when=_local(start, tz, lang),
        )
        try:
            await self.rt.enqueue_invitations(team_id)
        except REDIS_DOWN as exc:  # the round is open: the worker's next tick invites all the same
            log.warning("invitation job not queued: %s", type(exc).__name__)
            return f"{opened} {say('queue_down', lang)}"
        return opened

    async def close_round(self, actor: str, team_id: str, lang: Lang) -> str:
        await self._team(team_id)
        closed = await self.rt.close_round(team_id, actor, self.clock())
        if closed is None:
            return say("no_round_open", lang)
        parent = (await self._team(team_id)).parent
        return " ".join([say("round_closed", lang, round=closed.id), *self._pool_lines(closed, parent, lang)])

    async def status(self, actor: str, team_id: str, lang: Lang) -> str:
        """Open or closed, and, only once closed, whether k people got a result: never a live
        bit that flips at the moment one more person finishes."""
        team = await self._team(team_id)
        await self.rt.teams.audit(actor, "round status", team_id, self.clock())
        r = await self.rt.teams.current_round(team_id)
        if r is None:
            return say("no_round_yet", lang)
        ends = _local(r.ends, team.timezone, lang)
        if r.is_open:
            state, part = say("state_open", lang, ends=ends), say("part_later", lang)
        else:
            k = self.rt.settings.min_group_size
            enough = await self.rt.teams.respondents(team_id, r.id) >= k
            state = say("state_closed", lang, ends=ends)
            part = say("part_enough", lang, k=k) if enough else say("part_not_enough", lang)
        lines = [say("status", lang, round=r.id, team=team_id, state=state, part=part)]
        if r.is_open and not r.invited:
            lines.append(say("not_invited_yet", lang))
        if r.failed:
            lines.append(say("send_failed", lang, n=number_text(r.failed, lang), code=r.failed_code or "?"))
        if r.unreachable:
            lines.append(
                say("unreachable_one", lang)
                if r.unreachable == 1
                else say("unreachable", lang, n=number_text(r.unreachable, lang))
            )
        platform = platforms().get(team.platform)
        if r.is_open and platform is not None and (why := await platform.unreachable(self.rt, team, lang)):
            lines.append(why)  # e.g. the app was removed from the team since: nobody is being invited
        lines += self._pool_lines(r, team.parent, lang)
        return " ".join(lines)

    def _pool_lines(self, r: Round, parent: str | None, lang: Lang) -> list[str]:
        """What closing the round did with results that never made a group of k (numbers only)."""
        k = self.rt.settings.min_group_size
        out = []
        if r.to_parent:
            out.append(say("pool_to_parent", lang, k=k, parent=parent or "-"))
        if r.dropped:
            out.append(say("pool_dropped", lang, n=number_text(r.dropped, lang), k=k))
        if r.lost:
            out.append(say("pool_lost", lang, k=k, most=k - 1))
        return out
