"""The personal result: words, never numbers; 2-4 paths; the signpost; both languages."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import classifier
from classifier import Outcome, contribution, personal_result

Q = classifier.default()
IDS = [i.id for i in Q.items]
answer_vectors = st.fixed_dictionaries({i: st.one_of(st.none(), st.integers(0, 4)) for i in IDS})


@given(answer_vectors, st.sampled_from(["de", "en"]))
@settings(max_examples=300)
def test_result_is_words_with_two_to_four_paths(answers, lang) -> None:
    r = personal_result(Q, answers, lang)
    parts = [r.title, r.meaning, r.systemic or "", r.influence or "", *r.paths]
    assert not any(re.search(r"\d", p) for p in parts), "no number may reach the person"
    if r.outcome is Outcome.NO_RESULT:
        assert r.paths == ()
    else:
        assert 2 <= len(r.paths) <= 4
        assert r.systemic and ("systemisch" in r.systemic or "systemic" in r.systemic)


def test_influence_text_follows_the_influence_answer() -> None:
    base = {i.id: 0 for i in Q.items} | {"a1": 4, "a2": 4}
    little = personal_result(Q, base | {"a3": 4}, "de")
    some = personal_result(Q, base | {"a3": 0}, "de")
    assert little.outcome is some.outcome is Outcome.DOMINANT
    assert little.influence == Q.types["A"].influence.little.de
    assert some.influence == Q.types["A"].influence.some.de


@pytest.mark.parametrize(
    ("changes", "shown"), [({"d3": 3}, True), ({"a1": 4}, True), ({"a1": 3, "d3": 2}, False)]
)
def test_signpost_text(changes, shown) -> None:
    answers = {i.id: 1 for i in Q.items} | changes
    r = personal_result(Q, answers, "en")
    assert (r.signpost == Q.signpost.text.en) is shown
    assert (r.signpost is None) is not shown


def test_contribution_holds_only_counters() -> None:
    answers = {i.id: 2 for i in Q.items} | {"b2": None}
    c = contribution(Q, answers)
    assert c["n"] == 1
    assert sum(v for k, v in c.items() if k.startswith("b:")) == 4  # one band per type
    assert c["m:A"] == 12 and c["m:B"] == 12  # mean 2 of its answered items, times 6
    skipped_type = Q.item("b2").type
    tension_types = {k[2:] for k in c if k.startswith("x:")}
    expected = {
        t.value for t in classifier.LoadType if "b2" not in (Q.systemic_item(t).id, Q.influence_item(t).id)
    }
    assert tension_types == expected and skipped_type.value in {t.value for t in classifier.LoadType}
    assert contribution(Q, {i.id: None for i in Q.items}) == {}, "no result counts toward nothing"
