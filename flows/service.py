"""The conversation service: load, step, commit, retry on a concurrent change.

This is what every adapter calls: `await conversations.handle(ref, event, event_id=...)`.
A re-delivered event (same id) returns no messages; a concurrent change to the same session
makes the loser reload and re-decide, so two deliveries of one click advance a survey once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from classifier import Lang

from . import engine
from .errors import StoreBusy, StoreUnavailable
from .events import Answer, Event, Start, Typed
from .keys import SOLO
from .measures import MeasureStore
from .messages import Message
from .plans import PlanStore
from .session import Session
from .snoozes import Snoozes
from .store import REDIS_DOWN, Committed, RedisStore, Ref, Write
from .teams import TeamStore, done_token
from .typed import wants_plan

MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Handled:
    messages: tuple[Message, ...]
    duplicate: bool = False
    """True when the event had been applied before; nothing was done."""
    finished: bool = False
    waiting: bool | None = None
    """Whether the key the caller asked to `watch` existed at the transition (None: not asked)."""
    unavailable: bool = False
    """The store could not be reached (nothing changed); the messages say so."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Conversations:
    """Load, step, commit; one Redis round trip per answer, whichever process takes the click.

    An answer to the question on screen is recorded by the transition script without a read
    (`RedisStore.record`), and the engine's step is then taken from the session it returns; the
    script records only where the engine's rule is `record`, anywhere else it hands back the
    session to decide with. For every other event the last committed version of each recent
    session is kept in process (a bounded LRU), so it needs no load either while this process
    took the person's last click: the script checks the version and, on a conflict (another
    process moved the session on), returns the current session to retry with. Which team a
    person belongs to and their team's open round are cached for a few seconds.
    """

    def __init__(
        self,
        store: RedisStore,
        config: engine.Config,
        clock: Callable[[], datetime] | None = None,
        teams: TeamStore | None = None,
        *,
        cache_size: int = 20_000,
        membership_ttl: float = 30.0,
        round_ttl: float = 2.0,
        snoozes: Snoozes | None = None,
        measures: MeasureStore | None = None,
    ) -> None:
        self.store = store
        self.snoozes = snoozes
        self.config = config
        self.teams = teams
        self._clock = clock or _utcnow
        self._sessions: OrderedDict[Ref, tuple[int, Session | None, bool]] = OrderedDict()
        self._cache_size = cache_size
        self._who: dict[str, tuple[float, str | None]] = {}
        self._rounds: dict[str, tuple[float, tuple[str, str] | None]] = {}
        self._membership_ttl = membership_ttl
        self._round_ttl = round_ttl
        self.measures = measures
        self._followups: dict[str, tuple[float, engine.Followup | None]] = {}
        self._carried: dict[str | None, frozenset[str]] = {}
        self._item_ids = tuple(i.id for i in config.questionnaire.items)
        self._positions = {item: n for n, item in enumerate(self._item_ids)}

    async def _scope(self, person: str) -> tuple[str, tuple[str, str] | None]:
        """The person's scope (team or solo) and their team's open round (id, key)."""
        if self.teams is None:
            return SOLO, None
        now = time.monotonic()
        hit = self._who.get(person)
        if hit is None or hit[0] < now:
            if len(self._who) > self._cache_size:
                self._who.clear()
            hit = (now + self._membership_ttl, await self.teams.members.team_of(person))
            self._who[person] = hit
        team = hit[1]
        if team is None:
            return SOLO, None
        rnd = self._rounds.get(team)
        if rnd is None or rnd[0] < now:
            rnd = (now + self._round_ttl, await self.teams.open_round_key(team))
            self._rounds[team] = rnd
        return team, rnd[1]

    async def _followup(
        self, scope: str, rnd: tuple[str, str] | None, s: Session | None
    ) -> engine.Followup | None:
        """The measure this round checks back on, looked up only at the last question and after
        it (so the steady state stays one round trip per answer); cached for a few seconds, as
        the open round is (another process may change a measure: at most that late here)."""
        total = len(self.config.questionnaire.items)
        if self.measures is None or self.teams is None or rnd is None or s is None or s.index < total - 1:
            return None
        now = time.monotonic()
        hit = self._followups.get(scope)
        if hit is None or hit[0] < now:
            current = await self.teams.current_round(scope)
            m = (
                await self.measures.asked_in(scope, current.opened.date())
                if current and current.is_open
                else None
            )
            found = engine.Followup.of(m, self.config.questionnaire) if m is not None else None
            hit = (now + self._round_ttl, found)
            self._followups[scope] = hit
        return hit[1]

    def forget(self, person: str) -> None:
        """Drop what is cached about a person's team: after they joined one in this process."""
        self._who.pop(person, None)

    async def handle(
        self,
        person: str,
        event: Event,
        *,
        event_id: str | None = None,
        lang: Lang = "de",
        reach: tuple[str, str] | None = None,
        watch: str | None = None,
    ) -> Handled:
        """Apply one inbound event for a (pseudonymous) person and return what to say.
        `reach` (platform, address) is where to invite them again should they ask for "later";
        it is kept only for that, never with a survey. `watch`: a key of the sessions Redis
        whose existence the caller wants to know (its queue of cards still waiting for the
        person), read in the transition's own round trip.
        Raises StoreUnavailable (nothing changed) when Redis can't be reached."""
        try:
            return await self._handle(person, event, event_id, lang, reach, watch)
        except REDIS_DOWN as exc:
            raise StoreUnavailable("redis unreachable") from exc

    async def _handle(
        self,
        person: str,
        event: Event,
        event_id: str | None,
        lang: Lang,
        reach: tuple[str, str] | None,
        watch: str | None = None,
    ) -> Handled:
        scope, rnd = await self._scope(person)
        ref = Ref(scope, person)
        cached = self._sessions.pop(ref, None)  # re-inserted only after a successful commit
        q = self.config.questionnaire
        position = self._positions.get(event.item_id) if isinstance(event, Answer) else None
        if isinstance(event, Answer) and position is not None and position < len(self._item_ids) - 1:
            # the common click: recorded without reading the session first, in one round trip
            # whichever process takes it; where the engine would do anything but record it,
            # nothing changes and the session comes back to decide with (below)
            out = await self.store.record(ref, position, event.value, q.version, event_id, watch)
            if out.status == "seen":
                return Handled((), duplicate=True)
            if out.status == "ok":
                return await self._recorded(ref, out, event, lang, scope, rnd, reach)
            cached = (out.version, out.current, out.finished)
        if cached is None:
            session, version, finished = await self.store.load_state(ref)
        else:
            version, session, finished = cached
        secret = self.teams.secret if self.teams else b""
        round_id = rnd[0] if rnd else None
        # the person's done token for the round (a keyed hash): made only for a step that needs it
        token = done_token(secret, rnd[1], person) if rnd and isinstance(event, (Start, Typed)) else None
        plan = None
        if self.teams is not None and scope != SOLO and wants_plan(self.config, event):
            plan = await PlanStore(self.teams.redis).get(scope)  # read only when it is shown
        for _ in range(MAX_ATTEMPTS):
            if session is not None and session.version != q.version:  # started under an older one
                session = session.carried_over(q.version, self._kept(session.version), self._item_ids)
            already = False
            if round_id and token and session is None and isinstance(event, (Start, Typed)):
                already = await self.teams.has_finished(scope, round_id, token)  # type: ignore[union-attr]
            followup = await self._followup(scope, rnd, session)
            result = engine.step(
                self.config,
                session,
                event,
                lang=lang,
                now=self._clock(),
                round_id=round_id,
                already_done=already,
                followup=followup,
                just_finished=finished,
                in_team=scope != SOLO,
                plan=plan,
            )
            if rnd and token is None and result.completion is not None:
                token = done_token(secret, rnd[1], person)
            write = Write(result.session, result.finished, result.completion)
            out = await self.store.commit(ref, version, session, event_id, write, token, watch)
            if out.status == "ok":
                self._remember(
                    ref, out.version, result.session, result.finished or (finished and result.session is None)
                )
                await self._afterwards(result, person, scope, rnd, reach)
                return Handled(result.messages, finished=result.finished, waiting=out.watched)
            if out.status == "seen":
                return Handled((), duplicate=True)
            session, version, finished = out.current, out.version, out.finished
        raise StoreBusy("session changed concurrently too often")

    async def _recorded(
        self,
        ref: Ref,
        out: Committed,
        event: Answer,
        lang: Lang,
        scope: str,
        rnd: tuple[str, str] | None,
        reach: tuple[str, str] | None,
    ) -> Handled:
        """What to say after `store.record` wrote an answer: the engine's step from the session
        before it. The script writes only where the engine's rule is `record`, and then the
        session `record` makes (tests/test_store.py holds the two to the same result in every
        state), so the step's session is the one stored."""
        result = engine.step(
            self.config,
            out.current,
            event,
            lang=lang,
            now=self._clock(),
            round_id=rnd[0] if rnd else None,
            in_team=scope != SOLO,
        )
        self._remember(ref, out.version, result.session)
        await self._afterwards(result, ref.person, scope, rnd, reach)
        return Handled(result.messages, waiting=out.watched)

    async def _afterwards(
        self,
        result: engine.Step,
        person: str,
        scope: str,
        rnd: tuple[str, str] | None,
        reach: tuple[str, str] | None,
    ) -> None:
        """What a committed step asks for beyond the survey: ask again later, or no more
        reminders this round (the event was committed once, so this runs once)."""
        if result.snooze_hours and reach and self.snoozes is not None:
            due = self._clock().timestamp() + result.snooze_hours * 3600
            await self.snoozes.add(reach[0], reach[1], person, due)
        if result.quiet_round and rnd and self.teams is not None:
            await self.teams.sends.mark_quiet(scope, rnd[0], person)

    def _kept(self, started: str | None) -> frozenset[str]:
        found = self._carried.get(started)
        if found is None:
            found = self._carried[started] = self.config.questionnaire.kept_from(started)
        return found

    def _remember(self, ref: Ref, version: int, session: Session | None, finished: bool = False) -> None:
        self._sessions[ref] = (version, session, finished)
        if len(self._sessions) > self._cache_size:
            self._sessions.popitem(last=False)

    async def session_of(self, person: str) -> Session | None:
        """The person's survey in progress, if any (read from Redis)."""
        scope, _ = await self._scope(person)
        session, _ = await self.store.load(Ref(scope, person))
        return session

    async def current_language(self, person: str, default: Lang) -> Lang:
        session = await self.session_of(person)
        return session.lang if session else default
