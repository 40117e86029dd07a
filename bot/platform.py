"""The adapter shape, written down once: what a chat platform provides to Ruhepuls.

A platform is a package `bot/<name>/` whose `__init__` exposes `PLATFORM`, an object with:

- `name`: as in `RUHEPULS_ADMINS` (`<name>:<user id>`) and `ruhepuls team add --platform`;
- `enabled(settings)`: whether its credentials are configured;
- `receive(rt, stack)`: the inbound side for the web app, a FastAPI `APIRouter` with the
  platform's routes (most often one `webhook`: a path, a check on the headers run before any
  body is read, and a handler for POST requests whose body was read, capped at `MAX_BODY`; a
  platform may add pages or a WebSocket), or None when it needs no route (Slack Socket Mode,
  Telegram polling). The handler verifies the request before
  it decodes anything, turns what a person did into `flows.events`, runs it through
  `rt.conversations` with the person's pseudonym (`rt.person(name, user id)`), renders the
  `flows.messages` in the platform's own format and sends them without making the request wait
  out a rate limit. Bad input gets a 4xx, never a 5xx;
- `reach(rt, stack)`: the proactive side for the worker, an `Outreach`: the members of a team,
  an invitation or reminder to one of them, whether a tagged message arrived, the weekly summary
  to a lead channel, and any housekeeping a tick should do;
- `check(rt)`: for `ruhepuls doctor`, whether its credentials work (a `Check` per finding).

`bot.web`, `bot.worker` and the CLI know platforms only through this module, so a fourth
platform is a new folder (and its settings), not edits across the tree.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from flows import messages as msg
from flows.teams import Team

from .settings import Settings

if TYPE_CHECKING:
    from .runtime import Runtime

MALFORMED = (
    ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError, UnicodeDecodeError,
    OverflowError, OSError,  # a date of 1e20 seconds: "timestamp out of range"
)  # fmt: skip
"""What parsing a body that passed its check may raise: a receiver answers it 400, never 500."""


@dataclass(frozen=True, slots=True)
class Retry:
    """Not delivered this time, with the platform's error code (for the admin): tried again
    later, with a growing pause, and given up after a few tries."""

    code: str


Delivery = Literal["sent", "gone"] | Retry
"""An invitation's fate: arrived, can never arrive (blocked, not installed), try again later."""


@dataclass(frozen=True, slots=True)
class Member:
    address: str
    """Where to send: a Slack user id, a Telegram chat id, Teams ids. Never stored with a survey."""
    person: str
    """The pseudonym, as the survey store knows them."""


class Outreach(Protocol):
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


class Platform(Protocol):
    name: str

    def enabled(self, settings: Settings) -> bool: ...
    async def receive(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> APIRouter | None: ...
    async def reach(self, rt: Runtime, stack: contextlib.AsyncExitStack) -> Outreach: ...
    async def check(self, rt: Runtime) -> list[Check]: ...


@cache
def platforms() -> dict[str, Platform]:
    """Every platform package under bot/, by name."""
    import bot

    found: dict[str, Platform] = {}
    for info in pkgutil.iter_modules(bot.__path__):
        if info.ispkg:
            module = importlib.import_module(f"bot.{info.name}")
            platform = getattr(module, "PLATFORM", None)
            if platform is not None:
                found[platform.name] = platform
    return found


def enabled(settings: Settings) -> list[Platform]:
    return [p for p in platforms().values() if p.enabled(settings)]
