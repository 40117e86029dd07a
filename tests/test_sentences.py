"""Every sentence of a result is true for the person who reads it.

Each sentence is chosen by one answer (the meaning by the type's exposure item, D's by its strain
item; the systemic sentence by the systemic item; the influence sentence by the influence item)
and declares in the questionnaire anything more it takes for granted (`needs`). The walk below
covers the answer space (each type's three items with skips, 6³ per type, against several
backgrounds for the other nine items) and fails where a shown sentence presupposes what an
answer denies, or two shown sentences presuppose opposite things. The examples after it are the
cases an occupational psychologist found wrong, in the person's own words.
"""

from __future__ import annotations

import itertools
import random

import pytest

import classifier
from classifier import LoadType, Outcome, personal_result
from classifier.result import Sentence

Q = classifier.default()
IDS = [i.id for i in Q.items]
VALUES: list[int | None] = [None, 0, 1, 2, 3, 4]


def need_of(answer: int | None) -> str:
    level = Q.thresholds.level(answer)
    return "skip" if level is None else {"0": "low", "1": "mid", "2": "high"}[level.value]


def needs(s: Sentence) -> dict[str, set[str]]:
    """What a shown sentence takes for granted: the answer that chose it, and its own `needs`."""
    out: dict[str, set[str]] = {k: set(v) for k, v in getattr(s.said, "needs", {}).items()}
    if s.item is not None:
        chosen = "skip" if s.level is None else {"0": "low", "1": "mid", "2": "high"}[s.level.value]
        out[s.item] = out.get(s.item, {chosen}) & {chosen}
    return out


def backgrounds() -> list[dict[str, int | None]]:
    rng = random.Random(23)
    fixed = [dict.fromkeys(IDS, v) for v in (None, 0, 2, 4)]
    return fixed + [{i: rng.choice(VALUES) for i in IDS} for _ in range(4)]


def test_no_shown_sentence_presupposes_what_the_answers_deny() -> None:
    checked = 0
    for t in LoadType:
        own = [i.id for i in Q.items_of(t)]
        for values in itertools.product(VALUES, repeat=3):
            for background in backgrounds():
                answers = background | dict(zip(own, values, strict=True))
                for lang in ("de", "en"):
                    r = personal_result(Q, answers, lang)  # type: ignore[arg-type]
                    taken = [needs(s) for s in r.sentences]
                    for s, need in zip(r.sentences, taken, strict=True):
                        for item, allowed in need.items():
                            assert need_of(answers[item]) in allowed, (answers, s.said(lang))
                    for a, b in itertools.combinations(taken, 2):
                        for item in a.keys() & b.keys():
                            assert a[item] & b[item], ("two sentences disagree about", item, answers)
                    checked += 1
    assert checked == 4 * 216 * len(backgrounds()) * 2


def the_result(lang: str = "de", **answers: int | None) -> tuple[str, str, str]:
    """Title, first message and "what helps", with every unnamed item answered "nie"."""
    r = personal_result(Q, dict.fromkeys(IDS, 0) | answers, lang)  # type: ignore[arg-type]
    return r.title, "\n".join(r.lines), "\n".join(r.paths)


NIE, SELTEN, MANCHMAL, OFT, IMMER = 0, 1, 2, 3, 4


def test_a_clear_rule_that_keeps_someone_from_ending_abuse_is_not_called_backing() -> None:
    _, text, _ = the_result(a1=IMMER, a2=NIE, a3=IMMER)
    assert "Rückhalt" not in text and "ohne klare Rückendeckung" not in text
    assert "gehören zu Ihrem Alltag" in text and "konnten Sie oft nicht" in text
    # a2 asks about backing itself now (2026.12-2): the sentence repeats the person's own answer
    assert "Rückendeckung bei Beleidigungen fehlte Ihnen selten" in text
    assert (
        "Rückendeckung" in Q.item("a2").text.de
        and "kam nicht vor" in (Q.item("a2").skip_label or Q.skip_label).de
    )


def test_the_time_target_is_not_moved_into_the_conversation() -> None:
    _, text, _ = the_result(b1=IMMER, b2=NIE, b3=IMMER)
    assert "im Gespräch" not in text
    assert "wegen der Zeitvorgabe" in text and "widersprechen sich für Sie selten" in text


def test_authority_is_not_turned_into_breaks() -> None:
    _, text, _ = the_result(c1=IMMER, c2=IMMER, c3=NIE)
    assert "Pausen" not in text and "wenig eigener Entscheidung" not in text
    assert "Anliegen selbst zu entscheiden" in text


def test_self_control_sentences_rest_on_their_own_items() -> None:
    """Issue 23: D's sentences speak each of its own item: what is required (d1), the
    friendliness shown without feeling it (d2); exhaustion (d3) alone never names D."""
    _, text, _ = the_result(d1=IMMER, d2=NIE, d3=IMMER)
    assert "oft verlangt, Ärger zu verbergen" in text and "Freundlich zu bleiben" not in text
    _, text, _ = the_result(d1=NIE, d2=IMMER, d3=IMMER)
    assert "Freundlich zu bleiben" in text and "selten verlangt" in text
    title, _, _ = the_result(d3=IMMER)
    assert "Selbstkontrolle" not in title, "exhaustion alone is no self-control pattern"


def test_rarely_insulted_is_not_everyday() -> None:
    _, text, _ = the_result(a1=SELTEN, a2=IMMER, a3=IMMER)
    assert "Alltag" not in text and "selten" in text


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_tied_type_is_named_and_keeps_a_place_in_what_helps(lang: str) -> None:
    r = personal_result(Q, dict.fromkeys(IDS, IMMER), lang)  # type: ignore[arg-type]
    assert r.key.outcome is Outcome.MULTIPLE and len(r.key.types) == 4
    for t in LoadType:
        assert Q.types[t].name(lang) in "\n".join(r.lines), t
    assert Q.types[LoadType.D].paths[-1](lang) in r.paths, "the assistance path, exhaustion being due"
    assert 2 <= len(r.paths) <= 4


def test_low_never_stands_beside_a_warning() -> None:
    for answers in ({"a1": IMMER}, {"d3": IMMER}):
        title, text, paths = the_result(**answers)
        assert "passen gerade" not in text and "geringe Belastung" not in title
        assert "nach eigener Angabe" in text and Q.signpost.acute.de in text
    title, text, paths = the_result(d3=IMMER)
    assert "Mitarbeiterunterstützungsprogramm" in paths
    title, text, _ = the_result()
    assert "geringe Belastung" in title and "passen gerade" not in text, "only what was asked"
