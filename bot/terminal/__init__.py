"""The terminal chat (`ruhepuls chat`): the same engine, store and texts in a terminal, for
anyone without a chat platform, and the bot's face when no platform is configured. A platform
like the others, with no route (it is not served), no outreach (no one can be invited to a
terminal) and no teams."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import TYPE_CHECKING

from ..platform import Outreach, Platform
from ..settings import Settings
from .settings import TerminalSettings

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["PLATFORM"]


class Terminal(Platform):
    name = "local"
    settings = TerminalSettings
    verbs = ("chat",)
    has_teams = False

    def commands(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        chat = sub.add_parser("chat", help="take the survey in this terminal")
        chat.add_argument("--lang", choices=["de", "en"], default=None)

    def run(self, settings: Settings, args: argparse.Namespace) -> None:
        from ..runtime import runtime
        from .chat import run_chat

        lang = getattr(args, "lang", None) or settings.language

        async def main() -> None:
            async with runtime(settings) as rt:
                await run_chat(rt, "en" if lang == "en" else "de")

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            print()

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        raise NotImplementedError("nobody is invited to a terminal")


PLATFORM = Terminal()
