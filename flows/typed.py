"""What typed text means: words of distress (at any length), an answer or a command in either
language, something the person wanted to say, or nothing the table knows. `meaning` turns a
`Typed` event into one of these before the table is consulted, so typed text takes the same
single path through the table as a press."""

from __future__ import annotations

import re

from . import events as ev
from .context import FREE_TEXT_WORDS, Config, Ctx, Distress, Input, Remark, Unclear
from .events import Event
from .session import Session


def meaning(ctx: Ctx, s: Session | None, text: str) -> Input:
    """The event typed `text` stands for in the person's state."""
    if _distress(ctx, text):
        return Distress()
    meant = interpret(ctx, s, text)
    if meant is not None:
        return meant
    if len(text.split()) >= FREE_TEXT_WORDS:
        return Remark()
    return Unclear()


def _distress(ctx: Ctx, text: str) -> bool:
    t = " " + " ".join(re.sub(r"[^\w'’]+", " ", text.lower()).split()).replace("’", "'") + " "
    return any(f" {w} " in t for w in ctx.cfg.texts.words.crisis)


def _word(ctx: Ctx, text: str) -> str | None:
    words = ctx.cfg.texts.words
    for name in ("start", "resume", "back", "skip", "pause", "cancel", "help", "support", "plan", "de", "en"):
        if text in getattr(words, name):
            return name
    return None


def _scale_value(ctx: Ctx, text: str) -> int | None:
    if text in {"0", "1", "2", "3", "4"}:
        return int(text)
    for point in ctx.cfg.questionnaire.scale:
        if text in (point.label.de.lower(), point.label.en.lower()):
            return point.value
    return None


def interpret(ctx: Ctx, s: Session | None, text: str) -> Event | None:
    """What typed text means in the current state; None when it means nothing."""
    t = " ".join(text.strip().lower().split()).rstrip(".!")
    if s is not None:
        current = ctx.cfg.questionnaire.items[s.index]
        value = _scale_value(ctx, t)
        if value is not None:
            return ev.Answer(current.id, value)
        if t in _skip_phrases(ctx):
            return ev.Answer(current.id, None)
    word = _word(ctx, t)
    simple: dict[str | None, Event] = {
        "resume": ev.Resume(),
        "back": ev.Back(None),
        "pause": ev.Pause(),
        "cancel": ev.Cancel(),
        "help": ev.Help(),
        "support": ev.Support(),
        "plan": ev.Plan(),
        "de": ev.Language("de"),
        "en": ev.Language("en"),
    }
    if word == "start":  # with no survey, a greeting gets the intro (see on_text)
        return ev.Start(s.lang) if s else None
    if word == "skip" and s is not None:
        return ev.Answer(ctx.cfg.questionnaire.items[s.index].id, None)
    return simple.get(word)


def wants_plan(cfg: Config, event: Event) -> bool:
    """Does the event show the team's Stufenplan (so its lookup is worth a read)?"""
    if isinstance(event, ev.Plan):
        return True
    if isinstance(event, ev.ShowResult):
        return event.view == "a"
    if isinstance(event, ev.Typed):
        return " ".join(event.text.strip().lower().split()).rstrip(".!") in cfg.texts.words.plan
    return False


def _skip_phrases(ctx: Ctx) -> set[str]:
    label = ctx.cfg.questionnaire.skip_label
    return {label.de.lower(), label.en.lower()}
