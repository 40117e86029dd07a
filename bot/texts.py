"""What the edge says (admin replies, refusals, platform hints), validated like every other text
file: each text in every language, a missing one fails `ruhepuls check`."""

from __future__ import annotations

from functools import cache

from classifier import Lang, Text
from classifier.text import TextCatalog, load_texts


class BotTexts(TextCatalog):
    usage: Text
    measure_role_other: Text
    measure_role_prompt: Text
    report_button: Text
    measure_refused: Text
    measure_button: Text
    measure_title: Text
    measure_pick: Text
    measure_own: Text
    measure_own_prompt: Text
    measure_role: Text
    measure_role_default: Text
    measure_roles: Text
    measure_due: Text
    measure_due_2w: Text
    measure_due_4w: Text
    measure_due_8w: Text
    measure_due_12w: Text
    measure_check: Text
    measure_check_next: Text
    measure_check_4w: Text
    measure_check_8w: Text
    measure_save: Text
    measure_cancel: Text
    measure_need_what: Text
    measure_bad_role: Text
    measure_names_someone: Text
    measure_saved: Text
    measure_when_next: Text
    measure_when_date: Text
    measure_none: Text
    measure_row: Text
    measure_no_such: Text
    measure_status_set: Text
    measure_gone: Text
    plan_usage: Text
    plan_saved: Text
    plan_current: Text
    plan_none_yet: Text
    plan_template: Text
    plan_steps: Text
    plan_fields: Text
    plan_names_someone: Text
    plan_length: Text
    plan_other_dropped: Text
    plan_refused: Text
    plan_measure: Text
    plan_in_summary: Text
    refused: Text
    no_team: Text
    no_teams: Text
    days_range: Text
    round_too_short: Text
    round_already_open: Text
    round_opened: Text
    no_round_open: Text
    round_closed: Text
    no_round_yet: Text
    status: Text
    state_open: Text
    state_closed: Text
    part_later: Text
    part_enough: Text
    part_not_enough: Text
    link_days: Text
    link_uses: Text
    to_home: Text
    home_clear: Text
    home_empty: Text
    dm_sent: Text
    private_only: Text
    joined: Text
    bad_code: Text
    result_removed: Text
    press_not_understood: Text
    press_done: Text
    queue_down: Text
    unreachable: Text
    unreachable_one: Text
    not_invited_yet: Text
    send_failed: Text
    terms: Text
    pool_to_parent: Text
    pool_dropped: Text
    pool_lost: Text


@cache
def bot_texts() -> BotTexts:
    """The shipped edge texts, loaded and validated once."""
    return load_texts(__package__ or "bot", "texts.yaml", BotTexts)


def say(name: str, lang: Lang, **fmt: object) -> str:
    return bot_texts()(name, lang, **fmt)


class ReportTexts(TextCatalog):
    title: Text
    period: Text
    purpose: Text
    chart: Text
    chart_alt: Text
    chart_note: Text
    measures: Text
    no_measures: Text
    summaries: Text
    no_summaries: Text
    method: Text
    version: Text
    rule: Text
    generated: Text
    expires: Text
    refused: Text
    link_line: Text
    plan: Text
    plan_title: Text
    plan_intro: Text


@cache
def report_texts() -> ReportTexts:
    """The team report's texts (bot/report.yaml)."""
    return load_texts("bot", "report.yaml", ReportTexts)
