"""Telegram's proactive side: members are those who joined by the team's link, invitations
through the shared limiter (30 a second per bot, one a second per chat), summaries to the lead
chat, and on every tick the results whose day in the chat is over are deleted."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from typing import TYPE_CHECKING, Any

from flows import messages as msg
from flows.limits import Limiter, Rate
from flows.teams import Team

from ..background import repeating
from ..platform import Delivery, Member, Retry
from ..retry import Wait, retrying
from ..runtime import Runtime
from .residue import ExpiringMessages

if TYPE_CHECKING:
    from telegram import Bot

log = logging.getLogger("ruhepuls.outreach")
GIVE_UP_AFTER = 8


TELEGRAM_OVERALL = Rate(30, burst=30)
"""Telegram: about 30 messages per second per bot; and one per second per chat."""
TELEGRAM_PER_CHAT = Rate(1, burst=1)
TELEGRAM_PER_GROUP = Rate(20 / 60, burst=3)
"""And at most 20 a minute in a group (a lead chat: a negative chat id)."""


SWEEP_SECONDS = 300.0
"""How often `serve` and `telegram poll` delete the results whose day in the chat is over."""


def sweeping(
    rt: Runtime, bot: Bot, every: float = SWEEP_SECONDS
) -> contextlib.AbstractAsyncContextManager[None]:
    """While open, delete due results every `every` seconds: the web app and the poller do it
    themselves, so a Telegram setup without a worker still removes them within the day."""
    return repeating(TelegramOutreach(rt, bot).sweep, every, "telegram result sweep")


class TelegramOutreach:
    in_flight = 1  # Telegram cannot say whether a message arrived

    def __init__(self, rt: Runtime, bot: Bot) -> None:
        self.rt, self.bot = rt, bot
        self.limiter = Limiter(rt.sessions, rt.secret)
        self.expiring = ExpiringMessages(rt.sessions)

    async def _send(self, chat_id: int, method: str = "send_message", **kwargs: Any) -> None:
        """A message (or `method`: a photo) through the shared limiter, at the scopes Telegram
        enforces: the bot overall, the chat, and a group's minute; after a 429, exactly its
        retry_after."""
        from telegram.error import RetryAfter

        bot = str(self.bot.id)
        overall = self.limiter.bucket("telegram", bot, "sendMessage")
        scopes = [
            (overall, TELEGRAM_OVERALL),
            (self.limiter.bucket("telegram", bot, "sendMessage", str(chat_id)), TELEGRAM_PER_CHAT),
        ]
        if chat_id < 0:
            scopes.append((self.limiter.bucket("telegram", bot, "group", str(chat_id)), TELEGRAM_PER_GROUP))

        async def once(attempt: int) -> bool | Wait:
            await asyncio.sleep(max([await self.limiter.reserve(bucket, rate) for bucket, rate in scopes]))
            try:
                await getattr(self.bot, method)(chat_id, **kwargs)
            except RetryAfter as exc:
                if attempt == GIVE_UP_AFTER - 1:
                    raise
                with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
                    warnings.simplefilter("ignore")
                    wait = exc.retry_after
                seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
                await self.limiter.block(overall, seconds)  # the next reserve waits what is left
                return Wait(seconds)
            return True

        await retrying(once, GIVE_UP_AFTER)  # the last 429 raises

    async def members(self, team: Team) -> list[Member]:
        ids = await self.rt.teams.members.joined_members(team.id)
        return [Member(uid, self.rt.person("telegram", uid)) for uid in ids]

    async def delivered(self, member: Member, tag: str) -> bool | None:
        return None  # bots cannot read their chats' history

    async def tidy(self) -> None:
        await self.sweep()

    async def sweep(self, now: float | None = None) -> None:
        """Delete the personal results whose day in the chat is over (`now`: epoch seconds)."""
        from telegram.error import TelegramError

        for chat_id, message_id in await self.expiring.due(now):
            try:
                await self.bot.delete_message(chat_id, message_id)
            except TelegramError as exc:  # already gone, or the bot was blocked: nothing to keep
                log.info("telegram deleteMessage failed: %s", type(exc).__name__)

    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery:
        from telegram.constants import ParseMode
        from telegram.error import Forbidden, TelegramError

        from .render import render

        text, keyboard = render(menu)
        try:
            await self._send(int(member.address), text=text, reply_markup=keyboard, parse_mode=ParseMode.HTML)
            return "sent"
        except Forbidden:
            return "gone"
        except TelegramError as exc:
            log.warning("telegram invitation failed: %s", type(exc).__name__)
            return Retry(type(exc).__name__)

    async def post_summary(self, team: Team, text: str, chart: bytes | None) -> bool:
        from telegram.error import TelegramError

        assert team.lead_channel
        try:
            from ..report_link import summary_link
            from .measure import summary_keyboard

            await self._send(
                int(team.lead_channel),
                text=text,
                reply_markup=summary_keyboard(
                    team.id, team.language, await summary_link(self.rt, team.id, team.language)
                ),
            )
            if chart:
                await self._send(int(team.lead_channel), "send_photo", photo=chart)
            return True
        except (TelegramError, ValueError) as exc:
            log.warning("telegram summary failed: %s", type(exc).__name__)
            return False
