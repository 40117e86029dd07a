"""Every Redis key name Ruhepuls uses, in one place.

All keys of one scope share a hash tag `{scope}`, so that a transition script touching a
session, its seen-event set and its team's counters runs on Redis Cluster too. A scope is a
team id, or `solo` for people outside any team. No key carries a plain platform user id: people
appear only as a keyed hash (HMAC-SHA256 with the server secret), which cannot be reversed
without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PREFIX = "rp"
SOLO = "solo"
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def pseudonym(secret: bytes, platform: str, user_id: str) -> str:
    """A stable keyed hash of a platform user; 32 hex characters."""
    mac = hmac.new(secret, f"{platform}\x1f{user_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _tag(scope: str) -> str:
    if not _SAFE.match(scope):
        raise ValueError("scope must be 1-64 characters of A-Z a-z 0-9 _ . -")
    return f"{PREFIX}:{{{scope}}}"


def session(scope: str, person: str) -> str:
    """Hash with `v` (version) and, while a survey is in progress, `d` (the session)."""
    return f"{_tag(scope)}:s:{person}"


def seen(scope: str, person: str) -> str:
    """Set of event ids already applied for this person (dedup of re-deliveries)."""
    return f"{_tag(scope)}:e:{person}"


def counters(scope: str, round_id: str, window: str) -> str:
    """Hash of aggregate counters of one round's reporting window (see classifier.aggregate)."""
    return f"{_tag(scope)}:agg:{round_id}:{window}"


def counters_pattern(scope: str) -> str:
    return f"{_tag(scope)}:agg:*"
