"""`ruhepuls team …`, `ruhepuls round …` and `ruhepuls audit`: the admin commands on the
command line. Whoever can run them holds the server's keys, so they count as admin (audited
as `cli:<os user>`)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from classifier.measures import STATUSES
from flows.errors import TeamError
from flows.teams import Team

from .admin import Admin
from .platform import platforms
from .runtime import Runtime, runtime
from .settings import Settings
from .texts import say


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    team = sub.add_parser("team", help="define teams (admins)")
    tsub = team.add_subparsers(dest="team_command", required=True)
    add = tsub.add_parser("add", help="add or change a team")
    add.add_argument("id")
    add.add_argument("--name", required=True)

    add.add_argument(
        "--platform", choices=sorted(n for n, p in platforms().items() if p.has_teams), required=True
    )
    add.add_argument(
        "--channel", help="Slack: the channel whose members form the team; Teams: the team (or channel) id"
    )
    add.add_argument(
        "--workspace",
        help="Slack installed in several workspaces (OAuth): the workspace id (T…) the channels are in",
    )
    add.add_argument(
        "--lead-channel", help="where weekly summaries go (Slack or Teams channel id / Telegram chat id)"
    )
    add.add_argument("--lang", choices=["de", "en"], default=None, help="default: RUHEPULS_LANGUAGE")
    add.add_argument("--tz", default=None, help="the team's time zone (default: RUHEPULS_TIMEZONE)")
    add.add_argument("--parent", help="the team this one reports into when it is too small on its own")
    add.add_argument(
        "--lead",
        action="append",
        default=[],
        help="a lead who may preview summaries, e.g. slack:U123 (repeatable)",
    )
    tsub.add_parser("list", help="list teams")
    link = tsub.add_parser(
        "link", help="Telegram and web chat: a new join link, limited in time or uses, or personal ones"
    )
    link.add_argument("id")
    link.add_argument("--days", type=int, default=14, help="valid this many days (default 14, at most 365)")
    link.add_argument("--uses", type=int, default=50, help="valid for this many joins (default 50)")
    link.add_argument(
        "--personal", type=int, default=None, metavar="N", help="N single-use links, one per member"
    )
    joined = tsub.add_parser(
        "joined", help="Telegram and web chat: how many people joined the team by a link"
    )
    joined.add_argument("id")
    rm = tsub.add_parser("remove", help="remove a team")
    rm.add_argument("id")

    rnd = sub.add_parser("round", help="open, close or check a survey round (admins)")
    rsub = rnd.add_subparsers(dest="round_command", required=True)
    for name in ("open", "close", "status"):
        p = rsub.add_parser(name)
        p.add_argument("--team", required=True)
        if name == "open":
            p.add_argument("--days", type=int, default=None)

    summary = sub.add_parser("summary", help="weekly team summaries")
    ssub = summary.add_subparsers(dest="summary_command", required=True)
    prev = ssub.add_parser("preview", help="show exactly what the team's next weekly post would say")
    prev.add_argument("--team", required=True)

    measure = sub.add_parser("measure", help="a team's measures after a summary (admins; leads in the chat)")
    msub = measure.add_subparsers(dest="measure_command", required=True)
    madd = msub.add_parser("add", help="record a measure the team takes on")
    madd.add_argument("--team", required=True)
    what = madd.add_mutually_exclusive_group(required=True)
    what.add_argument("--path", help="a support path as <type>.<index>, e.g. B.1 (see `measure options`)")
    what.add_argument("--text", help="the measure in your own words (3-280 characters)")
    madd.add_argument("--role", required=True, help="who is responsible: a role, not a name")
    madd.add_argument(
        "--check",
        default="4w",
        help="4w (default: no earlier than four weeks), next, 8w or a date YYYY-MM-DD",
    )
    madd.add_argument(
        "--due", default="4w", help="by when it is in place: <n>w (default 4w) or a date YYYY-MM-DD"
    )
    mopt = msub.add_parser("options", help="the support paths matching the team's last summary")
    mopt.add_argument("--team", required=True)
    mlist = msub.add_parser("list", help="the team's measures")
    mlist.add_argument("--team", required=True)
    mstat = msub.add_parser("status", help="change a measure's status")
    mstat.add_argument("--team", required=True)
    mstat.add_argument("--id", required=True)
    mstat.add_argument("status", choices=STATUSES)

    report = sub.add_parser(
        "report", help="the team report for the risk-assessment file (PDF or signed link)"
    )
    report.add_argument("--team", required=True)
    report.add_argument("--from", dest="start", default=None, help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="end", default=None, help="last day, YYYY-MM-DD")
    report.add_argument("--lang", choices=["de", "en"], default=None, help="default: the team's language")
    report.add_argument("--out", default=None, help="the PDF to write (default: ruhepuls-<team>.pdf)")
    report.add_argument("--link", action="store_true", help="print a signed link to the report page instead")
    report.add_argument(
        "--days", type=int, default=None, help="how long the link is valid (default 14, at most 90)"
    )
    report.add_argument("--revoke", action="store_true", help="make every report link of the team invalid")

    plan = sub.add_parser(
        "stufenplan", help="the team's step plan: show it, print a template, or save it from a file or stdin"
    )
    plan.add_argument("--team", required=True)
    plan.add_argument("--template", action="store_true", help="print a plan to start from")
    plan.add_argument("--lang", choices=["de", "en"], default=None, help="the language it is written in")
    plan.add_argument("--file", default=None, help="save the steps in this file ('-': stdin), one per line")
    plan.add_argument("--pdf", default=None, help="write the plan as a one-page PDF to this file")

    audit = sub.add_parser("audit", help="show the audit log of admin actions")
    audit.add_argument("--count", type=int, default=50)


async def _links(rt: Runtime, admin: Admin, actor: str, args: argparse.Namespace) -> str:
    team = await rt.teams.team(args.id)
    platform = platforms().get(team.platform) if team else None
    if team is None or platform is None or not platform.joins_by_link:
        return f"no team {args.id} whose members join by a link"
    if args.team_command == "joined":
        await rt.teams.audit(actor, "team joined", team.id, admin.clock())
        return f"{await rt.teams.members.joined_count(team.id)} joined {team.id} by a link"
    count, uses = (args.personal, 1) if args.personal else (1, args.uses)
    if not 1 <= count <= 1000:
        return "--personal takes 1 to 1000"
    try:
        codes = [await rt.teams.members.join_link(team.id, days=args.days, uses=uses) for _ in range(count)]
    except TeamError as exc:
        return say(exc.key, rt.settings.language, **exc.params)
    await rt.teams.audit(actor, "team link", team.id, admin.clock(), f"{count}x days={args.days} uses={uses}")
    return "\n".join([await platform.join_url(rt, c) for c in codes])


async def _measure(rt: Runtime, actor: str, args: argparse.Namespace) -> str:
    from .measures import Measures

    measures, lang = Measures(rt), rt.settings.language
    try:
        if args.measure_command == "options":
            await measures.team_for(actor, args.team)
            return "\n".join(
                f"{ref}: {measures.label(ref, lang)}" for ref in await measures.options(args.team)
            )
        if args.measure_command == "list":
            return await measures.listing(actor, args.team, lang)
        if args.measure_command == "status":
            m = await measures.set_status(actor, args.team, args.id, args.status)
            return say("measure_status_set", lang, id=m.id, status=m.status)
        team, m = await measures.choose(
            actor, args.team, path=args.path, text=args.text, role=args.role, check=args.check, due=args.due
        )
        return measures.saved(m, team, lang)
    except TeamError as exc:
        sys.exit("ruhepuls: " + say(exc.key, lang, **exc.params))


async def _report(rt: Runtime, actor: str, args: argparse.Namespace) -> str:
    from datetime import date

    from .report import gather, pdf
    from .report_link import link

    if args.revoke:
        team = await rt.teams.team(args.team)
        if team is None:
            sys.exit(f"ruhepuls: no team {args.team}")
        await rt.teams.save_team(team.model_copy(update={"report_key": None}))  # a new key
        await rt.teams.audit(actor, "report links revoked", args.team, datetime.now(UTC))
        return f"every report link of {args.team} is revoked"
    try:
        start, end = date.fromisoformat(args.start or ""), date.fromisoformat(args.end or "")
    except ValueError:
        sys.exit("ruhepuls: --from and --to take dates as YYYY-MM-DD")
    r = await gather(rt, args.team, start, end, args.lang)
    if r is None:
        sys.exit(f"ruhepuls: no team {args.team}")
    await rt.teams.audit(actor, "report link" if args.link else "report pdf", args.team, datetime.now(UTC))
    if args.link:
        try:
            return await link(rt, args.team, start, end, r.lang, args.days or rt.settings.report_link_days)
        except ValueError as exc:
            sys.exit(f"ruhepuls: {exc}")
    out = args.out or f"ruhepuls-{args.team}.pdf"
    with open(out, "wb") as f:
        f.write(pdf(rt.conversations.config.questionnaire, r))
    return f"wrote {out}"


async def _plan(rt: Runtime, actor: str, args: argparse.Namespace) -> str:
    """`ruhepuls stufenplan`: the same command as in the chat, with the steps from a file."""
    from .plans import Plans

    lang = args.lang or rt.settings.language
    if args.pdf:
        from flows.plans import PlanStore

        from .plan_pdf import plan_pdf

        team = await rt.teams.team(args.team)
        plan = await PlanStore(rt.redis).get(args.team) if team is not None else None
        if team is None or plan is None:
            return say("plan_none_yet", "en" if lang == "en" else "de", team=args.team)
        Path(args.pdf).write_bytes(plan_pdf(plan, team.name, args.lang or team.language))
        return str(args.pdf)
    if args.template:
        words = "template" if lang == "en" else "vorlage"
    elif args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        words = f"{args.lang}\n{text}" if args.lang else text
    else:
        words = ""
    return await Plans(rt).run(actor, f"{args.team} {words}", "en" if lang == "en" else "de")


def run(settings: Settings, args: argparse.Namespace) -> None:
    actor = f"cli:{getpass.getuser()}"

    async def main() -> str:
        async with runtime(settings) as rt:
            admin = Admin(rt)
            if args.command == "audit":
                rows = await rt.teams.audit_log(args.count)
                return "\n".join(
                    f"{r['at']}  {r['who']}  {r['what']}  {r['team']}  {r.get('detail', '')}" for r in rows
                )
            if args.command == "measure":
                return await _measure(rt, actor, args)
            if args.command == "report":
                return await _report(rt, actor, args)
            if args.command == "stufenplan":
                return await _plan(rt, actor, args)
            if args.command == "summary":
                return await admin.run(actor, f"summary {args.team}", settings.language)
            if args.command == "round":
                days = getattr(args, "days", None) or settings.round_days
                text = {
                    "open": f"round open {args.team} {days}",
                    "close": f"round close {args.team}",
                    "status": f"round status {args.team}",
                }[args.round_command]
                return await admin.run(actor, text, settings.language)
            if args.team_command == "list":
                return await admin.run(actor, "team list", settings.language)
            if args.team_command in ("link", "joined"):
                return await _links(rt, admin, actor, args)
            if args.team_command == "remove":
                gone = await rt.teams.remove_team(args.id, rt.sessions)
                if gone is None:
                    return f"no team {args.id}"
                await rt.teams.audit(actor, "team remove", args.id, admin.clock())
                kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(gone.items()) if n)
                return f"removed {args.id}: {kinds or 'nothing else was stored'}"
            try:
                team = Team(
                    id=args.id,
                    name=args.name,
                    platform=args.platform,
                    channel=args.channel,
                    workspace=args.workspace,
                    lead_channel=args.lead_channel,
                    language=args.lang or settings.language,
                    timezone=args.tz or settings.timezone,
                    parent=args.parent,
                    leads=tuple(args.lead),
                )
            except ValidationError as exc:
                sys.exit("ruhepuls: " + "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
            platform = platforms().get(team.platform)
            saved = await rt.teams.save_team(
                platform.prepare(team) if platform else team,
                join_link=bool(platform and platform.joins_by_link),
            )
            await rt.teams.audit(actor, "team add", saved.id, admin.clock())
            notes = await platform.notes(rt, saved, settings.language) if platform else []
            return ". ".join([f"team {saved.id} saved ({saved.platform})", *notes])

    print(asyncio.run(main()))
