"""The adapter shape, written down once: what a chat platform provides to Ruhepuls.

A platform is a folder `bot/<name>/` (or an installed package named in the `ruhepuls.platforms`
entry-point group) whose `__init__` exposes `PLATFORM`, an instance of a `Platform` subclass:

- `name`: as in `RUHEPULS_ADMINS` (`<name>:<user id>`) and `ruhepuls team add --platform`;
- `settings`: its settings model (`<name>/settings.py`), whose `enabled` says whether its
  credentials are configured and whose secrets the logs mask;
- `token_shapes`, `loggers`: what its tokens look like and which SDK loggers to hold at WARNING;
- `receive(rt, stack)`: the inbound side for the web app, a FastAPI `APIRouter` with the
  platform's routes (most often one `webhook`: a path, a check on the headers run before any
  body is read, and a handler for POST requests whose body was read, capped at `MAX_BODY`; a
  platform may add pages or a WebSocket), or None when it needs no route (Slack Socket Mode,
  Telegram polling). The handler verifies the request before it decodes anything, turns what a
  person did into `flows.events`, runs it through `rt.handle` with the person's pseudonym
  (`rt.person(name, user id)`), renders the `flows.messages` in the platform's own format and
  sends them without making the request wait out a rate limit. Bad input gets a 4xx, never a 5xx;
- `reach(rt, stack)`: the proactive side for the worker, an `Outreach`: the members of a team,
  an invitation or reminder to one of them, whether a tagged message arrived, the weekly summary
  to a lead channel, and any housekeeping a tick should do;
- `check(rt)` and `findings(settings)`: for `ruhepuls doctor`, whether its credentials work;
- `commands(sub)` and `run(settings, args)`: its CLI verbs (`ruhepuls telegram set-webhook`);
- `texts()`: its own texts, validated at start;
- `keys.yaml` beside its `__init__`: the Redis keys only it writes, declared as the engine's are
  (flows/keys.yaml), for the data sheet and the test that holds a live Redis against the list;
- `refuse_serving`, `prepare`, `unreachable`, `notes`: what `serve`, `team add` and `round open`
  ask it.

`bot.web`, `bot.worker`, the CLI, `doctor` and the logs know platforms only through this module,
so a new platform is a new folder, not edits across the tree.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from classifier import Lang
from classifier.text import TextCatalog
from flows import messages as msg
from flows.datasheet import KeyKind, key_kinds, load_kinds
from flows.teams import Team

from .settings import PlatformSettings, Settings

if TYPE_CHECKING:
    from .runtime import Runtime

MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    RecursionError,
    UnicodeDecodeError,
    OverflowError,
    OSError,  # a date of 1e20 seconds: "timestamp out of range"
)
"""What parsing a body that passed its check may raise: a receiver answers it 400, never 500."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Not delivered this time, with the platform's error code (for the admin): tried again
    later, with a growing pause, and given up after a few tries."""

    code: str


Delivery = Literal["sent", "gone"] | Retry
"""An invitation's fate: arrived, can never arrive (blocked, not installed), try again later."""


class TeamWaits(Exception):
    """The team's members cannot be reached now, for a reason its admin can fix and `round
    status` names (the app removed from the team, say): its sending waits and is tried again
    every few minutes, never counted as done."""


@dataclass(frozen=True, slots=True)
class Member:
    address: str
    """Where to send: a Slack user id, a Telegram chat id, Teams ids. Never stored with a survey."""
    person: str
    """The pseudonym, as the survey store knows them."""


class Outreach(Protocol):
    in_flight: int
    """Messages to one team's members under way at once. Each waits for its own slot in the
    shared limiter, so the platform's limits hold however many are in flight; but a worker killed
    mid-send leaves that many claims unsettled, which a platform that cannot tell whether a
    message arrived counts as sent: there it is 1, so a crash costs at most one invitation."""

    async def members(self, team: Team) -> list[Member]: ...
    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery: ...
    async def delivered(self, member: Member, tag: str) -> bool | None:
        """Did a message tagged `tag` reach the member? None when the platform can't tell
        (the message then counts as sent: nobody gets an invitation twice)."""
        ...

    async def post_summary(self, team: Team, text: str, chart: bytes | None) -> bool:
        """Post a weekly summary (and its chart) to the team's lead channel."""
        ...

    async def tidy(self) -> None:
        """Housekeeping on every tick (Telegram: delete results whose day is over)."""
        ...


@dataclass(frozen=True, slots=True)
class Check:
    """One finding of `ruhepuls doctor`: right or wrong, what, and how to fix it."""

    ok: bool
    what: str
    fix: str = ""


MAX_BODY = 1 << 20
"""Largest request body read (Slack and Telegram send a few kilobytes)."""

Handle = Callable[[Request, bytes], Awaitable[Response]]
Admit = Callable[[Request], Awaitable[Response | None]]


def webhook(path: str, handle: Handle, admit: Admit | None = None) -> APIRouter:
    """A router with one POST route: `admit`, a check on the headers alone (a secret token, a
    bearer token), runs before the body is read at all (a Response refuses the request, None
    lets it on); the body is read up to MAX_BODY (413 beyond it, nothing more read); then
    `handle(request, body)`."""

    async def endpoint(request: Request) -> Response:
        if admit is not None and (refused := await admit(request)) is not None:
            return refused
        body = await _read_capped(request)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        return await handle(request, body)

    router = APIRouter()
    router.add_api_route(path, endpoint, methods=["POST"])
    return router


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None when it is (or announces to be) larger than MAX_BODY: nothing beyond
    the cap is read."""
    length = request.headers.get("content-length", "")
    if length and (not re.fullmatch(r"[0-9]{1,19}", length) or int(length) > MAX_BODY):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class Platform:
    """The base of every platform: what it must provide (`name`, `settings`, `reach`) and what
    it may (each default says what a platform without it gets)."""

    name: ClassVar[str]
    settings: ClassVar[type[PlatformSettings]]
    """Its settings model (`bot/<name>/settings.py`), read from the environment."""
    token_shapes: ClassVar[tuple[re.Pattern[str], ...]] = ()
    """What its tokens and secret headers look like, masked in every log line (a capture group
    pair keeps the label: `(name)(separator)secret`)."""
    loggers: ClassVar[tuple[str, ...]] = ()
    """Its SDK's loggers, held at WARNING (their INFO lines carry tokens, bodies, member lists)."""
    terse_loggers: ClassVar[tuple[str, ...]] = ()
    """Loggers whose exception lines keep only the exception's type (an SDK that logs a body)."""
    verbs: ClassVar[tuple[str, ...]] = ()
    """The CLI verbs `commands` adds (`ruhepuls <verb> …`); by default its name, if it adds any."""
    has_teams: ClassVar[bool] = True
    """Survey teams can be defined on it (`team add --platform <name>`)."""
    joins_by_link: ClassVar[bool] = False
    """Its members join a team by a link (no roster to read): a team gets a join code."""
    invites: ClassVar[bool] = True
    """The worker sends its members invitations and reminders (so it needs its settings)."""

    async def join_url(self, rt: Runtime, code: str) -> str:
        """The link a member opens to join a team by its code (when `joins_by_link`)."""
        raise NotImplementedError(self.name)

    def section(self, settings: Settings) -> PlatformSettings:
        return settings.section(self.settings)

    def enabled(self, settings: Settings) -> bool:
        return self.section(settings).enabled

    def off_reason(self, settings: Settings) -> str | None:
        """Why it is off, in words an admin can act on (None when it is on)."""
        return self.section(settings).off_reason()

    def refuse_serving(self, settings: Settings) -> str | None:
        """A reason `ruhepuls serve` must not start with these settings (None: it may)."""
        return None

    def findings(self, settings: Settings) -> list[Check]:
        """`ruhepuls doctor`'s findings from the settings alone (no network)."""
        return []

    def commands(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add its CLI verbs (`ruhepuls <name> …`), if it has any."""

    def run(self, settings: Settings, args: argparse.Namespace) -> None:
        """Run one of its CLI verbs."""
        raise NotImplementedError(self.name)

    def texts(self) -> TextCatalog | None:
        """Its own texts (`<name>/texts.yaml`), loaded and validated by `ruhepuls check`."""
        return None

    def keys(self) -> tuple[KeyKind, ...]:
        """The Redis keys only it writes: `keys.yaml` in its package, if it has one."""
        package = importlib.import_module(type(self).__module__).__package__ or ""
        if not resources.files(package).joinpath("keys.yaml").is_file():
            return ()
        return load_kinds(package)

    def data_sheet(self, settings: Settings, lang: Lang) -> str | None:
        """What the data sheet says of it when it is on (what it keeps beyond the survey's)."""
        return None

    def prepare(self, team: Team) -> Team:
        """A team as `team add` saves it (ids as the platform writes them)."""
        return team

    async def unreachable(self, rt: Runtime, team: Team, lang: Lang) -> str | None:
        """Why a round for `team` could invite nobody (Teams: the app is not installed in the
        team), so that `round open` refuses instead of opening a silent round; None if it can."""
        return None

    async def notes(self, rt: Runtime, team: Team, lang: Lang) -> list[str]:
        """What an admin should know about a team `team add` just saved (a join link, a missing
        installation)."""
        return []

    async def receive(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> APIRouter | None:
        return None

    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach:
        raise NotImplementedError(self.name)

    async def check(self, rt: Runtime) -> list[Check]:
        return []


ENTRY_POINTS = "ruhepuls.platforms"
"""The entry-point group of platforms installed as packages of their own (outside `bot/`)."""


@cache
def platforms() -> dict[str, Platform]:
    """Every platform, by name: each package under bot/ whose `__init__` has a `PLATFORM`, and
    each `PLATFORM` named in the `ruhepuls.platforms` entry-point group. The logs learn their
    token shapes and SDK loggers here, so nothing else needs to know them."""
    import bot

    from . import logs

    candidates = [
        importlib.import_module(f"bot.{info.name}")
        for info in pkgutil.iter_modules(bot.__path__)
        if info.ispkg
    ]
    found: dict[str, Platform] = {}
    for module in candidates:
        platform = getattr(module, "PLATFORM", None)
        if isinstance(platform, Platform):
            found[platform.name] = platform
    for point in metadata.entry_points(group=ENTRY_POINTS):
        platform = point.load()
        if isinstance(platform, Platform) and platform.name not in found:
            found[platform.name] = platform
    for platform in found.values():
        logs.learn(platform.token_shapes, platform.loggers, platform.terse_loggers)
    return found


def verb_owner(verb: str) -> Platform | None:
    """The platform whose CLI verb this is."""
    return next((p for p in platforms().values() if verb in (p.verbs or (p.name,))), None)


def said_of(settings: Settings) -> Callable[[Lang], list[str]]:
    """What the enabled platforms say of themselves in the data sheet, per language."""
    return lambda lang: [line for p in enabled(settings) if (line := p.data_sheet(settings, lang))]


def declared_keys() -> tuple[KeyKind, ...]:
    """Every kind of Redis key Ruhepuls writes: the engine's and each platform's."""
    return key_kinds() + tuple(k for p in platforms().values() for k in p.keys())


def secret_values(settings: Settings) -> list[str]:
    """Every secret configured, Ruhepuls' own and each platform's, for the logs to mask."""
    return settings.secret_values() + [
        s for p in platforms().values() for s in p.section(settings).secret_values()
    ]


def enabled(settings: Settings) -> list[Platform]:
    return [p for p in platforms().values() if p.enabled(settings)]
