"""What the person reads around the questions: an honest intro, help one press away from every
question, the crisis line from the intro, every question, the result and free text, the
organisation's own contacts, and the warning before a survey would end without a result."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows import engine
from flows import events as ev
from flows import messages as msg
from flows.session import Session, State

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)
CFG = engine.Config(
    contacts=("EAP: 0800 555 0100", "Betriebsärztin: Raum 2.14, Tel. 4711"),
    offer="Deeskalationstraining, Anmeldung: https://intranet.example/deeskalation",
    intro_note="Sie dürfen dafür Arbeitszeit nutzen.",
)
ITEMS = [i.id for i in CFG.questionnaire.items]
ACUTE = "0800 111 0 111"


def step(s: Session | None, e: ev.Event, lang: str = "de", round_id: str | None = None) -> engine.Step:
    return engine.step(CFG, s, e, lang=lang, now=NOW, round_id=round_id)  # type: ignore[arg-type]


def everything(messages: tuple[msg.Message, ...]) -> str:
    out = []
    for m in messages:
        for value in (getattr(m, f, None) for f in ("text", "note", "title", "lines", "items")):
            out += [value] if isinstance(value, str) else list(value or ())
    return "\n".join(out)


def press(m: msg.Message, label: str) -> ev.Event:
    choices = getattr(m, "choices", ()) or (*getattr(m, "options", ()), *getattr(m, "controls", ()))
    e = ev.decode(next(c.action for c in choices if c.label == label))
    assert e is not None
    return e


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_intro_is_honest(lang: str) -> None:
    (intro,) = step(None, ev.Typed("hallo"), lang).messages
    assert isinstance(intro, msg.Menu)
    text = intro.text
    if lang == "de":
        assert "freiwillig" in text and "überspringen" in text and "Pseudonym" in text
        assert "höchstens 7 Tage" in text and "anonyme Zählwerte" in text and "anonym:" not in text
        assert "Arbeitszeit" in text
    else:
        assert "voluntary" in text and "skip" in text and "pseudonym" in text and "at most 7 days" in text
    support = press(intro, "Wo es Hilfe gibt" if lang == "de" else "Where to get help")
    assert ACUTE in everything(step(None, support, lang).messages)


def test_the_crisis_line_is_one_press_away_on_every_question_and_returns_to_it() -> None:
    s = step(None, ev.Start("de")).session
    for n, item in enumerate(ITEMS):
        assert s is not None
        q = step(s, ev.Resume()).messages[-1]
        assert isinstance(q, msg.Question) and q.item_id == item
        got = step(s, press(q, "Wo es Hilfe gibt"))
        text = everything(got.messages)
        assert ACUTE in text and "112" in text and "EAP: 0800 555 0100" in text
        assert got.session == s and isinstance(got.messages[-1], msg.Question), "then the same question"
        if n < len(ITEMS) - 1:
            s = step(s, ev.Answer(item, 1)).session
    typed = step(s, ev.Typed("unterstützung"))
    assert ACUTE in everything(typed.messages) and typed.session == s
    helped = step(s, ev.Typed("hilfe"))
    assert ACUTE in everything(helped.messages)


def test_the_exhaustion_question_says_skipping_is_fine() -> None:
    s = Session(
        State.ASKING, "de", ITEMS.index("d3"), "1" * ITEMS.index("d3") + "-" * (12 - ITEMS.index("d3"))
    )
    (q,) = step(s, ev.Resume()).messages
    assert isinstance(q, msg.Question) and q.note and "überspringen" in q.note.lower()
    others = [
        step(Session(State.ASKING, "de", i, "1" * i + "-" * (12 - i)), ev.Resume()).messages[0]
        for i in range(12)
    ]
    noted = {o.item_id: o.note for o in others if isinstance(o, msg.Question) and o.note}
    assert sum("überspringen" in n.lower() for n in noted.values()) == 1


def test_a_question_asked_in_the_negative_says_so_above_it() -> None:
    """Issue 23: the influence items ask how often something could not be done; the note above
    says so, in both languages."""
    for item in ("a3", "b3", "c3"):
        i = ITEMS.index(item)
        for lang in ("de", "en"):
            (q,) = step(Session(State.ASKING, lang, i, "1" * i + "-" * (12 - i)), ev.Resume()).messages  # type: ignore[arg-type]
            assert (
                isinstance(q, msg.Question)
                and q.note
                and any(w in q.note for w in ("nicht", "fehlte", "not", "lacked"))
            )
            assert ("wie oft" in q.note) if lang == "de" else ("how often" in q.note)


def test_items_that_presuppose_an_incident_offer_it_did_not_happen() -> None:
    for item in ("a2", "a3", "d1"):
        i = ITEMS.index(item)
        (q,) = step(Session(State.ASKING, "de", i, "1" * i + "-" * (12 - i)), ev.Resume()).messages
        assert isinstance(q, msg.Question) and q.options[-1].label.startswith("kam nicht vor")


@pytest.mark.parametrize(
    "text", ["ich kann nicht mehr, der Kunde hat mich heute bedroht", "I can't take this any more"]
)
def test_free_text_gets_a_kind_reply_help_and_the_question_again(text: str) -> None:
    s = step(step(None, ev.Start("de")).session, ev.Answer(ITEMS[0], 2)).session
    got = step(s, ev.Typed(text))
    assert got.session == s, "nothing of it is kept"
    first, again = got.messages
    assert isinstance(first, msg.Notice) and "nicht gespeichert" in first.text and ACUTE in first.text
    assert isinstance(again, msg.Question) and again.item_id == ITEMS[1]
    assert text not in everything(got.messages)
    short = step(s, ev.Typed("quatsch"))
    assert "nicht verstanden" in everything(short.messages)
    alone = step(None, ev.Typed(text))
    assert ACUTE in everything(alone.messages) and isinstance(alone.messages[-1], msg.Menu)


def _skipping_through(round_id: str | None) -> engine.Step:
    s = step(None, ev.Start("de"), round_id=round_id).session
    for item in ITEMS[:-1]:
        s = step(s, ev.Answer(item, None), round_id=round_id).session
    return step(s, ev.Answer(ITEMS[-1], 3), round_id=round_id)


@pytest.mark.parametrize("round_id", [None, "r1"])
def test_before_no_result_a_warning_names_what_is_missing(round_id: str | None) -> None:
    warned = _skipping_through(round_id)
    assert warned.completion is None and not warned.finished, "nothing committed yet"
    assert warned.session is not None and warned.session.state is State.REVIEW
    (menu,) = warned.messages
    assert isinstance(menu, msg.Menu)
    for name in ("Konflikt ohne Rückendeckung", "Zielkonflikt Qualität oder Takt", "Druck ohne Spielraum"):
        assert name in menu.text
    assert ("Teilnahme an dieser Runde" in menu.text) is (round_id is not None)
    back = step(warned.session, press(menu, "Zurück"), round_id=round_id)
    assert back.session.state is State.ASKING and back.messages[-1].item_id == ITEMS[-1]  # type: ignore[union-attr]
    done = step(warned.session, press(menu, "Trotzdem abschließen"), round_id=round_id)
    assert done.finished and done.session is None
    (result,) = done.messages
    assert isinstance(result, msg.Result) and "fehlen zu viele" in result.title
    text = everything(done.messages)
    assert ("jederzeit neu beginnen" in text) is (round_id is None), "no 'start again' inside a round"
    # inside a round the participation counts (no second survey), the answers toward nothing
    assert (done.completion is None) is (round_id is None)
    assert done.completion is None or dict(done.completion.counters) == {}
    # the warning survives a restart of the conversation (it is a state)
    again = step(warned.session, ev.Typed("start"), round_id=round_id)
    assert isinstance(again.messages[-1], msg.Menu) and "Trotzdem" in str(again.messages[-1].choices)


def test_the_result_views_show_paths_with_the_organisations_offer_and_help_with_its_contacts() -> None:
    s = Session(State.ASKING, "de", 11, "444000000000"[:11] + "-", None)
    (result,) = step(s, ev.Answer(ITEMS[-1], 4)).messages
    assert isinstance(result, msg.Result)
    paths = step(None, press(result, "Was hilft")).messages[0]
    assert isinstance(paths, msg.Result) and paths.items and "intranet.example" in paths.items[-1]
    help_ = step(None, press(paths, "Wo es Hilfe gibt")).messages[0]
    text = everything((help_,))
    assert ACUTE in text and "Betriebsärztin: Raum 2.14" in text and "EAP: 0800 555 0100" in text
    back = step(None, press(help_, "Kurzfassung")).messages[0]
    assert back == result


def test_dates_read_as_each_language_writes_them() -> None:
    """Issue 25: English texts got German dates."""
    from datetime import date, datetime

    import classifier

    assert classifier.day_text(date(2026, 12, 3), "de") == "03.12.2026"
    assert classifier.day_text(date(2026, 12, 3), "en") == "3 Dec 2026"
    assert classifier.moment_text(datetime(2027, 1, 9, 8, 5), "en") == "9 Jan 2027 08:05"
