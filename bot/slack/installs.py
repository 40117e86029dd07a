"""Slack beyond one workspace: bolt's installation store and OAuth state store on Redis, and
the Web API client of each workspace.

With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET the app is installed through Slack's OAuth flow
(`/slack/install`, Slack's consent screen, `/slack/oauth_redirect`) into any number of
workspaces, or once org-wide on Enterprise Grid. Each installation's bot token is kept in the
data Redis encrypted (AES-GCM under a key derived from RUHEPULS_SECRET), so a Redis backup,
snapshot or replica holds no usable token; whoever holds RUHEPULS_SECRET holds the tokens.
Without them, SLACK_BOT_TOKEN is the one workspace's token, as before.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.asyncio import Redis
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("ruhepuls.slack")

INSTALLS = "rp:slack:installs"
"""One hash: `<enterprise>:<workspace>` ("-" for none) -> the encrypted bot installation."""
STATE = "rp:slack:oauth-state:"
"""An OAuth flow's state, for its ten minutes (the consent screen's round trip)."""
NONE = "-"


def _field(enterprise: str | None, team: str | None) -> str:
    return f"{enterprise or NONE}:{team or NONE}"


def address(workspace: str, user: str) -> str:
    """A member's address: the workspace and the user id (user ids contain no colon)."""
    return f"{workspace}:{user}"


def parts(member_address: str) -> tuple[str | None, str]:
    """Workspace and user id of an address (a bare user id: one stored before workspaces were
    named, for the only workspace)."""
    workspace, _, user = member_address.rpartition(":")
    return workspace or None, user


class Sealed:
    """Encrypts what is kept at rest under a key of its own, derived from RUHEPULS_SECRET."""

    def __init__(self, secret: bytes, purpose: bytes) -> None:
        self._aead = AESGCM(hmac.new(secret, b"ruhepuls-seal:" + purpose, hashlib.sha256).digest())
        self._purpose = purpose

    def seal(self, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, self._purpose)

    def open(self, blob: bytes) -> bytes:
        return self._aead.decrypt(blob[:12], blob[12:], self._purpose)


class RedisInstallations(AsyncInstallationStore):
    """Bot installations (bolt runs with `installation_store_bot_only`: no user tokens are asked
    for or kept), one field per workspace or per Enterprise Grid organisation."""

    def __init__(self, redis: Redis, secret: bytes) -> None:
        self.redis = redis
        self._seal = Sealed(secret, b"slack-installations")

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        team = None if bot.is_enterprise_install else bot.team_id
        data = {k: v.timestamp() if isinstance(v, datetime) else v for k, v in bot.to_dict().items()}
        await self.redis.hset(INSTALLS, _field(bot.enterprise_id, team), self._seal.seal(orjson.dumps(data)))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The workspace's own installation, else its organisation's org-wide one."""
        tried = [] if is_enterprise_install else [_field(enterprise_id, team_id)]
        if enterprise_id:
            tried.append(_field(enterprise_id, None))
        for name in tried:
            blob = await self.redis.hget(INSTALLS, name)
            if blob is not None:
                return self._bot(blob)
        return None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        bot = await self.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        if bot is None or user_id is not None:
            return None
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            enterprise_name=bot.enterprise_name,
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id="",
            is_enterprise_install=bot.is_enterprise_install,
            installed_at=bot.installed_at,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.redis.hdel(INSTALLS, _field(enterprise_id, team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def all(self) -> list[Bot]:
        """Every installation (for `ruhepuls slack workspaces` and the checks)."""
        return [self._bot(blob) for blob in (await self.redis.hgetall(INSTALLS)).values()]

    def _bot(self, blob: bytes | str) -> Bot:
        raw = blob if isinstance(blob, bytes) else blob.encode("latin-1")  # the data Redis answers bytes
        return Bot(**orjson.loads(self._seal.open(raw)))


class RedisStates(AsyncOAuthStateStore):
    """The OAuth flow's state parameters, each usable once within its lifetime."""

    def __init__(self, redis: Redis, seconds: int = 600) -> None:
        self.redis, self.seconds = redis, seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = os.urandom(16).hex()
        await self.redis.set(STATE + state, b"1", ex=self.seconds)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state.isascii() or not state.isalnum() or len(state) > 64:
            return False
        return await self.redis.getdel(STATE + state) is not None


@dataclass(frozen=True, slots=True)
class Seat:
    """Where the bot sits in one workspace: the client with its token, the workspace's id (the
    rate limits' scope) and the bot's own user id there (never a team member)."""

    client: AsyncWebClient
    workspace: str
    bot_user: str


@dataclass
class Workspaces:
    """The Web API client for each workspace: its installation's token (OAuth), or the one
    SLACK_BOT_TOKEN for every workspace (the single-workspace setup). What is found is kept for
    a minute, so an uninstalled workspace stops being written to within it."""

    base: AsyncWebClient
    """The client with SLACK_BOT_TOKEN (or no token at all, with OAuth)."""
    store: RedisInstallations | None = None
    seconds: float = 60.0
    _known: dict[str, tuple[float, Seat | None]] = field(default_factory=dict)

    @property
    def oauth(self) -> bool:
        return self.store is not None

    async def client(self, workspace: str | None) -> AsyncWebClient | None:
        """The workspace's client; None when the app is not installed there."""
        if self.store is None:
            return self.base
        seat = await self.seat(workspace)
        return seat.client if seat else None

    async def seat(self, workspace: str | None) -> Seat | None:
        """The bot in `workspace` (None: the only one there is); None when not installed."""
        key = workspace or NONE
        now = time.monotonic()
        hit = self._known.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        seat: Seat | None
        if self.store is None:
            auth = await self.base.auth_test()
            seat = Seat(self.base, str(auth["team_id"]), str(auth["user_id"]))
        else:
            bot = await self._bot(workspace)
            seat = None
            if bot is not None:
                where = workspace or bot.team_id or bot.enterprise_id or NONE
                seat = Seat(self.with_token(bot.bot_token), where, bot.bot_user_id)
        self._known[key] = (now + self.seconds, seat)
        return seat

    async def installed(self) -> list[Bot]:
        return await self.store.all() if self.store else []

    async def _bot(self, workspace: str | None) -> Bot | None:
        assert self.store is not None
        if workspace:  # a workspace outside any organisation: its own field, nothing else read
            found = await self.store.async_find_bot(enterprise_id=None, team_id=workspace)
            if found is not None:
                return found
        every = await self.store.all()
        if not workspace:
            return every[0] if len(every) == 1 else None  # one installation: teams need not say which
        for bot in every:
            if bot.team_id == workspace and not bot.is_enterprise_install:
                return bot
        grid = [b for b in every if b.is_enterprise_install]  # an organisation-wide installation
        return grid[0] if len(grid) == 1 else None

    def with_token(self, token: str) -> AsyncWebClient:
        b = self.base
        return AsyncWebClient(
            token=token,
            base_url=b.base_url,
            session=b.session,
            timeout=b.timeout,
            retry_handlers=b.retry_handlers,
        )
