"""The terminal chat needs no credentials: it is there for anyone who runs `ruhepuls chat`."""

from __future__ import annotations

from ..settings import PlatformSettings


class TerminalSettings(PlatformSettings):
    def off_reason(self) -> str | None:
        return "not served: `ruhepuls chat` runs it in this terminal"
