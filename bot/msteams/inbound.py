"""What an inbound request must be before the Teams SDK sees it: an activity of a kind
Ruhepuls handles, well-formed (the SDK would answer anything else with a 500), and, in
development mode, from this machine only; and what an activity says (who, where, what text)."""

from __future__ import annotations

import re
from typing import Any

from flows.keys import PREFIX

HANDLED = {"message", "invoke", "conversationUpdate", "installationUpdate"}
INSTALLED = f"{PREFIX}:msteams:installed"
"""Hash: Teams team id -> the team's and channel's names where the app is installed (keys.yaml)."""
FORWARDED = ("x-forwarded-for", "x-forwarded-host", "forwarded", "x-original-host", "x-ms-forwarded-host")
"""Headers a proxy or dev tunnel adds: development mode refuses such requests."""


def is_loopback(url: str) -> bool:
    """Does `url` point at this machine (the Bot Framework Emulator, a local test)?"""
    import ipaddress
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


INSTALL_ACTIONS = {
    "add": "add",
    "add-upgrade": "add",
    "upgrade": "add",
    "remove": "remove",
    "remove-upgrade": "remove",
}
"""installationUpdate's actions as Teams sends them, to the SDK's two: an app upgrade that adds
the bot (`add-upgrade`), or keeps it (`upgrade`), keeps its reference (stored again: the service
URL may have moved); one that removes it (`remove-upgrade`) forgets it, as Bot Framework's own
SDKs dispatch them (botframework-sdk#6139)."""


def checked(data: object) -> object | None:
    """The activity, if it is one we handle and well-formed (ValueError if it is malformed);
    None for a kind we do not handle. Validated here so that the SDK never meets a body it
    would answer with a 500."""
    from microsoft_teams.api import ActivityTypeAdapter
    from microsoft_teams.apps.events import CoreActivity
    from pydantic import ValidationError

    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError("not an activity")
    service_url = data.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url.startswith(("https://", "http://")):
        raise ValueError("no serviceUrl")
    if data["type"] not in HANDLED:
        return None
    if data["type"] == "installationUpdate":
        action = INSTALL_ACTIONS.get(str(data.get("action")))
        if action is None:  # an action Teams may add one day: nothing to keep or forget
            return None
        data["action"] = action
    try:
        core = CoreActivity.model_validate(data)
        return ActivityTypeAdapter.validate_python(core.model_dump(by_alias=True, exclude_none=True))
    except ValidationError as exc:
        raise ValueError("not a valid activity") from exc


_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"(?i)<br\s*/?>|</p>|</div>")


def plain(text: object) -> str:
    """A Teams message's text without mentions and markup, its lines kept (a step plan is
    written one step per line; Teams sends a line break as text or as markup)."""
    if not isinstance(text, str):
        return ""
    text = _TAG.sub(" ", _BREAK.sub("\n", re.sub(r"<at>.*?</at>", " ", text)))
    return "\n".join(line for raw in text.splitlines() if (line := " ".join(raw.split())))


def user_of(activity: Any) -> str | None:
    """The Entra object id of whoever acted (the id Teams keeps for a person across chats)."""
    who = getattr(activity, "from_", None)
    ident = getattr(who, "aad_object_id", None) or getattr(who, "id", None)
    return ident if isinstance(ident, str) and ident else None


def is_personal(activity: Any) -> bool:
    return getattr(activity.conversation, "conversation_type", None) == "personal"
