"""The guards and actions the table in `flows.engine` names: each action takes the step's
context, the session (None: no survey in progress) and the event, and returns the `Step`."""

from __future__ import annotations

from dataclasses import replace

import classifier
from classifier.measures import view_field

from . import compose
from . import events as ev
from . import messages as msg
from .context import Completion, Ctx, Input, Step
from .events import encode
from .session import Session, State


def is_current(ctx: Ctx, s: Session, e: Input) -> bool:
    """Does the click answer the question now on screen (not an old or repeated one)?"""
    item_id = e.item_id if isinstance(e, (ev.Answer, ev.Back)) else None
    return item_id == ctx.cfg.questionnaire.items[s.index].id


def is_current_and_last(ctx: Ctx, s: Session, e: Input) -> bool:
    return is_current(ctx, s, e) and s.index == len(ctx.cfg.questionnaire.items) - 1


def can_go_back(ctx: Ctx, s: Session, e: Input) -> bool:
    typed = isinstance(e, ev.Back) and e.item_id is None
    return s.index > 0 and (typed or is_current(ctx, s, e))


def offer_intro(ctx: Ctx, s: Session | None, e: Input) -> Step:
    lang = e.lang if isinstance(e, ev.Language) else ctx.lang
    return Step(None, (compose.intro(ctx, lang),))


def begin(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert isinstance(e, ev.Start)
    lang = e.lang or ctx.lang
    if ctx.round_id and ctx.already_done:
        return Step(None, (msg.Notice(ctx.t("already_done", lang)),))
    new = Session.new(lang, len(ctx.cfg.questionnaire.items), ctx.round_id, ctx.cfg.questionnaire.version)
    return Step(new, (compose.question(ctx, new),))


def later(ctx: Ctx, s: Session | None, e: Input) -> Step:
    """Not now: when may Ruhepuls ask again?"""
    lang = ctx.lang
    choices = (
        msg.Choice(ctx.t("in_an_hour", lang), encode(ev.Snooze(1))),
        msg.Choice(ctx.t("tomorrow", lang), encode(ev.Snooze(24))),
        msg.Choice(ctx.t("not_this_time", lang), encode(ev.NotThisTime())),
    )
    return Step(None, (msg.Menu(ctx.t("later_when", lang), choices),))


def snooze(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert isinstance(e, ev.Snooze)
    text = ctx.t("snoozed_hour" if e.hours == 1 else "snoozed_tomorrow")
    return Step(None, (msg.Notice(text),), snooze_hours=e.hours)


def not_this_time(ctx: Ctx, s: Session | None, e: Input) -> Step:
    return Step(None, (msg.Notice(ctx.t("not_this_time_ok")),), quiet_round=True)


def nothing_saved(ctx: Ctx, s: Session | None, e: Input) -> Step:
    return Step(None, (msg.Notice(ctx.t("nothing_saved")),))


def survey_gone(ctx: Ctx, s: Session | None, e: Input) -> Step:
    """A click on a question of a survey that no longer runs. Right after a completion it is a
    double or late tap on the message that now holds the result: nothing is said, so that no
    platform replaces the result with anything."""
    if ctx.just_finished:
        return Step(None, ())
    return Step(None, (msg.Notice(ctx.t("no_survey")), compose.intro(ctx, ctx.lang)))


def show_help(ctx: Ctx, s: Session | None, e: Input) -> Step:
    lang = s.lang if s else ctx.lang
    acute = ctx.cfg.questionnaire.signpost.acute(lang)
    out: tuple[msg.Message, ...] = (msg.Notice(f"{ctx.t('help', lang)}\n\n{acute}"),)
    return Step(s, out + compose.where_you_were(ctx, s))


def show_support(ctx: Ctx, s: Session | None, e: Input) -> Step:
    lang = s.lang if s else ctx.lang
    return Step(s, (msg.Notice(compose.support_text(ctx, lang)),) + compose.where_you_were(ctx, s))


def show_plan(ctx: Ctx, s: Session | None, e: Input) -> Step:
    """The team's Stufenplan (what the person may do), then where they were."""
    lang = s.lang if s else ctx.lang
    text = "\n\n".join(compose.plan_lines(ctx, lang))
    rest = compose.where_you_were(ctx, s) if s is not None else ()
    return Step(s, (msg.Notice(text),) + rest)


def crisis(ctx: Ctx, s: Session | None, e: Input) -> Step:
    """Words of distress, however short: the crisis line first, then what free text gets."""
    lang = s.lang if s else ctx.lang
    return free_text(ctx, s, e, first=ctx.cfg.questionnaire.signpost.acute(lang))


def free_text(ctx: Ctx, s: Session | None, e: Input, first: str | None = None) -> Step:
    """Something the person wanted to say: never read, never stored; a kind word and help
    (after `first`, the crisis line, when it was words of distress)."""
    lang = s.lang if s else ctx.lang
    text = f"{ctx.t('free_text', lang)}\n\n{compose.support_text(ctx, lang)}"
    if first:
        text = f"{first}\n\n{text}"
    rest = compose.where_you_were(ctx, s) if s is not None else (compose.intro(ctx, lang),)
    return Step(s, (msg.Notice(text),) + rest)


def delete_message(ctx: Ctx, s: Session | None, e: Input) -> Step:
    return Step(s, (msg.Delete(),))


def reshow(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None
    return Step(s, (compose.question(ctx, s),))


def record(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None and isinstance(e, ev.Answer)
    new = s.with_answer(e.value)
    return Step(new, (compose.question(ctx, new),))


def go_back(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None
    new = replace(s, index=s.index - 1, state=State.ASKING)
    return Step(new, (compose.question(ctx, new),))


def pause(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None
    new = replace(s, state=State.PAUSED)
    return Step(new, (msg.Notice(ctx.t("paused", s.lang, days=ctx.cfg.session_ttl_days)),))


def resume(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None
    new = replace(s, state=State.ASKING)
    return Step(new, (compose.question(ctx, new),))


def cancel(ctx: Ctx, s: Session | None, e: Input) -> Step:
    """Deleting the answers is asked first; only the confirming press deletes them."""
    assert s is not None and isinstance(e, ev.Cancel)
    if not e.confirmed:
        choices = (
            msg.Choice(ctx.t("cancel_yes", s.lang), encode(ev.Cancel(True))),
            msg.Choice(ctx.t("cancel_no", s.lang), encode(ev.Resume())),
        )
        return Step(s, (msg.Menu(ctx.t("cancel_confirm", s.lang), choices),))
    return Step(None, (msg.Notice(ctx.t("cancelled", s.lang)),))


def switch_language(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None and isinstance(e, ev.Language)
    new = replace(s, lang=e.lang)
    out: tuple[msg.Message, ...] = (msg.Notice(ctx.t("language_set", e.lang)),)
    return Step(new, out + compose.where_you_were(ctx, new))


def unfinished(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None
    total = len(ctx.cfg.questionnaire.items)
    text = ctx.t("unfinished", s.lang, n=s.index + 1, total=total)
    choices = (
        msg.Choice(ctx.t("resume", s.lang), encode(ev.Resume())),
        msg.Choice(ctx.t("delete_answers", s.lang), encode(ev.Cancel())),
    )
    return Step(s, (msg.Menu(text, choices),))


def hint(ctx: Ctx, s: Session | None, e: Input) -> Step:
    return Step(s, (msg.Notice(ctx.t("hint", s.lang if s else ctx.lang)),))


def finish(ctx: Ctx, s: Session | None, e: Input) -> Step:
    """The last answer: the result, or first the warning when it would be "no result"."""
    assert s is not None and isinstance(e, ev.Answer)
    done = s.with_answer(e.value)
    q = ctx.cfg.questionnaire
    if (
        classifier.classify(q, done.answer_map(tuple(i.id for i in q.items))).outcome
        is classifier.Outcome.NO_RESULT
    ):
        review = replace(done, index=s.index, state=State.REVIEW)
        return Step(review, (compose.review_menu(ctx, review),))
    return complete(ctx, done)


def finish_anyway(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None
    return complete(ctx, s)


def complete(ctx: Ctx, done: Session, view: ev.CheckBack | None = None) -> Step:
    """The result; first, in a round whose team runs a measure, the check-back question (only
    for a survey that counts and has a result: the view is counted with it, never alone)."""
    q = ctx.cfg.questionnaire
    answers = done.answer_map(tuple(i.id for i in q.items))
    counted = compose.counts_in_round(ctx, done)
    completion = None
    if counted:
        contribution = classifier.contribution(q, answers)
        if ctx.followup is not None and contribution and view is None:
            asking = replace(done, index=len(q.items) - 1, state=State.FOLLOWUP)
            return Step(asking, (compose.followup_question(ctx, asking, ctx.followup),))
        if ctx.followup is not None and view is not None and view.view is not None and contribution:
            contribution[view_field(ctx.followup.id, view.view)] = 1
        year, week, _ = ctx.now.isocalendar()
        completion = Completion(str(done.round_id), f"{year}-W{week:02d}", contribution)
    key = classifier.result_key(q, answers, counted=counted)
    return Step(None, (compose.result(ctx, key, "s", done.lang),), completion, finished=True)


def check_back(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None and isinstance(e, ev.CheckBack)
    return complete(ctx, s, e)


def followup_again(ctx: Ctx, s: Session | None, e: Input) -> Step:
    """Anything but an answer while the check-back question is open: ask it again (if the
    measure ended meanwhile, the result comes at once)."""
    assert s is not None
    if ctx.followup is None:
        return complete(ctx, s, ev.CheckBack(None))
    return Step(s, (compose.followup_question(ctx, s, ctx.followup),))


def show_result(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert isinstance(e, ev.ShowResult)
    key = classifier.ResultKey.decode(e.code)
    if key is None:
        return Step(s, (msg.Notice(ctx.t("no_survey", e.lang)),))
    return Step(s, (compose.result(ctx, key, e.view, e.lang),))  # in the language the result was given in


def review(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None
    return Step(s, (compose.review_menu(ctx, s),))


def review_back(ctx: Ctx, s: Session | None, e: Input) -> Step:
    assert s is not None
    new = replace(s, state=State.ASKING)  # the last question again
    return Step(new, (compose.question(ctx, new),))
