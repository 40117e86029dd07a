"""Proactive messages: invitations and reminders to every member of a team, per platform.

`pump` is idempotent: who has been sent what is kept per round (as pseudonyms), a per-team lock
keeps two workers from sending at once, and a worker killed half-way continues where the
bookkeeping says it stopped. Each message is claimed before it goes out and marked sent after;
a claim without a mark (the worker died in between) is settled by asking the platform whether
the message arrived (Slack: the DM's history, where our messages carry an opaque tag: a keyed
hash of round, kind and person, so that an export of the workspace can't tell a reminder, and
so a non-responder, from an invitation); where the platform can't tell (Telegram, Teams), it
counts as sent: nobody gets a message twice, and whoever missed the invitation still gets the
reminders. A message to someone who blocked the bot, or for whom the app is not installed,
counts as sent (it would fail forever) and, for invitations, is counted for the admin as
unreachable; a network failure does not (the next tick tries again).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from datetime import datetime

from flows import engine, keys
from flows.schedule import allowed, next_allowed
from flows.teams import Round, Team

from .background import repeating
from .metrics import INVITATIONS, QUEUE_DEPTH
from .platform import Member, Outreach, Retry
from .runtime import Runtime

log = logging.getLogger("ruhepuls.outreach")
GIVE_UP_AFTER = 5
"""A message that failed this many times (1, 2, 4, 8 minutes apart) is given up: counted for the
admin with the platform's error code, and it no longer holds back the round's reminders."""


async def pump(
    rt: Runtime, outreach: Outreach, team: Team, rnd: Round, kind: keys.Kind, now: datetime
) -> bool:
    """Send `kind` to every member who has not had it; reminders too go to every member (who
    finished is known only to the sessions Redis, and a workspace export must not be able to
    tell responders from the rest). True when everybody is done, False if some must be tried
    again."""
    token = secrets.token_hex(8)
    seconds = rt.settings.send_lock_seconds
    if not await rt.teams.sends.lock(team.id, token, seconds):
        return False  # another worker is sending for this team
    lost = asyncio.Event()

    async def keep() -> None:
        """Hold the lock while this worker lives, even through a long Retry-After inside a send;
        a worker that stalled and lost it stops before its next message."""
        if not await rt.teams.sends.refresh_lock(team.id, token, seconds):
            lost.set()

    try:
        async with repeating(keep, seconds / 3, "send lock", wait_first=True):
            return await _send_all(rt, outreach, team, rnd, kind, now, lost)
    finally:
        await rt.teams.sends.unlock(team.id, token)


async def _send_all(
    rt: Runtime,
    outreach: Outreach,
    team: Team,
    rnd: Round,
    kind: keys.Kind,
    now: datetime,
    lost: asyncio.Event,
) -> bool:
    members = await outreach.members(team)
    people = [m.person for m in members]
    ttl = int((rnd.ends - now).total_seconds()) + rt.settings.session_ttl_seconds
    await rt.teams.members.place(people, team.id, ttl)
    todo = await rt.teams.sends.unsent(team.id, rnd.id, kind, people)
    menu = engine.invitation(rt.conversations.config, team.language, reminder=kind != "inv", now=now)
    claimed = await rt.teams.sends.claimed(team.id, rnd.id, kind)
    waiting = await rt.teams.sends.backoffs(team.id, rnd.id, kind)
    complete = True
    for member, pending in zip(members, todo, strict=True):
        if not pending:
            continue
        if lost.is_set():
            return False  # the lock was lost (this worker stalled): the one that holds it goes on
        if member.person in waiting and waiting[member.person][1] > now.timestamp():
            complete = False  # failed before: its next try is not due yet
            continue
        tag = outreach_tag(rt.secret, rnd.id, kind, member.person)
        if member.person in claimed and await outreach.delivered(member, tag) is not False:
            await rt.teams.sends.mark_sent(team.id, rnd.id, kind, member.person)
            continue
        await rt.teams.sends.claim(team.id, rnd.id, kind, member.person)
        outcome = await outreach.send(member, menu, tag)
        INVITATIONS.labels(team.platform, kind, "retry" if isinstance(outcome, Retry) else outcome).inc()
        if isinstance(outcome, Retry):
            gave_up = await rt.teams.sends.failed_once_more(
                team.id, rnd.id, kind, member.person, now.timestamp(), outcome.code, GIVE_UP_AFTER
            )
            if gave_up:
                log.warning("%s to a member of %s given up: %s", kind, team.id, outcome.code)
                await rt.teams.audit("system", f"{kind} failed", team.id, now, outcome.code)
            else:
                complete = False
            continue
        await rt.teams.sends.mark_sent(
            team.id, rnd.id, kind, member.person, unreachable=outcome == "gone" and kind == "inv"
        )
    return complete


def outreach_tag(secret: bytes, round_id: str, kind: str, person: str) -> str:
    """What a proactive message carries to be recognised later: it names nothing."""
    return hmac.new(secret, f"{round_id}\x1f{kind}\x1f{person}".encode(), hashlib.sha256).hexdigest()[:20]


async def tick_team(rt: Runtime, outreach: dict[str, Outreach], team: Team, now: datetime) -> None:
    """Everything a team's round needs at `now`: close it when due, else send what is due."""
    await rt.teams.pools.settle(team.id)  # a batch a crash left half-written
    rnd = await rt.teams.current_round(team.id)
    if rnd is None or not rnd.is_open:
        return
    if now >= rnd.ends:
        await rt.close_round(team.id, "system (due)", now)
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


async def invite_again(rt: Runtime, outreach: dict[str, Outreach], now: datetime) -> None:
    """Invitations asked for again ("in an hour", "tomorrow"), each taken out once; outside the
    sending hours of the person's team it waits for the next allowed moment."""
    hours = rt.settings.sending_hours
    for platform, address, person in await rt.snoozes.take_due(now.timestamp()):
        sender = outreach.get(platform)
        if sender is None:
            continue
        team_id = await rt.teams.members.team_of(person)
        team = await rt.teams.team(team_id) if team_id else None
        tz = team.timezone if team else rt.settings.timezone
        if not allowed(now, tz, hours):
            await rt.snoozes.add(platform, address, person, next_allowed(now, tz, hours).timestamp())
            continue
        lang = team.language if team else rt.settings.language
        menu = engine.invitation(rt.conversations.config, lang, now=now)
        tag = outreach_tag(rt.secret, "later", "inv", person)
        if isinstance(await sender.send(Member(address, person), menu, tag), Retry):
            await rt.snoozes.add(platform, address, person, now.timestamp() + 300)


async def tick(rt: Runtime, outreach: dict[str, Outreach], now: datetime) -> None:
    """Everything due at `now`: rounds (close, invite, remind), invitations asked for again,
    and weekly summaries."""
    from .weekly import run_due

    for team in await rt.teams.teams():
        try:
            await tick_team(rt, outreach, team, now)
        except Exception as exc:  # one team's trouble must not stop the others
            log.error("tick failed for a team: %s", type(exc).__name__)

    try:
        QUEUE_DEPTH.set(await rt.queue.count("queued"))
    except Exception as exc:
        log.info("queue depth unknown: %s", type(exc).__name__)
    try:
        await invite_again(rt, outreach, now)
    except Exception as exc:  # the rest of the tick goes on
        log.error("invitations asked for later failed: %s", type(exc).__name__)

    for name, sender in outreach.items():
        try:
            await sender.tidy()
        except Exception as exc:  # the rest of the tick goes on
            log.error("%s housekeeping failed: %s", name, type(exc).__name__)

    async def poster(team: Team, text: str, chart: bytes | None) -> bool:
        sender = outreach.get(team.platform)
        return sender is not None and await sender.post_summary(team, text, chart)

    await run_due(rt, now, poster)
