"""Microsoft Teams: verified activities in, Adaptive Cards out (microsoft-teams-apps)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from ..platform import Outreach, Receiver
from ..settings import Settings

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["PLATFORM"]


class Teams:
    name = "teams"

    def enabled(self, settings: Settings) -> bool:
        return settings.teams_enabled

    async def receive(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Receiver | None:
        from . import sdk
        from .app import TeamsBot

        built = sdk.build(rt.settings)
        bot = TeamsBot(rt, built)
        await built.app.initialize()
        stack.push_async_callback(bot.outbox.drain)  # cards already due go out before shutdown
        return Receiver("/api/messages", bot.receive, bot.admit)

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        from . import sdk
        from .outreach import TeamsOutreach

        built = sdk.build(rt.settings)
        await built.app.initialize()
        return TeamsOutreach(rt, built)


PLATFORM = Teams()
