"""The web chat's settings."""

from __future__ import annotations

from pydantic import Field

from ..settings import PlatformSettings


class WebChatSettings(PlatformSettings):
    on: bool = Field(False, validation_alias="RUHEPULS_WEB_CHAT")
    """Serve the survey as a web page at /chat (and team links at /j/<code>)."""

    @property
    def enabled(self) -> bool:
        return self.on

    def off_reason(self) -> str | None:
        return None if self.on else "RUHEPULS_WEB_CHAT is not set"
