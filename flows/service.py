"""The conversation service: load, step, commit, retry on a concurrent change.

This is what every adapter calls: `await conversations.handle(ref, event, event_id=...)`.
A re-delivered event (same id) returns no messages; a concurrent change to the same session
makes the loser reload and re-decide, so two deliveries of one click advance a survey once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from . import engine
from .events import Event, Lang
from .errors import StoreBusy
from .messages import Message
from .keys import SOLO
from .store import RedisStore, Ref
from .teams import RoundContext, TeamStore

MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Handled:
    messages: tuple[Message, ...]
    duplicate: bool = False
    """True when the event had been applied before; nothing was done."""
    finished: bool = False


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Conversations:
    def __init__(
        self,
        store: RedisStore,
        config: engine.Config,
        clock: Callable[[], datetime] = _utcnow,
        teams: TeamStore | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.teams = teams
        self._clock = clock

    async def context(self, person: str) -> RoundContext:
        if self.teams is None:
            return RoundContext(SOLO, None, None, False)
        return await self.teams.context(person)

    async def handle(
        self, person: str, event: Event, *, event_id: str | None = None, lang: Lang = "de"
    ) -> Handled:
        """Apply one inbound event for a (pseudonymous) person and return what to say."""
        rc = await self.context(person)
        ref = Ref(rc.scope, person)
        for _ in range(MAX_ATTEMPTS):
            session, version = await self.store.load(ref)
            result = engine.step(
                self.config, session, event, lang=lang, now=self._clock(),
                round_id=rc.round_id, already_done=rc.already_done,
            )  # fmt: skip
            status = await self.store.commit(ref, version, session, event_id, result, rc.done_token)
            if status == "ok":
                return Handled(result.messages, finished=result.finished)
            if status == "seen":
                return Handled((), duplicate=True)
        raise StoreBusy("session changed concurrently too often")

    async def current_language(self, person: str, default: Lang) -> Lang:
        session, _ = await self.store.load(Ref((await self.context(person)).scope, person))
        return session.lang if session else default
