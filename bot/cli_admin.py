"""`ruhepuls team …`, `ruhepuls round …` and `ruhepuls audit`: the admin commands on the
command line. Whoever can run them holds the server's keys, so they count as admin (audited
as `cli:<os user>`)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from pydantic import ValidationError

from flows.teams import Team, TeamError

from .admin import Admin
from .runtime import Runtime, runtime
from .settings import Settings
from .texts import say


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    team = sub.add_parser("team", help="define teams (admins)")
    tsub = team.add_subparsers(dest="team_command", required=True)
    add = tsub.add_parser("add", help="add or change a team")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    from .platform import platforms

    add.add_argument("--platform", choices=sorted(platforms()), required=True)
    add.add_argument(
        "--channel", help="Slack: the channel whose members form the team; Teams: the team (or channel) id"
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
        "link", help="Telegram: a new join link, limited in time or uses, or personal ones"
    )
    link.add_argument("id")
    link.add_argument("--days", type=int, default=None, help="valid this many days (default: no limit)")
    link.add_argument("--uses", type=int, default=None, help="valid for this many joins (default: no limit)")
    link.add_argument("--personal", type=int, default=None, metavar="N",
                      help="N single-use links, one per member")  # fmt: skip
    joined = tsub.add_parser("joined", help="Telegram: how many people joined the team by a link")
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

    audit = sub.add_parser("audit", help="show the audit log of admin actions")
    audit.add_argument("--count", type=int, default=50)


async def _links(rt: Runtime, admin: Admin, actor: str, args: argparse.Namespace) -> str:
    team = await rt.teams.team(args.id)
    if team is None or team.platform != "telegram":
        return f"no Telegram team {args.id}"
    if args.team_command == "joined":
        await rt.teams.audit(actor, "team joined", team.id, admin.clock())
        return f"{await rt.teams.joined_count(team.id)} joined {team.id} by a link"
    count, uses = (args.personal, 1) if args.personal else (1, args.uses)
    if not 1 <= count <= 1000:
        return "--personal takes 1 to 1000"
    try:
        codes = [await rt.teams.join_link(team.id, days=args.days, uses=uses) for _ in range(count)]
    except TeamError as exc:
        return say(exc.key, rt.settings.language, **exc.params)
    await rt.teams.audit(actor, "team link", team.id, admin.clock(), f"{count}x days={args.days} uses={uses}")
    return "\n".join(f"https://t.me/<your_bot>?start={c}" for c in codes)


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
            if args.command == "summary":
                return await admin.run(actor, f"summary {args.team}", settings.language)
            if args.command == "round":
                days = getattr(args, "days", None) or settings.round_days
                text = {"open": f"round open {args.team} {days}", "close": f"round close {args.team}",
                        "status": f"round status {args.team}"}[args.round_command]  # fmt: skip
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
                    id=args.id, name=args.name, platform=args.platform, channel=args.channel,
                    lead_channel=args.lead_channel, language=args.lang or settings.language,
                    timezone=args.tz or settings.timezone, parent=args.parent, leads=tuple(args.lead),
                )  # fmt: skip
            except ValidationError as exc:
                sys.exit("ruhepuls: " + "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
            saved = await rt.teams.save_team(team)
            await rt.teams.audit(actor, "team add", saved.id, admin.clock())
            line = f"team {saved.id} saved ({saved.platform})"
            if saved.join_code:
                line += f"; members join with the link https://t.me/<your_bot>?start={saved.join_code}"
            return line

    print(asyncio.run(main()))
