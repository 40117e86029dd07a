"""Slack's settings, under the names Slack's documentation uses."""

from __future__ import annotations

from pydantic import Field, SecretStr

from flows.limits import Rate

from ..settings import PlatformSettings


class SlackSettings(PlatformSettings):
    bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    """Socket Mode (xapp-…): events over a WebSocket, no public URL needed."""
    client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    """With SLACK_CLIENT_SECRET: installed through Slack's OAuth flow into any number of
    workspaces (or org-wide on Enterprise Grid), each with its own token (bot.slack.installs)."""
    client_secret: SecretStr | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")
    redirect_uri: str | None = Field(None, validation_alias="SLACK_REDIRECT_URI")
    """Where Slack sends the installer back (unset: the app's only Redirect URL)."""
    posts_per_minute: int = Field(300, ge=1, le=60_000, validation_alias="SLACK_POSTS_PER_MINUTE")
    """Messages a minute the app posts in one workspace, all channels together. Slack keeps a
    workspace-wide limit above its one a second per channel and gives no exact figure ("several
    hundred a minute"); a 429 pauses the workspace's posts in every process either way."""
    api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    response_url_prefix: str = Field("https://hooks.slack.com/", validation_alias="SLACK_RESPONSE_URL_PREFIX")
    """Only response URLs under this prefix are called (tests point it at a local stand-in)."""

    @property
    def posts(self) -> Rate:
        """The workspace-wide budget for posts: SLACK_POSTS_PER_MINUTE, bursts of five seconds'."""
        return Rate(self.posts_per_minute / 60, burst=max(1, self.posts_per_minute // 12))

    @property
    def oauth(self) -> bool:
        """Installed per workspace through OAuth rather than with one SLACK_BOT_TOKEN."""
        return bool(self.client_id and self.client_secret)

    @property
    def enabled(self) -> bool:
        return bool((self.bot_token or self.oauth) and (self.signing_secret or self.app_token))

    def off_reason(self) -> str | None:
        if self.enabled:
            return None
        if self.bot_token or self.oauth:
            how = "SLACK_BOT_TOKEN" if self.bot_token else "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
            return f"{how} set, but neither SLACK_SIGNING_SECRET (HTTP) nor SLACK_APP_TOKEN (Socket Mode)"
        if self.client_id or self.client_secret:
            return "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (OAuth installs); one is missing"
        return "SLACK_BOT_TOKEN is not set"
