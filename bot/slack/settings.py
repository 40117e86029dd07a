"""Slack's settings, under the names Slack's documentation uses."""

from __future__ import annotations

from pydantic import Field, SecretStr

from ..settings import PlatformSettings


class SlackSettings(PlatformSettings):
    bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    """Socket Mode (xapp-…): events over a WebSocket, no public URL needed."""
    api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    response_url_prefix: str = Field("https://hooks.slack.com/", validation_alias="SLACK_RESPONSE_URL_PREFIX")
    """Only response URLs under this prefix are called (tests point it at a local stand-in)."""

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token and (self.signing_secret or self.app_token))

    def off_reason(self) -> str | None:
        if self.enabled:
            return None
        if self.bot_token:
            return "SLACK_BOT_TOKEN is set, but neither SLACK_SIGNING_SECRET (HTTP) nor SLACK_APP_TOKEN (Socket Mode)"
        return "SLACK_BOT_TOKEN is not set"
