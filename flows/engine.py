"""The conversation as a pure state machine.

`step(config, session, event, lang=..., now=...)` takes the stored session (None when the person
has no survey in progress) and one inbound event, and returns the new session (None: nothing to
keep), the messages to send, and, when a survey inside a round completes, the anonymous
contribution to count. No I/O, no clock: time comes in as an argument.

The rules are the table `RULES` below: for the person's state and the event's type, the first
row whose guard holds names the action. A reader can check it against the product line by line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import classifier
from classifier import Lang, Questionnaire
from classifier.measures import Measure, View, view_field
from classifier.result import join_names
from classifier.scoring import type_means

from . import events as ev
from . import messages as msg
from .events import Event, encode
from .session import Session, State
from .texts import ConversationTexts, texts

NONE = "none"
"""The pseudo-state of a person with no survey in progress."""
OPEN = frozenset({State.ASKING, State.PAUSED})
REVIEW = frozenset({State.REVIEW})
FOLLOWUP = frozenset({State.FOLLOWUP})
ANY = frozenset({NONE, State.ASKING, State.PAUSED, State.REVIEW, State.FOLLOWUP})
FREE_TEXT_WORDS = 3
"""Typed text of this many words that is neither a command nor an answer is taken as something
the person wanted to say: a kind reply, the signpost and the crisis line (it is never stored)."""


@dataclass(frozen=True, slots=True)
class Config:
    questionnaire: Questionnaire = field(default_factory=classifier.default)
    texts: ConversationTexts = field(default_factory=texts)
    min_group_size: int = 5
    session_ttl_days: int = 7
    contacts: tuple[str, ...] = ()
    """The organisation's own contacts (EAP, company doctor, works council: phone or link)."""
    offer: str | None = None
    """The organisation's real offer (e.g. its de-escalation training and where to sign up)."""
    intro_note: str | None = None
    """An employer's line for the intro (e.g. that working time may be used)."""
    questions: dict[tuple[int, Lang], msg.Question] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Each question as shown, made once per item and language (a click's most common answer)."""


@dataclass(frozen=True, slots=True)
class Followup:
    """The team's running measure a survey in this round checks back on (bot.measures)."""

    id: str
    since: date
    """When it was chosen."""
    what: classifier.Text

    @classmethod
    def of(cls, m: Measure, q: Questionnaire) -> Followup:
        return cls(m.id, m.chosen, classifier.Text(de=m.what(q, "de"), en=m.what(q, "en")))


@dataclass(frozen=True, slots=True)
class Completion:
    """What a finished survey inside a round adds: counters only, no person, no exact time."""

    round_id: str
    window: str
    """The ISO week of completion, e.g. "2026-W47"."""
    counters: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Step:
    session: Session | None
    messages: tuple[msg.Message, ...]
    completion: Completion | None = None
    finished: bool = False
    snooze_hours: int | None = None
    """The person asked to be invited again in this many hours."""
    quiet_round: bool = False
    """The person asked for no more reminders this round."""


@dataclass(frozen=True, slots=True)
class _Ctx:
    cfg: Config
    lang: Lang
    now: datetime
    round_id: str | None = None
    already_done: bool = False
    followup: Followup | None = None
    just_finished: bool = False
    """The person's survey was completed within the hour: a late click is left alone."""

    def t(self, name: str, lang: Lang | None = None, **fmt: object) -> str:
        text: classifier.Text = getattr(self.cfg.texts, name)
        out = text(lang or self.lang)
        return out.format(**fmt) if fmt else out


Action = Callable[[_Ctx, Session | None, Event], Step]
Guard = Callable[[_Ctx, Session, Event], bool]


# --- guards -----------------------------------------------------------------------------------
def is_current(ctx: _Ctx, s: Session, e: Event) -> bool:
    """Does the click answer the question now on screen (not an old or repeated one)?"""
    item_id = e.item_id if isinstance(e, (ev.Answer, ev.Back)) else None
    return item_id == ctx.cfg.questionnaire.items[s.index].id


def is_current_and_last(ctx: _Ctx, s: Session, e: Event) -> bool:
    return is_current(ctx, s, e) and s.index == len(ctx.cfg.questionnaire.items) - 1


def can_go_back(ctx: _Ctx, s: Session, e: Event) -> bool:
    typed = isinstance(e, ev.Back) and e.item_id is None
    return s.index > 0 and (typed or is_current(ctx, s, e))


# --- rendering --------------------------------------------------------------------------------
def _question(ctx: _Ctx, s: Session) -> msg.Question:
    made = ctx.cfg.questions.get((s.index, s.lang))
    if made is None:
        made = ctx.cfg.questions[s.index, s.lang] = _make_question(ctx, s.index, s.lang)
    return made


def _make_question(ctx: _Ctx, index: int, lang: Lang) -> msg.Question:
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


def _intro(ctx: _Ctx, lang: Lang) -> msg.Menu:
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
    ctx = _Ctx(cfg, lang, now)
    menu = _intro(ctx, lang)
    if reminder:
        return msg.Menu(ctx.t("reminder", lang), menu.choices)
    return menu


# --- actions ----------------------------------------------------------------------------------
def offer_intro(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    lang = e.lang if isinstance(e, ev.Language) else ctx.lang
    return Step(None, (_intro(ctx, lang),))


def begin(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert isinstance(e, ev.Start)
    lang = e.lang or ctx.lang
    if ctx.round_id and ctx.already_done:
        return Step(None, (msg.Notice(ctx.t("already_done", lang)),))
    new = Session.new(lang, len(ctx.cfg.questionnaire.items), ctx.round_id, ctx.cfg.questionnaire.version)
    return Step(new, (_question(ctx, new),))


def later(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    """Not now: when may Ruhepuls ask again?"""
    lang = ctx.lang
    choices = (
        msg.Choice(ctx.t("in_an_hour", lang), encode(ev.Snooze(1))),
        msg.Choice(ctx.t("tomorrow", lang), encode(ev.Snooze(24))),
        msg.Choice(ctx.t("not_this_time", lang), encode(ev.NotThisTime())),
    )
    return Step(None, (msg.Menu(ctx.t("later_when", lang), choices),))


def snooze(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert isinstance(e, ev.Snooze)
    text = ctx.t("snoozed_hour" if e.hours == 1 else "snoozed_tomorrow")
    return Step(None, (msg.Notice(text),), snooze_hours=e.hours)


def not_this_time(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    return Step(None, (msg.Notice(ctx.t("not_this_time_ok")),), quiet_round=True)


def nothing_saved(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    return Step(None, (msg.Notice(ctx.t("nothing_saved")),))


def survey_gone(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    """A click on a question of a survey that no longer runs. Right after a completion it is a
    double or late tap on the message that now holds the result: nothing is said, so that no
    platform replaces the result with anything."""
    if ctx.just_finished:
        return Step(None, ())
    return Step(None, (msg.Notice(ctx.t("no_survey")), _intro(ctx, ctx.lang)))


def show_help(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    lang = s.lang if s else ctx.lang
    acute = ctx.cfg.questionnaire.signpost.acute(lang)
    out: tuple[msg.Message, ...] = (msg.Notice(f"{ctx.t('help', lang)}\n\n{acute}"),)
    return Step(s, out + _where_you_were(ctx, s))


def _where_you_were(ctx: _Ctx, s: Session | None) -> tuple[msg.Message, ...]:
    """The current question again (or the review), after something said in between."""
    if s is not None and s.state is State.ASKING:
        return (_question(ctx, s),)
    if s is not None and s.state is State.REVIEW:
        return (_review(ctx, s),)
    if s is not None and s.state is State.FOLLOWUP and ctx.followup is not None:
        return (_followup(ctx, s, ctx.followup),)
    return ()


def _support_text(ctx: _Ctx, lang: Lang) -> str:
    sp = ctx.cfg.questionnaire.signpost
    parts = [sp.text(lang)]
    if ctx.cfg.contacts:
        parts.append("\n".join([ctx.t("contacts_heading", lang), *(f"- {c}" for c in ctx.cfg.contacts)]))
    parts.append(sp.acute(lang))
    return "\n\n".join(parts)


def show_support(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    lang = s.lang if s else ctx.lang
    return Step(s, (msg.Notice(_support_text(ctx, lang)),) + _where_you_were(ctx, s))


def crisis(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    """Words of distress, however short: the crisis line first, then what free text gets."""
    lang = s.lang if s else ctx.lang
    return free_text(ctx, s, e, first=ctx.cfg.questionnaire.signpost.acute(lang))


def _distress(ctx: _Ctx, text: str) -> bool:
    t = " " + " ".join(re.sub(r"[^\w'’]+", " ", text.lower()).split()).replace("’", "'") + " "
    return any(f" {w} " in t for w in ctx.cfg.texts.words.crisis)


def free_text(ctx: _Ctx, s: Session | None, e: Event, first: str | None = None) -> Step:
    """Something the person wanted to say: never read, never stored; a kind word and help
    (after `first`, the crisis line, when it was words of distress)."""
    lang = s.lang if s else ctx.lang
    text = f"{ctx.t('free_text', lang)}\n\n{_support_text(ctx, lang)}"
    if first:
        text = f"{first}\n\n{text}"
    rest = _where_you_were(ctx, s) if s is not None else (_intro(ctx, lang),)
    return Step(s, (msg.Notice(text),) + rest)


def delete_message(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    return Step(s, (msg.Delete(),))


def reshow(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None
    return Step(s, (_question(ctx, s),))


def record(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None and isinstance(e, ev.Answer)
    new = s.with_answer(e.value)
    return Step(new, (_question(ctx, new),))


def go_back(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None
    new = replace(s, index=s.index - 1, state=State.ASKING)
    return Step(new, (_question(ctx, new),))


def pause(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None
    new = replace(s, state=State.PAUSED)
    return Step(new, (msg.Notice(ctx.t("paused", s.lang, days=ctx.cfg.session_ttl_days)),))


def resume(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None
    new = replace(s, state=State.ASKING)
    return Step(new, (_question(ctx, new),))


def cancel(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    """Deleting the answers is asked first; only the confirming press deletes them."""
    assert s is not None and isinstance(e, ev.Cancel)
    if not e.confirmed:
        choices = (
            msg.Choice(ctx.t("cancel_yes", s.lang), encode(ev.Cancel(True))),
            msg.Choice(ctx.t("cancel_no", s.lang), encode(ev.Resume())),
        )
        return Step(s, (msg.Menu(ctx.t("cancel_confirm", s.lang), choices),))
    return Step(None, (msg.Notice(ctx.t("cancelled", s.lang)),))


def switch_language(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None and isinstance(e, ev.Language)
    new = replace(s, lang=e.lang)
    out: tuple[msg.Message, ...] = (msg.Notice(ctx.t("language_set", e.lang)),)
    return Step(new, out + _where_you_were(ctx, new))


def unfinished(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None
    total = len(ctx.cfg.questionnaire.items)
    text = ctx.t("unfinished", s.lang, n=s.index + 1, total=total)
    choices = (
        msg.Choice(ctx.t("resume", s.lang), encode(ev.Resume())),
        msg.Choice(ctx.t("delete_answers", s.lang), encode(ev.Cancel())),
    )
    return Step(s, (msg.Menu(text, choices),))


def hint(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    return Step(s, (msg.Notice(ctx.t("hint", s.lang if s else ctx.lang)),))


def _counted(ctx: _Ctx, s: Session) -> bool:
    return bool(s.round_id and s.round_id == ctx.round_id)  # a closed round counts nothing more


def _result(ctx: _Ctx, key: classifier.ResultKey, view: ev.ResultView, lang: Lang) -> msg.Result:
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
    if view == "p" and r.paths:
        lines, list_heading, items = (), ctx.t("paths_heading", lang), r.paths
        if ctx.cfg.offer:
            items += (f"{ctx.t('offer_heading', lang)} {ctx.cfg.offer}",)
        note = f"{ctx.t('orientation', lang)} {ctx.cfg.questionnaire.outcomes.no_reference(lang)}"
        choices = (button("short_version", "s"), button("support", "h"), remove)
    elif view == "h":
        lines, note = (_support_text(ctx, lang),), None
        choices = (button("short_version", "s"), *helps, remove)
    else:
        choices = (*helps, button("support", "h"), remove)
    return msg.Result(heading, r.title, lines, list_heading, items, note, choices, lang)


def _missing(ctx: _Ctx, s: Session) -> list[str]:
    """The types that still lack answers for a result, by name."""
    q = ctx.cfg.questionnaire
    answers = s.answer_map(tuple(i.id for i in q.items))
    means = type_means(q, answers)
    return [q.types[t].name(s.lang) for t, m in means.items() if m is None]


def _review(ctx: _Ctx, s: Session) -> msg.Menu:
    names = join_names(_missing(ctx, s), s.lang)
    text = ctx.t("review", s.lang, names=names)
    if _counted(ctx, s):
        text += " " + ctx.t("review_round", s.lang)
    last = ctx.cfg.questionnaire.items[-1].id
    return msg.Menu(text, (msg.Choice(ctx.t("back", s.lang), encode(ev.Back(last))),
                           msg.Choice(ctx.t("finish_anyway", s.lang), encode(ev.Finish()))))  # fmt: skip


def finish(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    """The last answer: the result, or first the warning when it would be "no result"."""
    assert s is not None and isinstance(e, ev.Answer)
    done = s.with_answer(e.value)
    q = ctx.cfg.questionnaire
    if (
        classifier.classify(q, done.answer_map(tuple(i.id for i in q.items))).outcome
        is classifier.Outcome.NO_RESULT
    ):
        review = replace(done, index=s.index, state=State.REVIEW)
        return Step(review, (_review(ctx, review),))
    return complete(ctx, done)


def finish_anyway(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None
    return complete(ctx, s)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _followup(ctx: _Ctx, s: Session, f: Followup) -> msg.Question:
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


def complete(ctx: _Ctx, done: Session, view: ev.CheckBack | None = None) -> Step:
    """The result; first, in a round whose team runs a measure, the check-back question (only
    for a survey that counts and has a result: the view is counted with it, never alone)."""
    q = ctx.cfg.questionnaire
    answers = done.answer_map(tuple(i.id for i in q.items))
    counted = _counted(ctx, done)
    completion = None
    if counted:
        contribution = classifier.contribution(q, answers)
        if ctx.followup is not None and contribution and view is None:
            asking = replace(done, index=len(q.items) - 1, state=State.FOLLOWUP)
            return Step(asking, (_followup(ctx, asking, ctx.followup),))
        if ctx.followup is not None and view is not None and view.view is not None and contribution:
            contribution[view_field(ctx.followup.id, view.view)] = 1
        year, week, _ = ctx.now.isocalendar()
        completion = Completion(str(done.round_id), f"{year}-W{week:02d}", contribution)
    key = classifier.result_key(q, answers, counted=counted)
    return Step(None, (_result(ctx, key, "s", done.lang),), completion, finished=True)


def check_back(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None and isinstance(e, ev.CheckBack)
    return complete(ctx, s, e)


def followup_again(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    """Anything but an answer while the check-back question is open: ask it again (if the
    measure ended meanwhile, the result comes at once)."""
    assert s is not None
    if ctx.followup is None:
        return complete(ctx, s, ev.CheckBack(None))
    return Step(s, (_followup(ctx, s, ctx.followup),))


def show_result(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert isinstance(e, ev.ShowResult)
    key = classifier.ResultKey.decode(e.code)
    if key is None:
        return Step(s, (msg.Notice(ctx.t("no_survey", e.lang)),))
    return Step(s, (_result(ctx, key, e.view, e.lang),))  # in the language the result was given in


def review(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None
    return Step(s, (_review(ctx, s),))


def review_back(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert s is not None
    new = replace(s, state=State.ASKING)  # the last question again
    return Step(new, (_question(ctx, new),))


# --- typed text -------------------------------------------------------------------------------
def _word(ctx: _Ctx, text: str) -> str | None:
    words = ctx.cfg.texts.words
    for name in ("start", "resume", "back", "skip", "pause", "cancel", "help", "support", "de", "en"):
        if text in getattr(words, name):
            return name
    return None


def _scale_value(ctx: _Ctx, text: str) -> int | None:
    if text in {"0", "1", "2", "3", "4"}:
        return int(text)
    for point in ctx.cfg.questionnaire.scale:
        if text in (point.label.de.lower(), point.label.en.lower()):
            return point.value
    return None


def interpret(ctx: _Ctx, s: Session | None, text: str) -> Event | None:
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
        "de": ev.Language("de"),
        "en": ev.Language("en"),
    }
    if word == "start":  # with no survey, a greeting gets the intro (see on_text)
        return ev.Start(s.lang) if s else None
    if word == "skip" and s is not None:
        return ev.Answer(ctx.cfg.questionnaire.items[s.index].id, None)
    return simple.get(word)


def _skip_phrases(ctx: _Ctx) -> set[str]:
    label = ctx.cfg.questionnaire.skip_label
    return {label.de.lower(), label.en.lower()}


def on_text(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    assert isinstance(e, ev.Text)
    if _distress(ctx, e.text):
        return crisis(ctx, s, e)
    meant = interpret(ctx, s, e.text)
    if meant is not None:
        return _dispatch(ctx, s, meant)
    if len(e.text.split()) >= FREE_TEXT_WORDS:
        return free_text(ctx, s, e)
    if s is None:
        return offer_intro(ctx, s, e)
    if s.state is State.REVIEW:
        return review(ctx, s, e)
    if s.state is State.PAUSED:
        return unfinished(ctx, s, e)
    if s.state is State.FOLLOWUP:
        return followup_again(ctx, s, e)
    return hint(ctx, s, e)


# --- the table --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rule:
    states: frozenset[str]
    event: type | tuple[type, ...]
    guard: Guard | None
    action: Action


NO = frozenset({NONE})

RULES: tuple[Rule, ...] = (
    # from     event                       guard                 action
    Rule(ANY,  ev.Dismiss,                 None,                 delete_message),
    Rule(ANY,  ev.ShowResult,              None,                 show_result),  # from the result's own key
    Rule(ANY,  ev.Help,                    None,                 show_help),
    Rule(ANY,  ev.Support,                 None,                 show_support),
    Rule(ANY,  ev.Text,                    None,                 on_text),
    Rule(NO,   ev.Start,                   None,                 begin),
    Rule(NO,   ev.Later,                   None,                 later),
    Rule(NO,   ev.Snooze,                  None,                 snooze),
    Rule(NO,   ev.NotThisTime,             None,                 not_this_time),
    Rule(NO,   ev.Cancel,                  None,                 nothing_saved),
    Rule(NO,   (ev.Answer, ev.Back,
                ev.Finish, ev.CheckBack),  None,                 survey_gone),
    Rule(FOLLOWUP, ev.CheckBack,           None,                 check_back),
    Rule(FOLLOWUP, ev.Cancel,              None,                 cancel),
    Rule(FOLLOWUP, ev.Language,            None,                 switch_language),
    Rule(FOLLOWUP, (ev.Answer, ev.Back, ev.Start, ev.Resume, ev.Pause, ev.Finish,
                    ev.Later, ev.Snooze, ev.NotThisTime), None, followup_again),
    Rule(REVIEW, ev.Finish,                None,                 finish_anyway),  # no result, knowingly
    Rule(REVIEW, ev.Back,                  can_go_back,          review_back),
    Rule(REVIEW, ev.Pause,                 None,                 pause),
    Rule(REVIEW, ev.Cancel,                None,                 cancel),
    Rule(REVIEW, ev.Language,              None,                 switch_language),
    Rule(REVIEW, (ev.Answer, ev.Back, ev.Start, ev.Resume,
                  ev.Later, ev.Snooze, ev.NotThisTime, ev.CheckBack), None, review),
    Rule(NO,   (ev.Pause, ev.Resume,
                ev.Language),              None,                 offer_intro),
    Rule(OPEN, ev.Answer,                  is_current_and_last,  finish),
    Rule(OPEN, ev.Answer,                  is_current,           record),
    Rule(OPEN, ev.Answer,                  None,                 reshow),   # stale or repeated click
    Rule(OPEN, ev.Back,                    can_go_back,          go_back),
    Rule(OPEN, ev.Back,                    None,                 reshow),
    Rule(OPEN, (ev.Pause, ev.Later,
                ev.Snooze, ev.NotThisTime), None,                pause),
    Rule(OPEN, (ev.Start, ev.Resume),      None,                 resume),   # continue where they stopped
    Rule(OPEN, ev.Cancel,                  None,                 cancel),
    Rule(OPEN, (ev.Finish, ev.CheckBack),  None,                 reshow),
    Rule(OPEN, ev.Language,                None,                 switch_language),
)  # fmt: skip


def rule_for(ctx: _Ctx, s: Session | None, e: Event) -> Rule:
    """The first row of the table that applies to this state and event."""
    state = NONE if s is None else s.state
    for rule in RULES:
        if state in rule.states and isinstance(e, rule.event):
            if rule.guard is None or (s is not None and rule.guard(ctx, s, e)):
                return rule
    raise AssertionError(f"no rule for {state} / {type(e).__name__}")  # the table is total


def _dispatch(ctx: _Ctx, s: Session | None, e: Event) -> Step:
    return rule_for(ctx, s, e).action(ctx, s, e)


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
) -> Step:
    """Apply one event.

    `lang` is the language for a person with no session (their platform's locale or the
    deployment default); `now` dates a completion to its reporting week; `round_id` is the open
    round of the person's team (a survey begun now counts there), and `already_done` says
    that they finished that round already (they may not answer it twice); `followup` the
    team's running measure this round checks back on, after the twelve; `just_finished` that
    the person completed a survey within the hour (a click on it then changes nothing shown).
    """
    return _dispatch(_Ctx(cfg, lang, now, round_id, already_done, followup, just_finished), session, event)
