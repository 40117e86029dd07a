"""What the Teams app says beyond the survey (bot/msteams/texts.yaml), validated at start."""

from __future__ import annotations

from functools import cache

from classifier import Lang, Text
from classifier.text import TextCatalog, load_texts


class TeamsTexts(TextCatalog):
    not_installed: Text
    lead_not_found: Text
    name_short: Text
    name_full: Text
    desc_short: Text
    desc_full: Text
    command_start: Text
    command_help: Text
    command_pause: Text


@cache
def teams_texts() -> TeamsTexts:
    return load_texts(__package__ or "bot.msteams", "texts.yaml", TeamsTexts)


def say(name: str, lang: Lang, **fmt: object) -> str:
    return teams_texts()(name, lang, **fmt)
