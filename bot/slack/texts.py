"""What the Slack app says beyond the survey (bot/slack/texts.yaml), validated at start."""

from __future__ import annotations

from functools import cache

from classifier import Lang, Text
from classifier.text import TextCatalog, load_texts


class SlackTexts(TextCatalog):
    not_installed: Text
    which_workspace: Text


@cache
def slack_texts() -> SlackTexts:
    return load_texts(__package__ or "bot.slack", "texts.yaml", SlackTexts)


def say(name: str, lang: Lang, **fmt: object) -> str:
    return slack_texts()(name, lang, **fmt)
