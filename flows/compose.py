"""The messages the conversation says, built from the configuration and the session: each
question, the intro and invitation, the review, the check-back question and the result's views.
Pure; `flows.actions` decides which one a step says."""

from __future__ import annotations

from datetime import datetime

import classifier
from classifier import Lang, stufenplan
from classifier.measures import View
from classifier.result import join_names
from classifier.scoring import type_means

from . import events as ev
from . import messages as msg
from .context import Config, Ctx, Followup
from .events import encode
from .session import Session, State


def question(ctx: Ctx, s: Session) -> msg.Question:
    made = ctx.cfg.questions.get((s.index, s.lang))
    if made is None:
        made = ctx.cfg.questions[s.index, s.lang] = _make_question(ctx, s.index, s.lang)
    return made


def _make_question(ctx: Ctx, index: int, lang: Lang) -> msg.Question:
    q = ctx.cfg.questionnaire
    item = q.items[index]
    skip = item.skip_label or q.skip_label
    options = tuple(msg.Choice(p.label(lang), encode(ev.Answer(item.id, p.value))) for p in q.scale) + (
        msg.Choice(skip(lang), encode(ev.Answer(item.id, None))),
    )
    controls: tuple[msg.Choice, ...] = ()
    if index > 0:
        controls += (msg.Choice(ctx.t("back", lang), encode(ev.Back(item.id))),)
    controls += (
        msg.Choice(ctx.t("pause", lang), encode(ev.Pause())),
        msg.Choice(ctx.t("support", lang), encode(ev.Support())),
    )
    total = len(q.items)
    return msg.Question(
        item.id,
        index + 1,
        total,
        ctx.t("progress", lang, n=index + 1, total=total),
        q.stem(lang),
        item.text(lang),
        options,
        controls,
        item.note(lang) if item.note else None,
    )


def intro(ctx: Ctx, lang: Lang) -> msg.Menu:
    text = ctx.t("intro", lang, k=ctx.cfg.min_group_size, days=ctx.cfg.session_ttl_days)
    if ctx.cfg.intro_note:
        text += f"\n\n{ctx.cfg.intro_note}"
    return msg.Menu(
        text,
        (
            msg.Choice(ctx.t("start", lang), encode(ev.Start(lang))),
            msg.Choice(ctx.t("later", lang), encode(ev.Later())),
            msg.Choice(ctx.t("other_language", lang), encode(ev.Language("en" if lang == "de" else "de"))),
            msg.Choice(ctx.t("support", lang), encode(ev.Support())),
        ),
    )


def invitation(cfg: Config, lang: Lang, *, reminder: bool = False, now: datetime) -> msg.Menu:
    """The message that invites a team member to a round (or reminds them of it)."""
    ctx = Ctx(cfg, lang, now)
    menu = intro(ctx, lang)
    if reminder:
        return msg.Menu(ctx.t("reminder", lang), menu.choices)
    return menu


def where_you_were(ctx: Ctx, s: Session | None) -> tuple[msg.Message, ...]:
    """The current question again (or the review), after something said in between."""
    if s is not None and s.state is State.ASKING:
        return (question(ctx, s),)
    if s is not None and s.state is State.REVIEW:
        return (review_menu(ctx, s),)
    if s is not None and s.state is State.FOLLOWUP and ctx.followup is not None:
        return (followup_question(ctx, s, ctx.followup),)
    return ()


def support_text(ctx: Ctx, lang: Lang) -> str:
    sp = ctx.cfg.questionnaire.signpost
    parts = [sp.text(lang)]
    if ctx.cfg.contacts:
        parts.append("\n".join([ctx.t("contacts_heading", lang), *(f"- {c}" for c in ctx.cfg.contacts)]))
    parts.append(sp.acute(lang))
    return "\n\n".join(parts)


def counts_in_round(ctx: Ctx, s: Session) -> bool:
    return bool(s.round_id and s.round_id == ctx.round_id)  # a closed round counts nothing more


def result(ctx: Ctx, key: classifier.ResultKey, view: ev.ResultView, lang: Lang) -> msg.Result:
    """One view of a result, phrased from its key (never from stored answers)."""
    r = classifier.phrase(ctx.cfg.questionnaire, key, lang)
    code = key.encode()

    def button(name: str, to: ev.ResultView) -> msg.Choice:
        return msg.Choice(ctx.t(name, lang), encode(ev.ShowResult(to, code, lang)))

    remove = msg.Choice(ctx.t("remove_result", lang), encode(ev.Dismiss()))
    heading, lines = ctx.t("result_heading", lang), r.lines
    items: tuple[str, ...] = ()
    list_heading: str | None = None
    note: str | None = ctx.t("stored_counted" if key.counted else "stored_not_counted", lang)
    helps = () if not r.paths else (button("what_helps", "p"),)
    may = (button("what_may_i_do", "a"),) if classifier.LoadType.A in key.types else ()
    if view == "a":
        lines, note = plan_lines(ctx, lang), None
        choices = (button("short_version", "s"), *helps, remove)
    elif view == "p" and r.paths:
        lines, list_heading, items = (), ctx.t("paths_heading", lang), r.paths
        if ctx.cfg.offer:
            items += (f"{ctx.t('offer_heading', lang)} {ctx.cfg.offer}",)
        note = f"{ctx.t('orientation', lang)} {ctx.cfg.questionnaire.outcomes.no_reference(lang)}"
        choices = (button("short_version", "s"), button("support", "h"), *may, remove)
    elif view == "h":
        lines, note = (support_text(ctx, lang),), None
        choices = (button("short_version", "s"), *helps, remove)
    else:
        choices = (*helps, button("support", "h"), remove)
    return msg.Result(heading, r.title, lines, list_heading, items, note, choices, lang)


def plan_lines(ctx: Ctx, lang: Lang) -> tuple[str, ...]:
    """The team's Stufenplan as the person reads it, or why there is none to show."""
    if ctx.plan is None:
        return (ctx.t("plan_none" if ctx.in_team else "plan_no_team", lang),)
    p = ctx.plan
    dated = ctx.t(
        "plan_dated",
        lang,
        version=p.version,
        since=classifier.day_text(p.since, lang),
        changed=classifier.day_text(p.changed, lang),
    )
    return (ctx.t("plan_heading", lang), *stufenplan.lines(p, lang), dated)


def _missing(ctx: Ctx, s: Session) -> list[str]:
    """The types that still lack answers for a result, by name."""
    q = ctx.cfg.questionnaire
    answers = s.answer_map(tuple(i.id for i in q.items))
    means = type_means(q, answers)
    return [q.types[t].name(s.lang) for t, m in means.items() if m is None]


def review_menu(ctx: Ctx, s: Session) -> msg.Menu:
    names = join_names(_missing(ctx, s), s.lang)
    text = ctx.t("review", s.lang, names=names)
    if counts_in_round(ctx, s):
        text += " " + ctx.t("review_round", s.lang)
    last = ctx.cfg.questionnaire.items[-1].id
    return msg.Menu(
        text,
        (
            msg.Choice(ctx.t("back", s.lang), encode(ev.Back(last))),
            msg.Choice(ctx.t("finish_anyway", s.lang), encode(ev.Finish())),
        ),
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def followup_question(ctx: Ctx, s: Session, f: Followup) -> msg.Question:
    """The one optional check-back question on the team's measure, after the twelve."""
    lang = s.lang
    options = tuple(msg.Choice(ctx.t(f"view_{v}", lang), encode(ev.CheckBack(v))) for v in View)
    options += (msg.Choice(ctx.t("followup_skip", lang), encode(ev.CheckBack(None))),)
    total = len(ctx.cfg.questionnaire.items)
    return msg.Question(
        "followup",
        total + 1,
        total,
        ctx.t("followup_progress", lang),
        ctx.t("followup_stem", lang, since=classifier.day_text(f.since, lang)),
        ctx.t("followup_question", lang, what=_sentence(f.what(lang))),
        options,
        (msg.Choice(ctx.t("support", lang), encode(ev.Support())),),
        ctx.t("followup_note", lang, k=ctx.cfg.min_group_size - 1),
    )
