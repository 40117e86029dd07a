"""The web chat: the survey in a phone's browser, reached by a team's link or the QR code on a
poster, for agents without Slack, Teams or Telegram at work. No account anywhere: a random id in
a cookie stands for the browser while its survey is in progress."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter

from classifier import Lang
from classifier.text import TextCatalog
from flows import messages as msg
from flows.teams import Team

from ..platform import Delivery, Member, Outreach, Platform
from ..settings import Settings
from .settings import WebChatSettings

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["PLATFORM"]


class Nobody:
    """A browser cannot be written to first: members come by the team's link, and nobody is
    invited or reminded (the poster and the link do that); leads read summaries elsewhere."""

    in_flight = 1

    async def members(self, team: Team) -> list[Member]:
        return []

    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery:
        return "gone"

    async def delivered(self, member: Member, tag: str) -> bool | None:
        return None

    async def post_summary(self, team: Team, text: str, chart: bytes | None) -> bool:
        return False

    async def tidy(self) -> None:
        return None


class WebChat(Platform):
    name = "web"
    settings = WebChatSettings
    joins_by_link = True
    invites = False  # a poster or a link: nobody is written to

    async def join_url(self, rt: Runtime, code: str) -> str:
        return f"{rt.settings.base_url}/j/{code}"

    async def notes(self, rt: Runtime, team: Team, lang: Lang) -> list[str]:
        if not team.join_code:
            return []
        return [f"members join with the link {await self.join_url(rt, team.join_code)}"]

    def data_sheet(self, settings: Settings, lang: Lang) -> str | None:
        from .texts import web_texts

        return web_texts()("data_sheet", lang)

    def texts(self) -> TextCatalog:
        from .texts import web_texts

        return web_texts()

    def commands(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        verbs = sub.add_parser("web", help="the web chat: a team's link as a printable poster with a QR code")
        verb = verbs.add_subparsers(dest="web_command", required=True)
        poster = verb.add_parser(
            "poster", help="write an A4 poster (PDF) whose QR code opens a new link of the team"
        )
        poster.add_argument("--team", required=True)
        poster.add_argument("--out", default="ruhepuls-poster.pdf", help="where to write the PDF")
        poster.add_argument(
            "--days", type=int, default=None, help="how long the link is valid (default: no limit)"
        )
        poster.add_argument(
            "--uses", type=int, default=None, help="how often it may be used (default: no limit)"
        )

    def run(self, settings: Settings, args: argparse.Namespace) -> None:
        import asyncio

        from flows.errors import TeamError

        from ..runtime import runtime
        from ..texts import say
        from .poster import poster

        async def main() -> tuple[str, Lang] | str:
            async with runtime(settings) as rt:
                team = await rt.teams.team(args.team)
                if team is None or team.platform != self.name:
                    return f"ruhepuls: no web chat team {args.team}"
                try:
                    code = await rt.teams.members.join_link(team.id, days=args.days, uses=args.uses)
                except TeamError as exc:
                    return f"ruhepuls: {say(exc.key, settings.language)}"
                await rt.teams.audit(
                    f"cli:{getpass.getuser()}",
                    "web poster",
                    team.id,
                    datetime.now(UTC),
                    f"days={args.days} uses={args.uses}",
                )
                return await self.join_url(rt, code), team.language

        made = asyncio.run(main())
        if isinstance(made, str):
            sys.exit(made)
        url, lang = made
        with open(args.out, "wb") as out:
            out.write(poster(url, lang, settings.min_group_size))
        print(f"wrote {args.out}: its QR code opens {url}")

    async def receive(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> APIRouter | None:
        from .app import router

        return router(rt)

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        return Nobody()


PLATFORM = WebChat()
