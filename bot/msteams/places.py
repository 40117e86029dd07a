"""`ruhepuls teams list`: the Teams teams the app is installed in (seen at installation) and
their channels (read from the connector), each with the id `ruhepuls team add` takes, so nobody
copies a `19:` id out of a link."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..runtime import Runtime
from ..settings import Settings
from .settings import TeamsSettings

if TYPE_CHECKING:
    from .sdk import Sdk

NOT_INSTALLED = "the app is installed in no team yet (in Teams: Apps > Ruhepuls > Add to a team)"


@dataclass(frozen=True)
class Channel:
    id: str
    name: str


@dataclass(frozen=True)
class Place:
    team: str
    name: str
    channels: tuple[Channel, ...]
    unread: str = ""
    """Why the channels could not be read (empty: they were, or there was nothing to read)."""


async def places(rt: Runtime) -> list[Place]:
    from flows.keys import text
    from flows.references import References

    from .inbound import INSTALLED

    refs = References(rt.redis, rt.secret, "teams")
    installed = sorted((await rt.redis.hgetall(INSTALLED)).items())
    sdk = _sdk(rt) if installed else None  # one app (and one token) for every team's listing
    found = []
    for raw_team, raw in installed:
        team, place = text(raw_team), json.loads(raw)
        channels, unread = await _channels(sdk, team, await refs.get("team", team))
        if not channels and place.get("channel"):
            channels = (Channel(place["channel"], place.get("channel_name") or ""),)
        found.append(Place(team, place.get("name") or "", channels, unread))
    return found


def _sdk(rt: Runtime) -> Sdk | None:
    from . import sdk

    return sdk.build(rt.settings) if rt.settings.section(TeamsSettings).enabled else None


async def _channels(
    sdk: Sdk | None, team: str, ref: dict[str, str] | None
) -> tuple[tuple[Channel, ...], str]:
    """The team's channels as the connector lists them (General has no name there)."""
    from .connector import Unreachable, call

    if ref is None:
        return (), "installation not seen"
    if sdk is None:
        return (), "its channels are listed with the TEAMS_ settings set"
    api = sdk.api(ref["svc"])
    try:
        listed = await call("channels", lambda: api.teams.get_conversations(team), attempts=3)
    except Unreachable as exc:
        return (), f"its channels could not be read: {exc.status}"
    except Exception as exc:  # a token Entra refused, the network: its type, never its text
        return (), f"its channels could not be read ({type(exc).__name__}): `ruhepuls doctor` says why"
    return tuple(Channel(c.id, c.name or "General") for c in listed if c.id), ""


async def lead_channel_known(rt: Runtime, channel: str) -> bool | None:
    """Whether a lead channel lies in a team the app is installed in (None: the channels of some
    team could not be read, so nobody can tell)."""
    found = await places(rt)
    if any(channel == p.team or channel in {c.id for c in p.channels} for p in found):
        return True
    return None if any(p.unread for p in found) else False


def render(found: list[Place]) -> str:
    if not found:
        return NOT_INSTALLED
    lines = []
    for p in found:
        lines.append(f"{p.name or '(no name)'}: --channel {p.team}")
        lines += [f"  channel {c.name or '(no name)'}: --lead-channel {c.id}" for c in p.channels]
        if p.unread:
            lines.append(f"  ({p.unread})")
    return "\n".join(lines)


def installed(settings: Settings) -> str:
    import asyncio

    from ..runtime import runtime

    async def read() -> list[Place]:
        async with runtime(settings) as rt:
            return await places(rt)

    return render(asyncio.run(read()))
