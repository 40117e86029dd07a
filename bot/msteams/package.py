"""`ruhepuls teams package`: the Teams app package an admin uploads in the Teams admin center.

A zip with `manifest.json` (schema 1.17: the bot's id, scopes `personal` and `team`, German
as the default language), `en-us.json` (the English names and descriptions) and the two icons,
drawn here: `color.png` (192 x 192) and `outline.png` (32 x 32, white on transparent). Both
files are validated against Microsoft's published schemas (kept in `schema/`) before anything
is written.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from PIL import Image, ImageDraw

from .texts import say

MANIFEST_VERSION = "1.17"
SCHEMA = (
    f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
LOCALIZATION_SCHEMA = f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.Localization.schema.json"
ACCENT = "#2F6F73"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
COMMANDS = (
    ("start", "start", "command_start"),
    ("hilfe", "help", "command_help"),
    ("pause", "pause", "command_pause"),
)


def _pulse(size: int, line: tuple[int, int, int, int], background: tuple[int, int, int, int]) -> bytes:
    """A calm pulse line: flat, one gentle beat, flat again."""
    image = Image.new("RGBA", (size, size), background)
    s = size / 32
    points = [(3, 17), (11, 17), (14, 11), (18, 23), (21, 17), (29, 17)]
    ImageDraw.Draw(image).line(
        [(x * s, y * s) for x, y in points], fill=line, width=max(2, round(2.5 * s)), joint="curve"
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def manifest(app_id: str, url: str, developer: str, version: str) -> dict[str, Any]:
    base = url.rstrip("/")
    host = re.sub(r"^https?://", "", base).split("/", 1)[0]
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "localizationInfo": {
            "defaultLanguageTag": "de-de",
            "additionalLanguages": [{"languageTag": "en-us", "file": "en-us.json"}],
        },
        "developer": {
            "name": developer,
            "websiteUrl": base,
            "privacyUrl": f"{base}/privacy",
            "termsOfUseUrl": f"{base}/terms",
        },
        "name": {"short": say("name_short", "de"), "full": say("name_full", "de")},
        "description": {"short": say("desc_short", "de"), "full": say("desc_full", "de")},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["personal"],
                        "commands": [
                            {"title": de, "description": say(text, "de")} for de, _, text in COMMANDS
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
    }


def localization() -> dict[str, Any]:
    texts = {
        "$schema": LOCALIZATION_SCHEMA,
        "name.short": say("name_short", "en"),
        "name.full": say("name_full", "en"),
        "description.short": say("desc_short", "en"),
        "description.full": say("desc_full", "en"),
    }
    for n, (_, en, text) in enumerate(COMMANDS):
        texts[f"bots[0].commandLists[0].commands[{n}].title"] = en
        texts[f"bots[0].commandLists[0].commands[{n}].description"] = say(text, "en")
    return texts


def invalid(document: dict[str, Any], schema: str) -> str | None:
    """What Microsoft's schema `schema` (from `schema/`) finds wrong with `document`, as
    `field: reason`, or None when it is valid."""
    from importlib import resources

    from jsonschema import Draft4Validator

    rules = json.loads(resources.files(__package__).joinpath("schema", schema).read_text("utf-8"))
    errors = sorted(Draft4Validator(rules).iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    where = ".".join(str(p) for p in errors[0].absolute_path) or "(the whole file)"
    reason = {"maxLength": f"longer than {errors[0].validator_value} characters"}.get(
        str(errors[0].validator), str(errors[0].message)[:200]
    )
    return f"{where}: {reason}"


def build(app_id: str, url: str, developer: str = "Ruhepuls", version: str = "1.0.0") -> bytes:
    """The package as zip bytes. Raises ValueError for an app id that is not a GUID or a URL
    that is not https."""
    if not GUID.match(app_id):
        raise ValueError("TEAMS_APP_ID must be the bot's Microsoft App ID (a GUID)")
    if not url.startswith("https://"):
        raise ValueError("--url must be the bot's public https address")
    if not 1 <= len(developer) <= 32:  # the manifest schema's developer.name maxLength
        raise ValueError("--developer takes 1 to 32 characters (the Teams manifest's limit)")
    main, english = manifest(app_id, url, developer, version), localization()
    refused = invalid(main, "MicrosoftTeams.schema.json") or invalid(
        english, "MicrosoftTeams.Localization.schema.json"
    )
    if refused:
        raise ValueError(f"Teams would refuse the package: {refused}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(main, ensure_ascii=False, indent=2))
        z.writestr("en-us.json", json.dumps(english, ensure_ascii=False, indent=2))
        z.writestr("color.png", _pulse(192, (255, 255, 255, 255), (0x2F, 0x6F, 0x73, 255)))
        z.writestr("outline.png", _pulse(32, (255, 255, 255, 255), (0, 0, 0, 0)))
    return out.getvalue()
