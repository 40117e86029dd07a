"""Which Bot Framework channels a signing key may speak for.

Bot Framework publishes its signing keys with an `endorsements` list per key (`msteams`,
`webchat`, …). Its own validators accept an activity only when the key that signed the token
endorses the activity's `channelId`; the Teams SDK checks the signature, issuer, audience and
expiry but not this. A key without endorsements endorses nothing here.

The key set is read from the same address the SDK reads (the cloud's OpenID metadata, `/keys`),
kept for an hour, and read again at most once a minute when a token names a key not yet known
(keys are rolled over).
"""

from __future__ import annotations

import logging
import re
import time

import httpx
import jwt

log = logging.getLogger("ruhepuls.teams")

KEEP_SECONDS = 3600.0
RETRY_SECONDS = 60.0
READ_SECONDS = 2.0
"""The longest an activity waits for the key set (read at most hourly, or for a new key)."""


def keys_url(openid_metadata_url: str) -> str:
    """The key set's address beside the OpenID metadata (as the SDK derives it)."""
    return re.sub(r"/openidconfiguration$", "/keys", openid_metadata_url)


class Endorsements:
    def __init__(self, url: str, http: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self._http = http
        self._keys: dict[str, frozenset[str]] = {}
        self._read_at = -KEEP_SECONDS

    async def allows(self, token: str, channel: object) -> bool:
        """Does the key that signed `token` (already verified) endorse `channel`?"""
        if not isinstance(channel, str) or not channel:
            return False
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return False
        if not isinstance(kid, str):
            return False
        now = time.monotonic()
        stale = now - self._read_at > KEEP_SECONDS
        unknown = kid not in self._keys and now - self._read_at > RETRY_SECONDS
        if stale or unknown:
            await self._read(now)
        return channel in self._keys.get(kid, frozenset())

    async def _read(self, now: float) -> None:
        try:
            if self._http is None:
                async with httpx.AsyncClient(timeout=READ_SECONDS) as http:
                    response = await http.get(self.url)
            else:
                response = await self._http.get(self.url, timeout=READ_SECONDS)
            response.raise_for_status()
            found = response.json().get("keys")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("teams signing keys not readable: %s", type(exc).__name__)
            return  # the keys known so far stay; asked again after RETRY_SECONDS
        keys: dict[str, frozenset[str]] = {}
        for key in found if isinstance(found, list) else []:
            if isinstance(key, dict) and isinstance(key.get("kid"), str):
                given = key.get("endorsements")
                keys[key["kid"]] = (
                    frozenset(e for e in given if isinstance(e, str))
                    if isinstance(given, list)
                    else frozenset()
                )
        self._keys, self._read_at = keys, now
