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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flows import engine, keys
from flows.schedule import allowed, next_allowed
from flows.teams import Round, Team

from .background import repeating
from .metrics import INVITATIONS, QUEUE_DEPTH
from .platform import Member, Outreach, Retry, TeamWaits
from .runtime import Runtime

if TYPE_CHECKING:
    from .weekly import Poster

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
            done = await _send_all(rt, outreach, team, rnd, kind, now, lost)
    except asyncio.CancelledError:
        # Cancelled mid-send (an aborted job, a shutdown): requests may still be under way and
        # arrive after this. The lock is left to run out (RUHEPULS_SEND_LOCK_SECONDS), so that no
        # other job settles these claims (asks whether they arrived) before they could have.
        raise
    except BaseException:
        await rt.teams.sends.unlock(team.id, token)
        raise
    await rt.teams.sends.unlock(team.id, token)
    return done


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
    gate = asyncio.Semaphore(max(1, outreach.in_flight))

    async def one(member: Member) -> bool:
        """Send to one member; False when it must be tried again later."""
        if lost.is_set():
            return False  # the lock was lost (this worker stalled): the one that holds it goes on
        if member.person in waiting and waiting[member.person][1] > now.timestamp():
            return False  # failed before: its next try is not due yet
        tag = outreach_tag(rt.secret, rnd.id, kind, member.person)
        if member.person in claimed and await outreach.delivered(member, tag) is not False:
            await rt.teams.sends.mark_sent(team.id, rnd.id, kind, member.person)
            return True
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
            return gave_up
        await rt.teams.sends.mark_sent(
            team.id, rnd.id, kind, member.person, unreachable=outcome == "gone" and kind == "inv"
        )
        return True

    async def gated(member: Member) -> bool:
        async with gate:
            return await one(member)

    done = await asyncio.gather(*(gated(m) for m, pending in zip(members, todo, strict=True) if pending))
    complete = all(done)
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


RETRY = timedelta(minutes=1)
"""A team whose job failed, or whose sending is not finished, is served again this much later."""
WAIT = timedelta(minutes=5)
"""A team that waits for its admin (TeamWaits) is tried again this much later."""


async def next_due(rt: Runtime, team: Team, now: datetime) -> datetime | None:
    """When the team next needs the worker, as its round stands after being served at `now`:
    the invitations (within the sending hours), a reminder that is due (likewise), the end
    (at the moment itself); None when no round is open."""
    rnd = await rt.teams.current_round(team.id)
    if rnd is None or not rnd.is_open:
        return None
    hours = rt.settings.sending_hours
    if not rnd.invited:
        return min(next_allowed(now + RETRY, team.timezone, hours), rnd.ends)
    pending = [t for k, t in enumerate(rnd.reminders, 1) if k > rnd.reminded]
    if not pending:
        return rnd.ends
    return min(next_allowed(max(min(pending), now + RETRY), team.timezone, hours), rnd.ends)


async def serve_team(rt: Runtime, outreach: dict[str, Outreach], team_id: str, now: datetime) -> None:
    """Do what is due for one team and put it back in the index at its next moment: the job
    the scheduler enqueues per due team (and an admin's `round open` at once). A failure puts
    it back a minute later without holding up any other team."""
    team = await rt.teams.team(team_id)
    if team is None:
        await rt.teams.due.drop(team_id)
        return
    try:
        await tick_team(rt, outreach, team, now)
        when = await next_due(rt, team, now)
    except TeamWaits as exc:  # its admin is told by `round status`; a fix is picked up soon
        log.warning("a team waits: %s", type(exc).__name__)
        await rt.teams.due.at(team_id, now + WAIT)
        return
    except Exception as exc:  # retried a minute later; every other team goes on
        log.error("serving a team failed: %s", type(exc).__name__)
        await rt.teams.due.at(team_id, now + RETRY)
        return
    if when is None:
        await rt.teams.due.forget(team_id, now)
    else:
        await rt.teams.due.at(team_id, when)


async def sweep(rt: Runtime, now: datetime) -> None:
    """Hourly housekeeping over every team: a pool batch a crash left half-written is settled,
    and a team with an open round that the index lacks (a deployment from before it, a lost
    write) is put in."""
    for team in await rt.teams.teams():
        try:
            await rt.teams.pools.settle(team.id)
            rnd = await rt.teams.current_round(team.id)
            if rnd is not None and rnd.is_open and await rt.teams.due.when(team.id) is None:
                await rt.teams.due.at(team.id, now)
        except Exception as exc:  # one team's trouble must not stop the others
            log.error("sweep failed for a team: %s", type(exc).__name__)


async def tick(
    rt: Runtime, outreach: dict[str, Outreach], now: datetime, *, full: bool = True, concurrency: int = 16
) -> None:
    """Everything due at `now`, in this process: the teams whose moment has come (several at a
    time), invitations asked for again, each platform's housekeeping and the weekly summaries;
    `full` sweeps every team first. The worker runs the same parts as jobs of their own."""
    if full:
        await sweep(rt, now)
    gate = asyncio.Semaphore(concurrency)

    async def one(team_id: str) -> None:
        async with gate:
            await serve_team(rt, outreach, team_id, now)

    await asyncio.gather(*(one(t) for t in await rt.teams.due.now(now)))
    await chores(rt, outreach, now)


async def chores(rt: Runtime, outreach: dict[str, Outreach], now: datetime) -> None:
    """Invitations asked for again, each platform's housekeeping, the weekly summaries."""
    await later(rt, outreach, now)
    await tidy(outreach)
    await summaries(rt, outreach, now)


async def later(rt: Runtime, outreach: dict[str, Outreach], now: datetime) -> None:
    try:
        QUEUE_DEPTH.set(await rt.queue.count("queued"))
    except Exception as exc:
        log.info("queue depth unknown: %s", type(exc).__name__)
    try:
        await invite_again(rt, outreach, now)
    except Exception as exc:  # the rest goes on
        log.error("invitations asked for later failed: %s", type(exc).__name__)


async def tidy(outreach: dict[str, Outreach]) -> None:
    for name, sender in outreach.items():
        try:
            await sender.tidy()
        except Exception as exc:  # the rest goes on
            log.error("%s housekeeping failed: %s", name, type(exc).__name__)


def poster(outreach: dict[str, Outreach]) -> Poster:
    """Posts a weekly summary with the team's platform."""

    async def post(team: Team, text: str, chart: bytes | None) -> bool:
        sender = outreach.get(team.platform)
        return sender is not None and await sender.post_summary(team, text, chart)

    return post


async def summaries(rt: Runtime, outreach: dict[str, Outreach], now: datetime) -> None:
    from .weekly import run_due

    await run_due(rt, now, poster(outreach))
