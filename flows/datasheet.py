"""The declared list of every Redis key kind (flows/keys.yaml): what it holds, where, and how
long it lives. The data sheet and README's "What is stored" are generated from it, and a test
holds a live Redis against it."""

from __future__ import annotations

import re
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


@cache
def key_kinds() -> tuple[KeyKind, ...]:
    return load_texts(__package__ or "flows", "keys.yaml", KeyKinds).root


def kind_of(key: str) -> list[KeyKind]:
    """The declared kinds a key name matches (exactly one for every key Ruhepuls writes)."""
    return [k for k in key_kinds() if k.matches(key)]


def stored(lang: Lang, ttl_days: int, headings: tuple[str, str], k: int = 5) -> str:
    """The list of what is stored, as Markdown bullets under two headings (sessions, data)."""
    out = []
    for server, heading in zip(("sessions", "data"), headings, strict=True):
        out.append(heading)
        for kind in key_kinds():
            if kind.server == server:
                holds, lives = (t(lang).format(ttl=ttl_days, k=k) for t in (kind.holds, kind.lives))
                out.append(f"- {holds}: {lives}.")
    return "\n".join(out)
