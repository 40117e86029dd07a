"""The Microsoft Teams SDK (`microsoft-teams-apps`), set up from our settings only.

The SDK reads a `.env` from the working directory into the environment when it is imported,
and `App()` falls back to generic variables (CLIENT_ID, CLIENT_SECRET, TENANT_ID, SERVICE_URL,
CLOUD, ...). Neither may change what Ruhepuls does: the import is undone for the environment,
the generic variables are hidden while the app is built, and every option is passed explicitly.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..settings import Settings
from .settings import TeamsSettings

if TYPE_CHECKING:
    from microsoft_teams.api import ApiClient
    from microsoft_teams.apps import App
    from microsoft_teams.apps.http.adapter import HttpRequest, HttpResponse, HttpRouteHandler

log = logging.getLogger("ruhepuls.teams")

GENERIC_ENV = (
    "CLIENT_ID",
    "CLIENT_SECRET",
    "TENANT_ID",
    "SERVICE_URL",
    "CLOUD",
    "MANAGED_IDENTITY_CLIENT_ID",
    "DANGEROUSLY_ALLOW_UNAUTHENTICATED_REQUESTS",
    "SKIP_AUTH",
)
SERVICE_URL = "https://smba.trafficmanager.net/teams"
TokenFn = Callable[[str | list[str], str | None], Any]


@contextlib.contextmanager
def _own_environment(hide: tuple[str, ...] = ()) -> Iterator[None]:
    """Whatever happens inside leaves os.environ as it was; `hide` is unset meanwhile."""
    saved = dict(os.environ)
    for name in hide:
        os.environ.pop(name, None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ExperimentalWarning at import
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def load() -> None:
    """Import the SDK without its side effect on the environment (idempotent)."""
    with _own_environment():
        importlib.import_module("microsoft_teams.apps")


class Route:
    """The SDK's HTTP adapter protocol, filled in so that its messaging endpoint is ours to
    serve: `bot.web` reads the body (capped), checks the token before decoding anything, and
    only then hands the activity to the SDK's handler (which checks it again, with serviceUrl)."""

    def __init__(self) -> None:
        self.handler: HttpRouteHandler | None = None

    def register_route(self, method: str, path: str, handler: HttpRouteHandler) -> None:
        self.handler = handler

    def serve_static(self, path: str, directory: str) -> None:
        raise NotImplementedError

    async def start(self, port: int) -> None:
        raise NotImplementedError("served by bot.web")

    async def stop(self) -> None:
        return None

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        assert self.handler is not None, "the Teams app is not initialized"
        return await self.handler(request)


def token_provider(settings: Settings) -> TokenFn | None:
    """TEAMS_TOKEN_PROVIDER (`module:function`), if set."""
    ms = settings.section(TeamsSettings)
    if not ms.token_provider:
        return None
    module, _, name = ms.token_provider.partition(":")
    fn: TokenFn = getattr(importlib.import_module(module), name)
    return fn


def cloud(settings: Settings) -> Any:
    from microsoft_teams.api.auth.cloud_environment import from_name, with_overrides

    ms = settings.section(TeamsSettings)

    return with_overrides(
        from_name(ms.cloud),
        openid_metadata_url=ms.openid_metadata_url,
        login_endpoint=ms.login_url,
    )


ENTRA_ERRORS = frozenset(
    {"invalid_client", "unauthorized_client", "invalid_scope", "invalid_request", "invalid_grant"}
)
"""OAuth error codes Entra answers a token request with (MSAL raises them as the error's text)."""


def entra_error(exc: BaseException) -> str | None:
    """The OAuth error code of a refused token request, when that is all the error says."""
    text = str(exc)
    return text if text in ENTRA_ERRORS else None


def token_advice(code: str | None, ms: TeamsSettings) -> str:
    """What to fix when Entra gives the bot no token, for the credential in use."""
    identity = ms.managed_identity
    if code == "unauthorized_client":
        if not ms.tenant_id:
            return (
                "set TEAMS_TENANT_ID to the bot's App Tenant ID (Azure Bot > Settings > Configuration): "
                "a single-tenant bot gets its tokens only in its own tenant"
            )
        return "Entra knows no app TEAMS_APP_ID in tenant TEAMS_TENANT_ID: copy both from Azure Bot > Settings > Configuration"
    if code == "invalid_client" and identity not in (None, "direct"):
        return (
            "the app registration trusts no such managed identity: add a federated credential for it "
            "(app registration > Certificates & secrets > Federated credentials > Managed identity)"
        )
    if code == "invalid_client" and not identity:
        return (
            "Entra refuses the client secret: TEAMS_APP_PASSWORD is the secret's Value (shown once, "
            "when it is made), not its Secret ID; an expired secret needs a new one"
        )
    if identity:
        return (
            "no managed-identity token on this host: assign the identity to the host (App Service > "
            "Identity) and check TEAMS_MANAGED_IDENTITY (system, direct, or the identity's client id)"
        )
    return "check TEAMS_APP_ID, TEAMS_APP_PASSWORD (the client secret, not its id) and TEAMS_TENANT_ID"


@dataclass
class Sdk:
    app: App
    route: Route

    def api(self, service_url: str) -> ApiClient:
        """A connector client for one service URL (of a verified activity, or stored from one)."""
        from microsoft_teams.api import ApiClient

        return ApiClient(
            service_url.rstrip("/"),
            self.app.http_client,
            cloud=self.app.cloud,
            token_provider=self.app.token_provider,
        )


def build(settings: Settings) -> Sdk:
    """The SDK app for our settings (not yet initialized)."""
    load()
    from microsoft_teams.apps import App
    from microsoft_teams.common import ClientOptions

    ms = settings.section(TeamsSettings)
    assert ms.app_id, "TEAMS_APP_ID is not set"
    route = Route()
    token = token_provider(settings)
    secret = ms.app_password.get_secret_value() if ms.app_password else None
    identity = ms.managed_identity
    with _own_environment(hide=GENERIC_ENV):
        app = App(
            client_id=ms.app_id,
            client_secret=None if token or identity else secret,
            managed_identity_client_id=None if identity in (None, "direct") else identity,
            token=token,
            tenant_id=ms.tenant_id,
            cloud=cloud(settings),
            service_url=SERVICE_URL,
            http_server_adapter=route,
            dangerously_allow_unauthenticated_requests=ms.allow_unauthenticated,
            state=False,
            client=ClientOptions(timeout=15),
            telemetry={"agent365": False},
        )
    return Sdk(app, route)
