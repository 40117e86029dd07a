"""The declared list of every Redis key kind: what it holds, where, and how long it lives. The
engine's kinds are in flows/keys.yaml; a platform declares the keys only it writes in a
`keys.yaml` of its own folder (`bot.platform.declared_keys` puts both together). The data sheet and
README's "What is stored" are generated from the list, and a test holds a live Redis against it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, RootModel

from classifier import Lang, Text
from classifier.text import load_texts


class KeyKind(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    pattern: str
    server: Literal["sessions", "data"]
    max_ttl: int | Literal["session"] | None
    holds: Text
    lives: Text

    def matches(self, key: str) -> bool:
        return re.search(self.pattern, key) is not None

    def ttl_limit(self, session_ttl_seconds: int) -> int | None:
        return session_ttl_seconds if self.max_ttl == "session" else self.max_ttl


class KeyKinds(RootModel[tuple[KeyKind, ...]]):
    model_config = ConfigDict(frozen=True)


def load_kinds(package: str) -> tuple[KeyKind, ...]:
    """The key kinds declared in `package`'s keys.yaml."""
    return load_texts(package, "keys.yaml", KeyKinds).root


@cache
def key_kinds() -> tuple[KeyKind, ...]:
    """The engine's own key kinds (flows/keys.yaml)."""
    return load_kinds(__package__ or "flows")


def kind_of(key: str, kinds: Sequence[KeyKind]) -> list[KeyKind]:
    """The declared kinds a key name matches (exactly one for every key Ruhepuls writes)."""
    return [k for k in kinds if k.matches(key)]


def stored(lang: Lang, ttl_days: int, headings: tuple[str, str], kinds: Sequence[KeyKind], k: int = 5) -> str:
    """The list of what is stored, as Markdown bullets under two headings (sessions, data)."""
    out = []
    for server, heading in zip(("sessions", "data"), headings, strict=True):
        out.append(heading)
        for kind in kinds:
            if kind.server == server:
                holds, lives = (t(lang).format(ttl=ttl_days, k=k) for t in (kind.holds, kind.lives))
                out.append(f"- {holds}: {lives}.")
    return "\n".join(out)
