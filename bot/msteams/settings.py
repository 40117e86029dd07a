"""Microsoft Teams' settings: the bot's Azure registration and where its tokens come from."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import Field, SecretStr

from ..settings import PlatformSettings


class TeamsSettings(PlatformSettings):
    app_id: str | None = Field(None, validation_alias="TEAMS_APP_ID")
    """The bot's Microsoft App ID (Azure bot registration), not the manifest's id."""
    app_password: SecretStr | None = Field(None, validation_alias="TEAMS_APP_PASSWORD")
    """The bot's client secret (Azure bot registration)."""
    managed_identity: str | None = Field(None, validation_alias="TEAMS_MANAGED_IDENTITY")
    """Instead of a client secret, an Azure managed identity: `system` (the host's system-assigned
    identity, federated with the app registration), the client id of a user-assigned identity
    (federated), or `direct` (the bot's App ID is itself a user-assigned identity)."""
    tenant_id: str | None = Field(None, validation_alias="TEAMS_TENANT_ID")
    """Single-tenant apps: the tenant; unset for a multi-tenant registration."""
    cloud: Literal["public", "usgov", "usgovdod", "china"] = Field("public", validation_alias="TEAMS_CLOUD")
    openid_metadata_url: str | None = Field(None, validation_alias="TEAMS_OPENID_METADATA_URL")
    """Where inbound tokens' signing keys are found (its `/keys` sibling); default: the cloud's."""
    login_url: str | None = Field(None, validation_alias="TEAMS_LOGIN_URL")
    """Where the bot's own tokens come from; default: the cloud's Entra login endpoint."""
    token_provider: str | None = Field(None, validation_alias="TEAMS_TOKEN_PROVIDER")
    """`module:function` returning the bot's access token for (scope, tenant) instead of the
    client secret: for a token broker of the deployment's own, and for tests."""
    allow_unauthenticated: bool = Field(False, validation_alias="TEAMS_DANGEROUSLY_ALLOW_UNAUTHENTICATED")
    """Development only: accept activities without a valid token (refused with a public HOST)."""

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and (self.app_password or self.token_provider or self.managed_identity))

    def off_reason(self) -> str | None:
        """Why Microsoft Teams is off, in words an admin can act on (None when it is on)."""
        if self.enabled:
            return None
        generic = [n for n in ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID") if os.environ.get(n)]
        if generic:
            return (
                f"{', '.join(generic)} set, but Ruhepuls reads TEAMS_APP_ID, TEAMS_APP_PASSWORD and "
                "TEAMS_TENANT_ID (the SDK's and Teams Toolkit's names are not read): rename them"
            )
        if self.app_id:
            return "TEAMS_APP_ID is set, but none of TEAMS_APP_PASSWORD, TEAMS_MANAGED_IDENTITY, TEAMS_TOKEN_PROVIDER"
        return "TEAMS_APP_ID is not set"
