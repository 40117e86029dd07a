"""Telegram's settings, under the names the Bot API's documentation uses."""

from __future__ import annotations

from pydantic import Field, SecretStr

from ..settings import PlatformSettings


class TelegramSettings(PlatformSettings):
    bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    webhook_secret: SecretStr | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    """The secret token Telegram sends with every webhook update (without it: long polling)."""
    api_url: str = Field("https://api.telegram.org/bot", validation_alias="TELEGRAM_API_URL")

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None

    def off_reason(self) -> str | None:
        return None if self.enabled else "TELEGRAM_BOT_TOKEN is not set"
