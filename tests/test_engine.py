"""The conversation engine, pure: table-driven transcripts of whole conversations in both
languages, and properties over random event sequences."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from conftest import NOW
from hypothesis import given, settings
from hypothesis import strategies as st

import classifier
from flows import Config, Session, State, engine
from flows import events as ev
from flows import messages as msg
from flows.context import Ctx, Distress, Input, Remark, Unclear

CFG = Config()
ITEMS = [i.id for i in CFG.questionnaire.items]


def run(transcript: list[tuple[ev.Event, str]], lang: str = "de") -> Session | None:
    """Feed events; after each, check the kinds of messages (e.g. "Q3" = question 3,
    "N" = notice, "M" = menu, "R" = result, "D" = delete) and the session."""
    session: Session | None = None
    for n, (event, expected) in enumerate(transcript):
        step = engine.step(CFG, session, event, lang=lang, now=NOW)  # type: ignore[arg-type]
        got = " ".join(_kind(m) for m in step.messages)
        assert got == expected, f"step {n} ({event}): expected {expected!r}, got {got!r}"
        session = step.session
    return session


def _kind(m: msg.Message) -> str:
    if isinstance(m, msg.Question):
        return f"Q{m.number}"
    return {msg.Notice: "N", msg.Menu: "M", msg.Result: "R", msg.Delete: "D"}[type(m)]


def answers(values: list[int | None], start: int = 0) -> list[tuple[ev.Event, str]]:
    out = []
    for k, v in enumerate(values, start):
        nxt = f"Q{k + 2}" if k + 1 < len(ITEMS) else "R"
        out.append((ev.Answer(ITEMS[k], v), nxt))
    return out


@pytest.mark.parametrize("lang", ["de", "en"])
def test_whole_survey_by_clicks(lang: str) -> None:
    t = [(ev.Typed("hallo"), "M"), (ev.Start(lang), "Q1"), *answers([3] * 12)]
    assert run(t, lang) is None


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "de",
            [
                "oft",
                "3",
                "Nie",
                "immer",
                "s",
                "zurück",
                "manchmal",
                "1",
                "2",
                "4",
                "0",
                "selten",
                "oft",
                "möchte ich nicht beantworten",
            ],
        ),
        (
            "en",
            [
                "often",
                "3",
                "never",
                "always",
                "skip",
                "back",
                "sometimes",
                "1",
                "2",
                "4",
                "0",
                "rarely",
                "often",
                "I'd rather not answer",
            ],
        ),
    ],
)
def test_whole_survey_typed(lang: str, words: list[str]) -> None:
    expected = ["Q2", "Q3", "Q4", "Q5", "Q6", "Q5", "Q6", "Q7", "Q8", "Q9", "Q10", "Q11", "Q12", "R"]
    t = [(ev.Start(lang), "Q1"), *[(ev.Typed(w), e) for w, e in zip(words, expected, strict=True)]]
    assert run(t, lang) is None


def test_pause_resume_back_skip_language() -> None:
    s = run(
        [
            (ev.Start("de"), "Q1"),
            (ev.Answer("a1", 2), "Q2"),
            (ev.Pause(), "N"),
            (ev.Typed("was?"), "M"),  # paused: offer to continue or delete
            (ev.Resume(), "Q2"),
            (ev.Back("b1"), "Q1"),
            (ev.Back("a1"), "Q1"),  # no going back before the first question
            (ev.Answer("a1", None), "Q2"),  # skip by button
            (ev.Language("en"), "N Q2"),
            (ev.Typed("banana"), "N"),  # a friendly hint, no error
            (ev.Help(), "N Q2"),
        ]
    )
    assert s is not None and s.lang == "en" and s.index == 1 and s.answers[0] == "s"
    assert s.state is State.ASKING


def test_stale_and_repeated_clicks_change_nothing() -> None:
    s = run([(ev.Start("de"), "Q1"), (ev.Answer("a1", 4), "Q2"), (ev.Answer("b1", 1), "Q3")])
    assert s is not None
    for stale in (
        ev.Answer("a1", 0),
        ev.Answer("b1", 4),
        ev.Answer("d3", 2),
        ev.Back("a1"),
        ev.Answer("zz", 1),
    ):
        step = engine.step(CFG, s, stale, now=NOW)
        assert step.session == s
        assert [_kind(m) for m in step.messages] == ["Q3"]


def test_clicking_a_question_while_paused_answers_it() -> None:
    s = run([(ev.Start("de"), "Q1"), (ev.Pause(), "N"), (ev.Answer("a1", 1), "Q2")])
    assert s is not None and s.state is State.ASKING and s.answers[0] == "1"


def test_cancel_asks_first_then_deletes_and_no_session_events() -> None:
    kept = run([(ev.Start("de"), "Q1"), (ev.Answer("a1", 1), "Q2"), (ev.Cancel(), "M")])
    assert kept is not None and kept.answers[0] == "1", "asking deletes nothing"
    assert run([(ev.Start("de"), "Q1"), (ev.Answer("a1", 1), "Q2"), (ev.Cancel(), "M"), (ev.Resume(), "Q2")])
    assert (
        run([(ev.Start("de"), "Q1"), (ev.Answer("a1", 1), "Q2"), (ev.Cancel(), "M"), (ev.Cancel(True), "N")])
        is None
    )
    s = run([(ev.Start("de"), "Q1"), (ev.Answer("a1", 1), "Q2")])
    menu = engine.step(CFG, s, ev.Typed("abbrechen"), lang="de", now=NOW).messages[0]
    assert isinstance(menu, msg.Menu) and "gelöscht" in menu.text
    assert [ev.decode(c.action) for c in menu.choices] == [ev.Cancel(True), ev.Resume()]
    assert (
        run(
            [
                (ev.Cancel(), "N"),
                (ev.Answer("a1", 3), "N M"),  # a click on a question of a finished survey
                (ev.Later(), "M"),  # when may it ask again?
                (ev.Snooze(1), "N"),
                (ev.NotThisTime(), "N"),
                (ev.Pause(), "M"),
                (ev.Dismiss(), "D"),
                (ev.Help(), "N"),
            ]
        )
        is None
    )


def test_start_in_a_round() -> None:
    step = engine.step(CFG, None, ev.Start("de"), now=NOW, round_id="r9")
    assert step.session is not None and step.session.round_id == "r9"
    done = engine.step(CFG, None, ev.Start("de"), now=NOW, round_id="r9", already_done=True)
    assert done.session is None and CFG.texts.already_done.de == done.messages[0].text


def test_start_while_running_continues_where_they_stopped() -> None:
    s = run(
        [
            (ev.Start("de"), "Q1"),
            (ev.Answer("a1", 1), "Q2"),
            (ev.Start("de"), "Q2"),
            (ev.Typed("start"), "Q2"),
        ]
    )
    assert s is not None and s.index == 1


def _nearly_done(round_id: str | None) -> Session:
    return Session(State.ASKING, "de", 11, "2" * 11 + "-", round_id)


def test_completion_in_a_round_counts_and_outside_does_not() -> None:
    last = engine.step(CFG, _nearly_done("r1"), ev.Answer(ITEMS[-1], 2), now=NOW, round_id="r1")
    assert last.session is None and last.finished
    assert last.completion is not None and last.completion.window == "2026-W48"
    assert last.completion.round_id == "r1" and last.completion.counters["n"] == 1
    solo = engine.step(CFG, _nearly_done(None), ev.Answer(ITEMS[-1], 2), now=NOW, round_id="r1")
    assert solo.finished and solo.completion is None
    closed = engine.step(CFG, _nearly_done("r1"), ev.Answer(ITEMS[-1], 2), now=NOW, round_id="r2")
    assert closed.finished and closed.completion is None  # its round closed meanwhile
    result = solo.messages[0]
    assert isinstance(result, msg.Result) and result.note == CFG.texts.stored_not_counted.de
    counted = last.messages[0]
    assert isinstance(counted, msg.Result) and counted.note == CFG.texts.stored_counted.de


def test_result_is_one_message_that_can_be_dismissed() -> None:
    step = engine.step(CFG, _nearly_done(None), ev.Answer(ITEMS[-1], 4), now=NOW)
    (r,) = step.messages
    assert isinstance(r, msg.Result)
    dismiss = r.choices[-1]
    assert dismiss.action == "dismiss"
    assert any("Wo es Hilfe gibt" in line for line in r.lines)  # exhaustion "immer": why help is offered
    assert engine.step(CFG, None, ev.decode(dismiss.action), now=NOW).messages == (msg.Delete(),)


events = st.one_of(
    st.builds(ev.Answer, st.sampled_from(ITEMS + ["x"]), st.one_of(st.none(), st.integers(0, 4))),
    st.builds(ev.Back, st.one_of(st.none(), st.sampled_from(ITEMS))),
    st.builds(ev.Start, st.sampled_from([None, "de", "en"])),
    st.just(ev.Pause()),
    st.just(ev.Resume()),
    st.just(ev.Cancel()),
    st.just(ev.Help()),
    st.just(ev.Later()),
    st.just(ev.Dismiss()),
    st.just(ev.Support()),
    st.just(ev.Finish()),
    st.builds(ev.Snooze, st.sampled_from([1, 24])),
    st.just(ev.NotThisTime()),
    st.builds(
        ev.ShowResult, st.sampled_from(["s", "p", "h"]), st.sampled_from(["dA.2.0.-c", "x", "lBC..-n"])
    ),
    st.builds(ev.Language, st.sampled_from(["de", "en"])),
    st.builds(
        ev.Typed,
        st.one_of(st.text(max_size=20), st.sampled_from(["3", "oft", "zurück", "s", "weiter", "pause"])),
    ),
)


@given(st.lists(events, max_size=60))
@settings(max_examples=300)
def test_any_event_sequence_is_handled(seq: list[ev.Event]) -> None:
    """The table is total; every step says something; the session stays consistent."""
    session: Session | None = None
    for e in seq:
        step = engine.step(CFG, session, e, now=NOW)
        assert step.messages
        if step.session is not None:
            again = Session.loads(step.session.dumps(), len(ITEMS))
            assert again == step.session and len(step.session.dumps()) < 64
            assert all(ch != "-" for ch in step.session.answers[: step.session.index])
        session = step.session


def test_every_rule_row_can_fire() -> None:
    """No row is shadowed by an earlier one: for each, some state and event select exactly it."""
    ctx = Ctx(CFG, "de", NOW)
    n = len(ITEMS)
    asking = [Session.new("de", n, None)]
    for index in (1, n - 1):
        asking.append(replace(asking[0], index=index))
    sessions: list[Session | None] = [None, *asking]
    sessions += [replace(s, state=State.PAUSED) for s in asking]
    sessions.append(replace(asking[-1], state=State.REVIEW, answers="s" * n))
    sessions.append(replace(asking[-1], state=State.FOLLOWUP, answers="2" * n))
    events: list[Input] = [
        ev.CheckBack("some"),
        ev.CheckBack(None),
        ev.Start("de"),
        ev.Start(None),
        ev.Later(),
        ev.Pause(),
        ev.Resume(),
        ev.Cancel(),
        ev.Help(),
        ev.Dismiss(),
        ev.Language("en"),
        Distress(),
        Remark(),
        Unclear(),
        ev.Back(None),
        ev.Support(),
        ev.Plan(),
        ev.Finish(),
        ev.ShowResult("p", "dA.2.0.-c"),
        ev.Snooze(24),
        ev.NotThisTime(),
    ]
    for item in ITEMS:
        events += [ev.Answer(item, 2), ev.Answer(item, None), ev.Back(item)]
    fired = {id(engine.rule_for(ctx, s, e)) for s in sessions for e in events}
    missing = [f"{r.action.__name__} ({r.states})" for r in engine.RULES if id(r) not in fired]
    assert not missing, f"rows that can never fire: {missing}"


def test_action_codec() -> None:
    samples = [
        ev.Answer("a1", 3),
        ev.Answer("d3", None),
        ev.Back("c2"),
        ev.Back(None),
        ev.Start("en"),
        ev.Start(None),
        ev.Language("de"),
        ev.Pause(),
        ev.Resume(),
        ev.Cancel(),
        ev.Cancel(True),
        ev.Later(),
        ev.Help(),
        ev.Dismiss(),
        ev.Support(),
        ev.Plan(),
        ev.ShowResult("a", "dA.2.0.-c", "de"),
        ev.Finish(),
        ev.ShowResult("h", "mAB.21.x0.bc", "en"),
        ev.Snooze(1),
        ev.CheckBack("worse"),
        ev.CheckBack(None),
        ev.Snooze(24),
        ev.NotThisTime(),
    ]
    for e in samples:
        action = ev.encode(e)
        assert len(action.encode()) <= 64
        assert ev.decode(action) == e
    for garbage in ["", "a:a1:9", "a::3", "a:a1", "x" * 65, None, 7, "lang:fr", "start:xx:", "pause:1"]:
        assert ev.decode(garbage) is None


FOLLOWUP = engine.Followup(
    "m0a1b2c", date(2026, 11, 3), classifier.Text(de="Eine Teamregel", en="A team rule")
)


def _twelve(followup: engine.Followup | None, answers: int = 3) -> engine.Step:
    s: Session | None = None
    step = engine.step(CFG, s, ev.Start("de"), now=NOW, round_id="r1", followup=followup)
    for item in ITEMS:
        step = engine.step(
            CFG, step.session, ev.Answer(item, answers), now=NOW, round_id="r1", followup=followup
        )
    return step


def test_the_check_back_question_comes_only_after_the_twelve_and_only_with_a_measure() -> None:
    without = _twelve(None)
    assert without.finished and without.completion is not None
    assert not any(k.startswith("v:") for k in without.completion.counters)
    with_measure = _twelve(FOLLOWUP)
    assert not with_measure.finished and with_measure.completion is None
    assert with_measure.session is not None and with_measure.session.state is State.FOLLOWUP
    question = with_measure.messages[0]
    assert isinstance(question, msg.Question) and "Eine Teamregel" in question.text
    # a click on an earlier question or "pause" asks it again; it survives a store round trip
    again = engine.step(
        CFG, with_measure.session, ev.Answer(ITEMS[3], 1), now=NOW, round_id="r1", followup=FOLLOWUP
    )
    assert again.session == with_measure.session and isinstance(again.messages[0], msg.Question)
    assert Session.loads(with_measure.session.dumps(), len(ITEMS)) == with_measure.session
    done = engine.step(
        CFG, with_measure.session, ev.CheckBack("some"), now=NOW, round_id="r1", followup=FOLLOWUP
    )
    assert done.finished and done.completion is not None and done.session is None
    assert done.completion.counters["v:m0a1b2c:some"] == 1
    assert {k: v for k, v in done.completion.counters.items() if not k.startswith("v:")} == dict(
        without.completion.counters
    )
    skipped = engine.step(
        CFG, with_measure.session, ev.CheckBack(None), now=NOW, round_id="r1", followup=FOLLOWUP
    )
    assert skipped.completion is not None and not any(k.startswith("v:") for k in skipped.completion.counters)


def test_no_check_back_outside_a_round_or_without_a_result() -> None:
    solo = engine.step(CFG, None, ev.Start("de"), now=NOW, followup=FOLLOWUP)
    for item in ITEMS:
        solo = engine.step(CFG, solo.session, ev.Answer(item, 3), now=NOW, followup=FOLLOWUP)
    assert solo.finished
    nothing = _twelve(FOLLOWUP, answers=None)  # type: ignore[arg-type]
    assert nothing.session is not None and nothing.session.state is State.REVIEW
    anyway = engine.step(CFG, nothing.session, ev.Finish(), now=NOW, round_id="r1", followup=FOLLOWUP)
    assert anyway.finished


DISTRESS = [
    "suizid",
    "Suizid.",
    "nicht mehr",
    "Kann nicht mehr!",
    "hilfe bitte",
    "Selbstmord",
    "suicide",
    "kill myself",
    "I can't go on",
    "can’t go on",
    "help me",
]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_words_of_distress_get_the_crisis_line_first_at_any_length_and_state(lang: str) -> None:
    n = len(ITEMS)
    asking = [Session.new(lang, n, None), replace(Session.new(lang, n, None), index=n - 1)]  # type: ignore[arg-type]
    sessions: list[Session | None] = [
        None,
        *asking,
        *(replace(s, state=State.PAUSED) for s in asking),
        replace(asking[-1], state=State.REVIEW, answers="s" * n),
        replace(asking[-1], state=State.FOLLOWUP, answers="2" * n),
    ]
    acute = CFG.questionnaire.signpost.acute(lang)  # type: ignore[arg-type]
    for s in sessions:
        for words in DISTRESS:
            step = engine.step(CFG, s, ev.Typed(words), lang=lang, now=NOW, followup=FOLLOWUP)  # type: ignore[arg-type]
            first = step.messages[0]
            assert isinstance(first, msg.Notice) and first.text.startswith(acute), (s, words)
            assert step.session == s, "nothing of it is kept, and the survey stays where it was"
            if s is not None and s.state is State.ASKING:
                assert isinstance(step.messages[-1], msg.Question), "and the question again"
    for harmless in ("hilfe", "oft", "3", "weiter", "nie"):
        first = engine.step(CFG, asking[0], ev.Typed(harmless), lang=lang, now=NOW).messages[0]  # type: ignore[arg-type]
        assert not (isinstance(first, msg.Notice) and first.text.startswith(acute)), harmless


def test_the_not_understood_hint_carries_the_crisis_line() -> None:
    for lang in ("de", "en"):
        s = Session.new(lang, len(ITEMS), None)  # type: ignore[arg-type]
        step = engine.step(CFG, s, ev.Typed("banane"), lang=lang, now=NOW)  # type: ignore[arg-type]
        assert "0800 111 0 111" in step.messages[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize(("lang", "day"), [("de", "Seit 03.11.2026"), ("en", "Since 3 Nov 2026")])
def test_the_check_back_question_dates_the_measure_as_its_reader_writes_dates(lang: str, day: str) -> None:
    """Issue 25: the English check-back question carried a German date."""
    s = Session(State.FOLLOWUP, lang, len(ITEMS) - 1, "2" * len(ITEMS), "r1")  # type: ignore[arg-type]
    (q,) = engine.step(CFG, s, ev.Resume(), lang=lang, now=NOW, round_id="r1", followup=FOLLOWUP).messages  # type: ignore[arg-type]
    assert isinstance(q, msg.Question) and day in q.stem + q.text, (q.stem, q.text)
