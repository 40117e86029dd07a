"""The conversation's own texts (everything around the questions), validated like the
questionnaire: every text in every language, every command word known."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from classifier import Text
from classifier.text import load_texts


class Words(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    start: tuple[str, ...]
    resume: tuple[str, ...]
    back: tuple[str, ...]
    skip: tuple[str, ...]
    pause: tuple[str, ...]
    cancel: tuple[str, ...]
    help: tuple[str, ...]
    support: tuple[str, ...]
    plan: tuple[str, ...]
    """Ask for the team's Stufenplan ("Was darf ich?")."""
    de: tuple[str, ...]
    en: tuple[str, ...]
    crisis: tuple[str, ...]
    """Found anywhere in typed text (between word boundaries), at any length."""


class ConversationTexts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    intro: Text
    followup_progress: Text
    followup_stem: Text
    followup_question: Text
    followup_note: Text
    view_worse: Text
    view_same: Text
    view_some: Text
    view_clear: Text
    view_dk: Text
    followup_skip: Text
    reminder: Text
    start: Text
    later: Text
    other_language: Text
    later_when: Text
    in_an_hour: Text
    tomorrow: Text
    not_this_time: Text
    snoozed_hour: Text
    snoozed_tomorrow: Text
    not_this_time_ok: Text
    progress: Text
    skip: Text
    back: Text
    pause: Text
    resume: Text
    delete_answers: Text
    paused: Text
    unfinished: Text
    cancelled: Text
    already_done: Text
    nothing_saved: Text
    no_survey: Text
    unavailable: Text
    hint: Text
    help: Text
    free_text: Text
    support: Text
    what_helps: Text
    what_may_i_do: Text
    plan_heading: Text
    plan_dated: Text
    plan_none: Text
    plan_no_team: Text
    short_version: Text
    contacts_heading: Text
    offer_heading: Text
    review: Text
    review_round: Text
    finish_anyway: Text
    language_set: Text
    result_heading: Text
    paths_heading: Text
    stored_counted: Text
    stored_not_counted: Text
    orientation: Text
    remove_result: Text
    cancel_confirm: Text
    cancel_yes: Text
    cancel_no: Text
    words: Words = Field()


@cache
def texts() -> ConversationTexts:
    """The shipped conversation texts, loaded and validated once."""
    return load_texts(__package__, "texts.yaml", ConversationTexts)
