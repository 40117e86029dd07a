"""Microsoft Teams: verified activities in, Adaptive Cards out (microsoft-teams-apps)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from fastapi import APIRouter

from ..platform import Check, Outreach, webhook
from ..settings import Settings

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["PLATFORM"]


class Teams:
    name = "teams"

    def enabled(self, settings: Settings) -> bool:
        return settings.teams_enabled

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
        except Exception as exc:  # MSAL's or the provider's error: its type, never its text
            return [Check(False, f"no Teams token could be acquired ({type(exc).__name__})",
                          "check TEAMS_APP_ID, TEAMS_APP_PASSWORD (the client secret, not its id) and TEAMS_TENANT_ID")]  # fmt: skip
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
