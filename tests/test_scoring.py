"""The classification rule: examples from DOMAIN.md and properties over all answer vectors."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import classifier
from classifier import Band, LoadType, Outcome, classify
from classifier.scoring import band

Q = classifier.default()
IDS = [i.id for i in Q.items]
value = st.one_of(st.none(), st.integers(0, 4))
answer_vectors = st.fixed_dictionaries({i: value for i in IDS})


def by_type(**per_type: tuple) -> dict[str, int | None]:
    """Answers given per type in questionnaire order of that type's items."""
    out: dict[str, int | None] = {}
    for t, values in per_type.items():
        for item, v in zip(Q.items_of(LoadType(t)), values, strict=True):
            out[item.id] = v
    return out


@pytest.mark.parametrize(
    ("answers", "outcome", "types"),
    [
        (by_type(A=(4, 4, 4), B=(1, 1, 1), C=(1, 1, 1), D=(1, 1, 1)), Outcome.DOMINANT, ("A",)),
        # lead of exactly two answer steps over three items (2/3): dominant
        (by_type(A=(3, 3, 3), B=(3, 2, 2), C=(0, 0, 0), D=(0, 0, 0)), Outcome.DOMINANT, ("A",)),
        # lead of one step (1/3): multiple, naming the top two
        (by_type(A=(3, 3, 3), B=(3, 3, 2), C=(0, 0, 0), D=(0, 0, 0)), Outcome.MULTIPLE, ("A", "B")),
        # a tie at the top: both named, never one picked
        (by_type(A=(3, 3, 3), B=(3, 3, 3), C=(0, 0, 0), D=(0, 0, 0)), Outcome.MULTIPLE, ("A", "B")),
        # a tie for second place: all tied runners-up named
        (by_type(A=(4, 4, 4), B=(4, 3, 4), C=(3, 4, 4), D=(0, 0, 0)), Outcome.MULTIPLE, ("A", "B", "C")),
        (by_type(A=(1, 1, 1), B=(1, 0, 1), C=(0, 0, 0), D=(1, 1, 1)), Outcome.LOW, ()),
        (by_type(A=(2, 2, 2), B=(1, 0, 1), C=(0, 0, 0), D=(1, 1, 1)), Outcome.MODERATE, ()),
        # two types computable only: no result
        (
            by_type(A=(4, 4, None), B=(4, None, None), C=(None, None, None), D=(1, 1, 1)),
            Outcome.NO_RESULT,
            (),
        ),
        ({}, Outcome.NO_RESULT, ()),
        # three types computable is enough; the missing type is simply not named
        (by_type(A=(4, 4, None), B=(0, None, None), C=(0, 0, 0), D=(1, 1, 1)), Outcome.DOMINANT, ("A",)),
    ],
)
def test_examples(answers, outcome, types) -> None:
    c = classify(Q, answers)
    assert c.outcome is outcome
    assert c.types == tuple(LoadType(t) for t in types)


@pytest.mark.parametrize(
    ("mean", "expected"),
    [
        (Fraction(4, 3), Band.KAUM),
        (Fraction(3, 2), Band.TEILWEISE),
        (Fraction(7, 3), Band.TEILWEISE),
        (Fraction(5, 2), Band.DEUTLICH),
        (Fraction(4), Band.DEUTLICH),
        (Fraction(0), Band.KAUM),
    ],
)
def test_band_edges(mean, expected) -> None:
    assert band(Q, mean) is expected


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(ValueError):
        classify(Q, {"a1": 5})
    with pytest.raises(ValueError):
        classify(Q, {"zz": 1})


@given(answer_vectors)
@settings(max_examples=400)
def test_exactly_one_outcome_and_consistent_types(answers) -> None:
    c = classify(Q, answers)
    computable = [t for t, m in c.means.items() if m is not None]
    if len(computable) < 3:
        assert c.outcome is Outcome.NO_RESULT
        return
    assert c.outcome is not Outcome.NO_RESULT
    if c.outcome is Outcome.DOMINANT:
        assert len(c.types) == 1 and c.bands[c.types[0]] is Band.DEUTLICH
    elif c.outcome is Outcome.MULTIPLE:
        assert len(c.types) >= 2 and c.bands[c.types[0]] is Band.DEUTLICH
    else:
        assert c.types == ()
        assert Band.DEUTLICH not in c.bands.values()
    if c.outcome is Outcome.LOW:
        assert set(c.bands.values()) <= {Band.KAUM, None}


@given(answer_vectors)
def test_a_type_needs_two_answers(answers) -> None:
    c = classify(Q, answers)
    for t in LoadType:
        answered = sum(answers[i.id] is not None for i in Q.items_of(t))
        assert (c.means[t] is None) == (answered < 2)


@given(answer_vectors, st.permutations(list(LoadType)))
@settings(max_examples=300)
def test_ties_are_never_broken_arbitrarily(answers, perm) -> None:
    """Relabelling the types relabels the result: no type is preferred by its name or order."""
    mapping = dict(zip(LoadType, perm, strict=True))
    moved = {}
    for t in LoadType:
        for src, dst in zip(Q.items_of(t), Q.items_of(mapping[t]), strict=True):
            moved[dst.id] = answers[src.id]
    a, b = classify(Q, answers), classify(Q, moved)
    assert a.outcome is b.outcome
    assert {mapping[t] for t in a.types} == set(b.types)


@given(answer_vectors, st.sampled_from(IDS))
@settings(max_examples=400)
def test_more_load_never_lowers_a_band(answers, item_id) -> None:
    current = answers[item_id]
    if current is None or current == 4:
        return
    before = classify(Q, answers)
    after = classify(Q, {**answers, item_id: current + 1})
    order = [Band.KAUM, Band.TEILWEISE, Band.DEUTLICH]
    for t in LoadType:
        if before.bands[t] is not None:
            assert order.index(after.bands[t]) >= order.index(before.bands[t])


@given(answer_vectors)
def test_signpost(answers) -> None:
    expected = (answers["d3"] is not None and answers["d3"] >= 3) or answers["a1"] == 4
    assert classify(Q, answers).signpost is expected
