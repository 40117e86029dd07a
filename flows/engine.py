"""The conversation as a pure state machine.

`step(config, session, event, lang=..., now=...)` takes the stored session (None when the person
has no survey in progress) and one inbound event, and returns the new session (None: nothing to
keep), the messages to send, and, when a survey inside a round completes, the anonymous
contribution to count. No I/O, no clock: time comes in as an argument.

The rules are the table `RULES` below: for the person's state and the event's type, the first
row whose guard holds names the action. Typed text is first turned into what it means
(`flows.typed`), so every event takes one path through the table. A reader can check it
against the product line by line. The actions are in `flows.actions`, the messages they say in
`flows.compose`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from classifier import Lang
from classifier.stufenplan import Plan

from . import events as ev
from .actions import (
    begin,
    can_go_back,
    cancel,
    check_back,
    crisis,
    delete_message,
    finish,
    finish_anyway,
    followup_again,
    free_text,
    go_back,
    hint,
    is_current,
    is_current_and_last,
    later,
    not_this_time,
    nothing_saved,
    offer_intro,
    pause,
    record,
    reshow,
    resume,
    review,
    review_back,
    show_help,
    show_plan,
    show_result,
    show_support,
    snooze,
    survey_gone,
    switch_language,
    unfinished,
)
from .compose import invitation
from .context import (
    ANY,
    FOLLOWUP,
    NONE,
    OPEN,
    REVIEW,
    Action,
    Completion,
    Config,
    Ctx,
    Distress,
    Followup,
    Guard,
    Input,
    Remark,
    Step,
    Unclear,
)
from .events import Event
from .session import Session, State
from .typed import meaning

__all__ = ["RULES", "Completion", "Config", "Followup", "Rule", "Step", "invitation", "rule_for", "step"]


@dataclass(frozen=True, slots=True)
class Rule:
    states: frozenset[str]
    event: type | tuple[type, ...]
    guard: Guard | None
    action: Action


NO = frozenset({NONE})
ASKING = frozenset({State.ASKING})
PAUSED = frozenset({State.PAUSED})

RULES: tuple[Rule, ...] = (
    # from     event                       guard                 action
    Rule(ANY, ev.Dismiss, None, delete_message),
    Rule(ANY, ev.ShowResult, None, show_result),  # from the result's own key
    Rule(ANY, ev.Help, None, show_help),
    Rule(ANY, ev.Support, None, show_support),
    Rule(ANY, ev.Plan, None, show_plan),
    Rule(ANY, Distress, None, crisis),  # however short
    Rule(ANY, Remark, None, free_text),
    Rule(NO, ev.Start, None, begin),
    Rule(NO, ev.Later, None, later),
    Rule(NO, ev.Snooze, None, snooze),
    Rule(NO, ev.NotThisTime, None, not_this_time),
    Rule(NO, ev.Cancel, None, nothing_saved),
    Rule(NO, (ev.Answer, ev.Back, ev.Finish, ev.CheckBack), None, survey_gone),
    Rule(FOLLOWUP, ev.CheckBack, None, check_back),
    Rule(FOLLOWUP, ev.Cancel, None, cancel),
    Rule(FOLLOWUP, ev.Language, None, switch_language),
    Rule(
        FOLLOWUP,
        (ev.Answer, ev.Back, ev.Start, ev.Resume, ev.Pause, ev.Finish, ev.Later, ev.Snooze, ev.NotThisTime),
        None,
        followup_again,
    ),
    Rule(REVIEW, ev.Finish, None, finish_anyway),  # no result, knowingly
    Rule(REVIEW, ev.Back, can_go_back, review_back),
    Rule(REVIEW, ev.Pause, None, pause),
    Rule(REVIEW, ev.Cancel, None, cancel),
    Rule(REVIEW, ev.Language, None, switch_language),
    Rule(
        REVIEW,
        (ev.Answer, ev.Back, ev.Start, ev.Resume, ev.Later, ev.Snooze, ev.NotThisTime, ev.CheckBack),
        None,
        review,
    ),
    Rule(NO, (ev.Pause, ev.Resume, ev.Language), None, offer_intro),
    Rule(OPEN, ev.Answer, is_current_and_last, finish),
    Rule(OPEN, ev.Answer, is_current, record),
    Rule(OPEN, ev.Answer, None, reshow),  # stale or repeated click
    Rule(OPEN, ev.Back, can_go_back, go_back),
    Rule(OPEN, ev.Back, None, reshow),
    Rule(OPEN, (ev.Pause, ev.Later, ev.Snooze, ev.NotThisTime), None, pause),
    Rule(OPEN, (ev.Start, ev.Resume), None, resume),  # continue where they stopped
    Rule(OPEN, ev.Cancel, None, cancel),
    Rule(OPEN, (ev.Finish, ev.CheckBack), None, reshow),
    Rule(OPEN, ev.Language, None, switch_language),
    # typed text that means nothing the table knows: each state's own answer
    Rule(NO, Unclear, None, offer_intro),
    Rule(ASKING, Unclear, None, hint),
    Rule(PAUSED, Unclear, None, unfinished),
    Rule(REVIEW, Unclear, None, review),
    Rule(FOLLOWUP, Unclear, None, followup_again),
)


def rule_for(ctx: Ctx, s: Session | None, e: Input) -> Rule:
    """The first row of the table that applies to this state and event."""
    state = NONE if s is None else s.state
    for rule in RULES:
        if state in rule.states and isinstance(e, rule.event):
            if rule.guard is None or (s is not None and rule.guard(ctx, s, e)):
                return rule
    raise AssertionError(f"no rule for {state} / {type(e).__name__}")  # the table is total


def step(
    cfg: Config,
    session: Session | None,
    event: Event,
    *,
    lang: Lang = "de",
    now: datetime,
    round_id: str | None = None,
    already_done: bool = False,
    followup: Followup | None = None,
    just_finished: bool = False,
    in_team: bool = False,
    plan: Plan | None = None,
) -> Step:
    """Apply one event.

    `lang` is the language for a person with no session (their platform's locale or the
    deployment default); `now` dates a completion to its reporting week; `round_id` is the open
    round of the person's team (a survey begun now counts there), and `already_done` says
    that they finished that round already (they may not answer it twice); `followup` the
    team's running measure this round checks back on, after the twelve; `just_finished` that
    the person completed a survey within the hour (a click on it then changes nothing shown);
    `in_team` and `plan`: whether the person belongs to a team and its Stufenplan, looked up
    only for an event that shows it (`wants_plan`).
    """
    ctx = Ctx(cfg, lang, now, round_id, already_done, followup, just_finished, in_team, plan)
    meant = meaning(ctx, session, event.text) if isinstance(event, ev.Typed) else event
    return rule_for(ctx, session, meant).action(ctx, session, meant)
