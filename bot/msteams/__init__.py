"""Microsoft Teams: verified activities in, Adaptive Cards out (microsoft-teams-apps)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from typing import TYPE_CHECKING

from fastapi import APIRouter

from classifier import Lang
from classifier.text import TextCatalog
from flows.teams import Team

from ..platform import Check, Outreach, Platform, webhook
from ..settings import Settings
from .settings import TeamsSettings

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["PLATFORM"]


class Teams(Platform):
    name = "teams"
    settings = TeamsSettings
    loggers = (
        "microsoft_teams",
        "microsoft_teams.common.http.client",
    )  # the latter copies its level onto httpx
    terse_loggers = ("microsoft_teams",)

    def refuse_serving(self, settings: Settings) -> str | None:
        if not settings.section(TeamsSettings).allow_unauthenticated:
            return None
        if settings.public:
            return (
                "TEAMS_DANGEROUSLY_ALLOW_UNAUTHENTICATED accepts forged Teams activities; it is refused "
                "with a public HOST (use it only on 127.0.0.1 with the Bot Framework Emulator on this "
                "machine; behind a tunnel, use the bot's real credentials)"
            )
        logging.getLogger("ruhepuls").warning(
            "TEAMS_DANGEROUSLY_ALLOW_UNAUTHENTICATED is set: Teams activities are NOT verified. "
            "Development only: answered only for a serviceUrl on this machine, never through a proxy."
        )
        return None

    def commands(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        verbs = sub.add_parser("teams", help="Microsoft Teams: write the app package for the admin center")
        verb = verbs.add_subparsers(dest="teams_command", required=True)
        package = verb.add_parser("package", help="write the Teams app package (zip) to upload")
        package.add_argument(
            "--url", required=True, help="the bot's public https address (its /privacy is linked)"
        )
        package.add_argument("--out", default="ruhepuls-teams.zip", help="where to write the zip")
        package.add_argument("--developer", default="Ruhepuls", help="the organisation named as developer")
        package.add_argument(
            "--version", default="1.0.0", help="the package version (raise it for each upload)"
        )
        verb.add_parser("list", help="the Teams teams the app is installed in, with the ids `team add` takes")

    def run(self, settings: Settings, args: argparse.Namespace) -> None:
        from .package import build

        if args.teams_command == "list":
            from .places import installed

            print(installed(settings))
            return
        app_id = settings.section(TeamsSettings).app_id
        if not app_id:
            sys.exit("ruhepuls: set TEAMS_APP_ID first (the bot's Microsoft App ID)")
        try:
            data = build(app_id, args.url, args.developer, args.version)
        except ValueError as exc:
            sys.exit(f"ruhepuls: {exc}")
        with open(args.out, "wb") as out:
            out.write(data)
        print(f"wrote {args.out}: upload it in the Teams admin center (Teams apps > Manage apps > Upload)")

    def prepare(self, team: Team) -> Team:
        """An id copied out of a Teams link comes URL-encoded (`19%3A…`)."""
        from urllib.parse import unquote

        return team.model_copy(
            update={k: unquote(v) for k in ("channel", "lead_channel") if (v := getattr(team, k))}
        )

    async def unreachable(self, rt: Runtime, team: Team, lang: Lang) -> str | None:
        """When the bot has not seen the app installed in the team's Teams team, its roster
        cannot be read and nobody could be invited: what to do about it."""
        from flows.references import References

        from .texts import say

        refs = References(rt.redis, rt.secret, "teams")
        if team.channel and await refs.get("team", str(team.channel)) is not None:
            return None
        return say("not_installed", lang, team=team.id)

    async def notes(self, rt: Runtime, team: Team, lang: Lang) -> list[str]:
        from .places import lead_channel_known
        from .texts import say

        why = await self.unreachable(rt, team, lang)
        if why:
            return [why]
        if team.lead_channel and await lead_channel_known(rt, str(team.lead_channel)) is False:
            return [say("lead_not_found", lang, team=team.id)]
        return []

    def texts(self) -> TextCatalog:
        from .texts import teams_texts

        return teams_texts()

    async def receive(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> APIRouter | None:
        from . import sdk
        from .app import TeamsBot

        built = sdk.build(rt.settings)
        bot = TeamsBot(rt, built)
        await built.app.initialize()
        stack.push_async_callback(bot.outbox.drain)  # cards already due go out before shutdown
        await stack.enter_async_context(bot.outbox.recovering())  # queues a killed process left
        return webhook("/api/messages", bot.receive, bot.admit)

    async def check(self, rt: Runtime) -> list[Check]:
        from . import sdk

        try:
            token = await sdk.build(rt.settings).app.token_provider.get_app_token()
        except Exception as exc:  # Entra's OAuth error code, or else the error's type, never its text
            code = sdk.entra_error(exc)
            return [
                Check(
                    False,
                    f"no Teams token could be acquired ({f'Entra: {code}' if code else type(exc).__name__})",
                    sdk.token_advice(code, rt.settings.section(TeamsSettings)),
                )
            ]
        if token is None:
            return [Check(False, "no Teams token could be acquired", "set TEAMS_APP_PASSWORD")]
        return [Check(True, "a Teams token is acquired for the bot")]

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        from . import sdk
        from .outreach import TeamsOutreach

        built = sdk.build(rt.settings)
        await built.app.initialize()
        return TeamsOutreach(rt, built)


PLATFORM = Teams()
