"""The team report's link: a token that says what the page shows (team, period, language) and
until when, signed with the server secret. No account, no session: whoever has the link may read
the report until it expires or the team's report key is renewed (`ruhepuls report --revoke`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from classifier import Lang

from .runtime import Runtime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, b"report\x1f" + payload.encode(), hashlib.sha256).digest()[:18])


MAX_LINK_DAYS = 90
"""No report link lives longer; one that claims to is refused."""


def sign(
    secret: bytes, team_id: str, start: date, end: date, lang: Lang, expires: datetime, key: str = ""
) -> str:
    """A link token: what the page shows (team, period, language), until when, and the team's
    report key (a new key revokes every earlier link), signed with the server secret. No
    account, no session: whoever has the link may read it until it expires or is revoked."""
    body = json.dumps(
        {
            "t": team_id,
            "f": start.isoformat(),
            "u": end.isoformat(),
            "l": lang,
            "e": int(expires.timestamp()),
            "g": key,
        },
        separators=(",", ":"),
    )
    payload = _b64(body.encode())
    return f"{payload}.{_mac(secret, payload)}"


@dataclass(frozen=True, slots=True)
class Grant:
    team: str
    start: date
    end: date
    lang: Lang
    expires: datetime
    key: str = ""


def verify(secret: bytes, token: str) -> Grant | None:
    """The grant of a token, or None when it was not made here or was altered: the signature is
    checked before anything is decoded. Whether it has expired is the caller's to check."""
    if len(token) > 400 or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
        return None
    try:
        d = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        grant = Grant(
            str(d["t"]),
            date.fromisoformat(d["f"]),
            date.fromisoformat(d["u"]),
            "en" if d["l"] == "en" else "de",
            datetime.fromtimestamp(int(d["e"]), UTC),
            str(d.get("g", "")),
        )
    except (ValueError, KeyError, TypeError):
        return None
    return grant


async def link(rt: Runtime, team_id: str, start: date, end: date, lang: Lang, days: int) -> str:
    """A signed link to the team report, valid `days` (1 to MAX_LINK_DAYS) days."""
    if not 1 <= days <= MAX_LINK_DAYS:
        raise ValueError(f"a report link is valid 1 to {MAX_LINK_DAYS} days")
    team = await rt.teams.team(team_id)
    expires = datetime.now(UTC) + timedelta(days=days)
    key = team.report_key or "" if team else ""
    return f"{rt.settings.base_url}/report/{sign(rt.secret, team_id, start, end, lang, expires, key)}"


def usable(grant: Grant, team_key: str | None, now: datetime) -> bool:
    """Still valid: not expired, not longer-lived than any link may be, and made with the team's
    current report key (not revoked, and not from a removed team whose id was reused)."""
    live = now < grant.expires <= now + timedelta(days=MAX_LINK_DAYS, minutes=5)
    return live and team_key is not None and hmac.compare_digest(grant.key, team_key)


REPORT_WEEKS = 26


async def recent_link(rt: Runtime, team_id: str, lang: Lang, weeks: int = REPORT_WEEKS) -> str:
    """A link to the team report of the last `weeks` weeks, valid RUHEPULS_REPORT_LINK_DAYS."""
    today = datetime.now(UTC).date()
    start = today - timedelta(weeks=max(1, min(weeks, 104)))
    return await link(rt, team_id, start, today, lang, rt.settings.report_link_days)


async def summary_link(rt: Runtime, team_id: str, lang: Lang) -> str | None:
    """The link a weekly post carries, when the web app's public address is known."""
    return await recent_link(rt, team_id, lang) if rt.settings.public_url else None
