"""Proactive messages: invitations and reminders to every member of a team, per platform.

`pump` is idempotent: who has been sent what is kept per round (as pseudonyms), a per-team lock
keeps two workers from sending at once, and a worker killed half-way continues where the
bookkeeping says it stopped. Each message is claimed before it goes out and marked sent after;
a claim without a mark (the worker died in between) is settled by asking the platform whether
the message arrived (Slack: the DM's history, where our messages carry an opaque tag: a keyed
hash of round, kind and person, so that an export of the workspace can't tell a reminder, and
so a non-responder, from an invitation). A message to someone who blocked the bot counts as sent (it would fail forever); a
network failure does not (the next tick tries again).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows import engine, keys
from flows import messages as msg
from flows.limits import Limiter, Rate
from flows.schedule import allowed
from flows.teams import Round, Team

from .runtime import Runtime

GIVE_UP_AFTER = 8

if TYPE_CHECKING:
    from telegram import Bot

log = logging.getLogger("ruhepuls.outreach")

Delivery = Literal["sent", "gone", "retry"]
PERMANENT_SLACK = {"channel_not_found", "user_not_found", "cannot_dm_bot", "user_disabled",
                   "account_inactive", "not_in_channel", "is_archived", "messages_tab_disabled"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Member:
    address: str
    """Where to send: a Slack user id, a Telegram chat id. Never stored with a survey."""
    person: str
    """The pseudonym, as the survey store knows them."""


class Outreach(Protocol):
    async def members(self, team: Team) -> list[Member]: ...
    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery: ...
    async def delivered(self, member: Member, tag: str) -> bool:
        """Did a message tagged `tag` reach the member? (False when the platform can't tell.)"""
        ...

    async def post_summary(self, team: Team, text: str, chart: bytes | None) -> bool:
        """Post a weekly summary (and its chart) to the team's lead channel."""
        ...


class SlackOutreach:
    EVENT_TYPE = "ruhepuls"

    def __init__(self, rt: Runtime, client: AsyncWebClient) -> None:
        self.rt, self.client = rt, client
        self._identity: tuple[str, str] | None = None
        self._dm: dict[str, str] = {}
        self.limiter = Limiter(rt.redis, rt.secret)

    async def _call(self, method: str, chat: str | None = None, **kwargs: Any) -> Any:
        from .slack.delivery import call_limited

        workspace, _ = await self._me()
        return await call_limited(self.limiter, self.client, workspace, method, chat, **kwargs)

    async def _channel(self, user: str) -> str:
        if user not in self._dm:
            opened = await self._call("conversations.open", users=user)
            self._dm[user] = opened["channel"]["id"]
        return self._dm[user]

    async def _me(self) -> tuple[str, str]:
        if self._identity is None:
            auth = await self.client.auth_test()
            self._identity = (str(auth["team_id"]), str(auth["user_id"]))
        return self._identity

    async def members(self, team: Team) -> list[Member]:
        if not team.channel:
            return []
        workspace, bot_user = await self._me()
        found: list[Member] = []
        cursor = None
        while True:
            page = await self.client.conversations_members(channel=team.channel, limit=500, cursor=cursor)
            uid: object
            for uid in page.get("members", []):
                if isinstance(uid, str) and uid != bot_user:
                    found.append(Member(uid, self.rt.person("slack", f"{workspace}:{uid}")))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery:
        from .slack.render import payload

        try:
            block_json, fallback = payload(menu)
            posted = await self._call(  # to the user id: Slack opens the DM, no conversations.open
                "chat.postMessage", member.address, channel=member.address, blocks=block_json, text=fallback,
                metadata={"event_type": self.EVENT_TYPE, "event_payload": {"tag": tag}},
            )  # fmt: skip
            if isinstance(posted.get("channel"), str):
                self._dm[member.address] = posted["channel"]
            return "sent"
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown")
            log.warning("slack invitation failed: %s", error)
            return "gone" if error in PERMANENT_SLACK else "retry"
        except Exception as exc:
            log.warning("slack invitation failed: %s", type(exc).__name__)
            return "retry"

    async def delivered(self, member: Member, tag: str) -> bool:
        try:
            channel = await self._channel(member.address)
            history = await self.client.conversations_history(
                channel=channel, limit=20, include_all_metadata=True
            )
        except Exception as exc:
            log.warning("slack history failed: %s", type(exc).__name__)
            return False
        m: object
        for m in history.get("messages", []):
            meta: dict[str, Any] = (m.get("metadata") if isinstance(m, dict) else None) or {}
            if (
                meta.get("event_type") == self.EVENT_TYPE
                and (meta.get("event_payload") or {}).get("tag") == tag
            ):
                return True
        return False

    async def post_summary(self, team: Team, text: str, chart: bytes | None) -> bool:
        assert team.lead_channel
        try:
            await self._call("chat.postMessage", team.lead_channel, channel=team.lead_channel, text=text)
            if chart:
                await self.client.files_upload_v2(
                    channel=team.lead_channel, content=chart, filename="ruhepuls.png", title="Ruhepuls"
                )
            return True
        except SlackApiError as exc:
            log.warning("slack summary failed: %s", exc.response.get("error", "unknown"))
        except Exception as exc:
            log.warning("slack summary failed: %s", type(exc).__name__)
        return False


TELEGRAM_OVERALL = Rate(30, burst=30)
"""Telegram: about 30 messages per second per bot; and one per second per chat."""
TELEGRAM_PER_CHAT = Rate(1, burst=1)


class TelegramOutreach:
    def __init__(self, rt: Runtime, bot: Bot) -> None:
        self.rt, self.bot = rt, bot
        self.limiter = Limiter(rt.redis, rt.secret)

    async def _send(self, chat_id: int, **kwargs: Any) -> None:
        """sendMessage through the shared limiter; after a 429, exactly its retry_after."""
        from telegram.error import RetryAfter

        overall = self.limiter.bucket("telegram", str(self.bot.id), "sendMessage")
        chat = self.limiter.bucket("telegram", str(self.bot.id), "sendMessage", str(chat_id))
        for attempt in range(GIVE_UP_AFTER):
            await asyncio.sleep(max(await self.limiter.reserve(overall, TELEGRAM_OVERALL),
                                    await self.limiter.reserve(chat, TELEGRAM_PER_CHAT)))  # fmt: skip
            try:
                await self.bot.send_message(chat_id, **kwargs)
                return
            except RetryAfter as exc:
                if attempt == GIVE_UP_AFTER - 1:
                    raise
                with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
                    warnings.simplefilter("ignore")
                    wait = exc.retry_after
                seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
                await self.limiter.block(overall, seconds)
                await asyncio.sleep(seconds)

    async def members(self, team: Team) -> list[Member]:
        ids = await self.rt.teams.joined_members(team.id)
        return [Member(uid, self.rt.person("telegram", uid)) for uid in ids]

    async def delivered(self, member: Member, tag: str) -> bool:
        return False  # bots cannot read their chats' history: a claimed message is sent again

    async def sweep(self, now: float | None = None) -> None:
        """Delete the personal results whose day in the chat is over (`now`: epoch seconds)."""
        from telegram.error import TelegramError

        for chat_id, message_id in await self.rt.expiring.due(now):
            try:
                await self.bot.delete_message(chat_id, message_id)
            except TelegramError as exc:  # already gone, or the bot was blocked: nothing to keep
                log.info("telegram deleteMessage failed: %s", type(exc).__name__)

    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery:
        from telegram.constants import ParseMode
        from telegram.error import Forbidden, TelegramError

        from .telegram.render import render

        text, keyboard = render(menu)
        try:
            await self._send(int(member.address), text=text, reply_markup=keyboard, parse_mode=ParseMode.HTML)
            return "sent"
        except Forbidden:
            return "gone"
        except TelegramError as exc:
            log.warning("telegram invitation failed: %s", type(exc).__name__)
            return "retry"

    async def post_summary(self, team: Team, text: str, chart: bytes | None) -> bool:
        from telegram.error import TelegramError

        assert team.lead_channel
        try:
            await self._send(int(team.lead_channel), text=text)
            if chart:
                await self.bot.send_photo(int(team.lead_channel), photo=chart)
            return True
        except (TelegramError, ValueError) as exc:
            log.warning("telegram summary failed: %s", type(exc).__name__)
            return False


async def pump(
    rt: Runtime, outreach: Outreach, team: Team, rnd: Round, kind: keys.Kind, now: datetime
) -> bool:
    """Send `kind` to every member who has not had it; reminders skip
    those who finished. True when everybody is done, False if some must be tried again."""
    token = secrets.token_hex(8)
    seconds = rt.settings.send_lock_seconds
    if not await rt.teams.lock(team.id, token, seconds):
        return False  # another worker is sending for this team
    try:
        members = await outreach.members(team)
        people = [m.person for m in members]
        ttl = int((rnd.ends - now).total_seconds()) + rt.settings.session_ttl_seconds
        await rt.teams.place(people, team.id, ttl)
        todo = await rt.teams.unsent(team.id, rnd.id, kind, people)
        finished = (
            await rt.teams.finished(team.id, rnd.id, people) if kind != "inv" else [False] * len(people)
        )
        menu = engine.invitation(rt.conversations.config, team.language, reminder=kind != "inv", now=now)
        claimed = await rt.teams.claimed(team.id, rnd.id, kind)
        complete = True
        for n, (member, pending, done) in enumerate(zip(members, todo, finished, strict=True)):
            if not pending or done:
                continue
            tag = outreach_tag(rt.secret, rnd.id, kind, member.person)
            if member.person in claimed and await outreach.delivered(member, tag):
                await rt.teams.mark_sent(team.id, rnd.id, kind, member.person)
                continue
            await rt.teams.claim(team.id, rnd.id, kind, member.person)
            outcome = await outreach.send(member, menu, tag)
            if outcome == "retry":
                complete = False
                continue
            await rt.teams.mark_sent(team.id, rnd.id, kind, member.person)
            if n % 25 == 24:
                await rt.teams.refresh_lock(team.id, seconds)
        return complete
    finally:
        await rt.teams.unlock(team.id, token)


def outreach_tag(secret: bytes, round_id: str, kind: str, person: str) -> str:
    """What a proactive message carries to be recognised later: it names nothing."""
    return hmac.new(secret, f"{round_id}\x1f{kind}\x1f{person}".encode(), hashlib.sha256).hexdigest()[:20]


async def tick_team(rt: Runtime, outreach: dict[str, Outreach], team: Team, now: datetime) -> None:
    """Everything a team's round needs at `now`: close it when due, else send what is due."""
    rnd = await rt.teams.current_round(team.id)
    if rnd is None or not rnd.is_open:
        return
    if now >= rnd.ends:
        await rt.teams.close_round(team.id)
        await rt.teams.audit("system", "round close (due)", team.id, now, rnd.id)
        return
    sender = outreach.get(team.platform)
    if sender is None or not allowed(now, team.timezone, rt.settings.sending_hours):
        return
    if not rnd.invited:
        if await pump(rt, sender, team, rnd, "inv", now):
            await rt.teams.mark_round(team.id, invited="1")
        return
    due = [k for k, t in enumerate(rnd.reminders, 1) if now >= t and k > rnd.reminded]
    if due:
        k = due[-1]  # a missed earlier reminder is not sent late on top of a later one
        if await pump(rt, sender, team, rnd, "rem1" if k == 1 else "rem2", now):
            await rt.teams.mark_round(team.id, reminded=str(k))


async def tick(rt: Runtime, outreach: dict[str, Outreach], now: datetime) -> None:
    """Everything due at `now`: rounds (close, invite, remind) and weekly summaries."""
    from .reports import run_due

    for team in await rt.teams.teams():
        try:
            await tick_team(rt, outreach, team, now)
        except Exception as exc:  # one team's trouble must not stop the others
            log.error("tick failed for a team: %s", type(exc).__name__)

    telegram = outreach.get("telegram")
    if isinstance(telegram, TelegramOutreach):
        try:
            await telegram.sweep()
        except Exception as exc:  # the rest of the tick goes on
            log.error("telegram sweep failed: %s", type(exc).__name__)

    async def poster(team: Team, text: str, chart: bytes | None) -> bool:
        sender = outreach.get(team.platform)
        return sender is not None and await sender.post_summary(team, text, chart)

    await run_due(rt, now, poster)
