"""The web chat page's own texts (bot/webchat/texts.yaml), validated at start."""

from __future__ import annotations

from functools import cache

from classifier.text import Text, TextCatalog, load_texts


class WebTexts(TextCatalog):
    title: Text
    tagline: Text
    link_gone: Text
    solo_link: Text
    cleared: Text
    again: Text
    refused: Text
    slow_down: Text
    data_sheet: Text
    poster_title: Text
    poster_what: Text
    poster_free: Text
    poster_scan: Text


@cache
def web_texts() -> WebTexts:
    return load_texts(__package__ or "bot.webchat", "texts.yaml", WebTexts)
