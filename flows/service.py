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
from .store import RedisStore, Ref

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
    ) -> None:
        self.store = store
        self.config = config
        self._clock = clock

    async def handle(
        self, ref: Ref, event: Event, *, event_id: str | None = None, lang: Lang = "de"
    ) -> Handled:
        """Apply one inbound event for the person at `ref` and return what to say."""
        for _ in range(MAX_ATTEMPTS):
            session, version = await self.store.load(ref)
            result = engine.step(self.config, session, event, lang=lang, now=self._clock())
            status = await self.store.commit(ref, version, session, event_id, result)
            if status == "ok":
                return Handled(result.messages, finished=result.finished)
            if status == "seen":
                return Handled((), duplicate=True)
        raise StoreBusy("session changed concurrently too often")

    async def current_language(self, ref: Ref, default: Lang) -> Lang:
        session, _ = await self.store.load(ref)
        return session.lang if session else default
