"""Disclosure control: properties over any sequence of responses, windows and team trees."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import classifier
from classifier import LoadType, contribution
from classifier.disclosure import (
    Cause,
    Cell,
    DisclosureError,
    Spread,
    Trend,
    minimum_group_size,
    n_of,
    plan,
    pool,
    summarize,
    thresholds,
)

Q = classifier.default()
WEEKS = [f"2026-W{w:02d}" for w in range(40, 52)]


def counters_for(n: int, value: int = 2) -> dict[str, int]:
    answers = {i.id: value for i in Q.items}
    return pool([contribution(Q, answers)] * n)


trees = st.sampled_from(
    [
        {"a": None, "b": None},
        {"dept": None, "a": "dept", "b": "dept", "c": "dept"},
        {"a": "dept", "b": "dept"},  # parent group that is not a team itself
        {"dept": None, "a": "dept", "b": "dept", "solo": None},
        {"x": "g1", "y": "g1", "z": "g2", "w": "g2", "v": "g2"},
    ]
)


@st.composite
def histories(draw):
    parents = draw(trees)
    teams = sorted(set(parents) | {p for p in parents.values() if p})
    weekly = draw(
        st.lists(
            st.dictionaries(st.sampled_from(teams), st.integers(0, 12), max_size=len(teams)),
            min_size=1,
            max_size=8,
        )
    )
    k = draw(st.integers(5, 7))
    return parents, weekly, k


@given(histories())
@settings(max_examples=300, deadline=None)
def test_no_published_group_below_k_and_no_cell_twice(history) -> None:
    """Run the weekly report over a random history. Every publication covers at least k
    respondents, and every cell is published at most once: published groups are disjoint, so
    no subtraction of reports (or of a parent and its children) isolates fewer than k."""
    parents, weekly, k = history
    pending: dict[Cell, dict[str, int]] = {}
    published: list[frozenset[Cell]] = []
    seen: set[Cell] = set()
    for week_no, week in enumerate(weekly):
        for team, n in week.items():
            if n:
                pending[Cell(team, f"r1:{WEEKS[week_no]}")] = counters_for(n)
        result = plan(k, parents, pending, WEEKS[week_no + 1])
        for pub in result.publications:
            assert n_of(pub.counters) >= k
            assert n_of(pub.counters) == sum(n_of(pending[c]) for c in pub.cells)
            assert not (pub.cells & seen), "a cell was published twice"
            assert all(c.week < WEEKS[week_no + 1] for c in pub.cells), "an open week was published"
            seen |= pub.cells
            published.append(pub.cells)
            summary = summarize(Q, k, pub.counters)
            assert summary is not None
        for cell in result.consumed:
            del pending[cell]
        for team in result.waiting:
            assert all(c.team != team for p in result.publications for c in p.cells)
    # pairwise disjoint, hence any set difference of published unions is a union of whole groups
    for i, a in enumerate(published):
        for b in published[i + 1 :]:
            assert not (a & b)


def test_small_team_is_folded_with_one_more_sibling_hidden() -> None:
    parents = {"dept": None, "a": "dept", "b": "dept", "c": "dept"}
    pending = {
        Cell("a", "r:2026-W40"): counters_for(3),
        Cell("b", "r:2026-W40"): counters_for(6),
        Cell("c", "r:2026-W40"): counters_for(9),
    }
    result = plan(5, parents, pending, "2026-W41")
    audiences = {p.audience: p for p in result.publications}
    assert set(audiences) == {"dept", "c"}
    assert audiences["dept"].folded == {"a", "b"}  # b (the smallest visible sibling) hidden too
    assert n_of(audiences["dept"].counters) == 9 and n_of(audiences["c"].counters) == 9
    assert result.folded_into == {"a": "dept", "b": "dept"}


def test_below_k_rolls_into_the_next_window() -> None:
    parents = {"a": None}
    pending = {Cell("a", "r:2026-W40"): counters_for(3)}
    first = plan(5, parents, pending, "2026-W41")
    assert first.publications == () and first.waiting == {"a"}
    pending[Cell("a", "r:2026-W41")] = counters_for(2)
    second = plan(5, parents, pending, "2026-W42")
    assert [n_of(p.counters) for p in second.publications] == [5]
    assert plan(5, parents, pending, "2026-W41").publications == ()  # W41 is still open then


def test_k_below_five_is_refused() -> None:
    with pytest.raises(DisclosureError):
        minimum_group_size(4)
    with pytest.raises(DisclosureError):
        plan(3, {"a": None}, {}, "2026-W41")


def test_summary_words_by_size() -> None:
    assert summarize(Q, 5, counters_for(4)) is None
    small = summarize(Q, 5, counters_for(6, value=3))
    assert small is not None and small.spread == {} and small.trend == {} and small.wide == frozenset()
    assert set(small.bands.values()) == {classifier.Band.DEUTLICH}
    with_room = {t for t in LoadType if Q.influence_item(t) is not None}  # D has no influence item
    assert set(small.tension) == with_room  # "oft" on systemic and on little room
    assert small.cause == dict.fromkeys(LoadType, Cause.HIGH)  # D's from its systemic answers alone
    big = summarize(
        Q,
        5,
        pool([counters_for(8, value=3), counters_for(4, value=0)]),
        previous={t: classifier.Band.KAUM for t in LoadType},
    )
    assert big is not None and big.wide == frozenset(LoadType)
    assert big.spread == {t: Spread.MANY for t in LoadType}
    assert big.trend == {t: Trend.UP for t in LoadType}
    none = summarize(Q, 5, counters_for(12, value=0))
    assert none is not None and none.spread == {}  # never "niemand": nothing is said


@pytest.mark.parametrize("n", [10, 12, 20])
@pytest.mark.parametrize("sharing", ["1", "2", "3", "n-3", "n-2", "n-1", "n"])
def test_spread_words_only_between_three_and_n_minus_three(n: int, sharing: str) -> None:
    """A spread word never points at one or two people, nor at all but one or two."""
    c = int(sharing) if sharing.isdigit() else n - int(sharing[2:] or 0)
    s = summarize(Q, 5, pool([counters_for(c, value=4), counters_for(n - c, value=0)]))
    assert s is not None
    if 3 <= c <= n - 3:
        assert s.spread == {t: Spread.MANY if 2 * c >= n else Spread.SOME for t in LoadType}
    else:
        assert s.spread == {}


def test_k_per_statement_one_answerer_among_four_who_skip() -> None:
    """Four who skip everything count toward nothing: one person's profile is never shown."""
    skipper = contribution(Q, {i.id: None for i in Q.items})
    assert skipper == {}
    one = contribution(Q, {i.id: 4 for i in Q.items})
    assert summarize(Q, 5, pool([one, skipper, skipper, skipper, skipper])) is None
    # five with a result, but only one answered type A's items: no band for A, bands for the rest
    others = {i.id: (None if i.type is LoadType.A else 1) for i in Q.items}
    s = summarize(Q, 5, pool([one] + [contribution(Q, others)] * 4))
    assert s is not None and LoadType.A not in s.bands and set(s.bands) == set(LoadType) - {LoadType.A}
    assert LoadType.A not in s.tension


def test_tension_needs_k_who_answered_both_of_its_items() -> None:
    strained = {i.id: 4 for i in Q.items}
    with_room = {t for t in LoadType if Q.influence_item(t) is not None}
    no_room_answer = strained | {Q.influence_item(t).id: None for t in with_room}  # type: ignore[union-attr]
    s = summarize(Q, 5, pool([contribution(Q, strained)] * 4 + [contribution(Q, no_room_answer)] * 3))
    assert s is not None and set(s.bands) == set(LoadType) and s.tension == ()
    s = summarize(Q, 5, pool([contribution(Q, strained)] * 5 + [contribution(Q, no_room_answer)] * 3))
    assert s is not None and set(s.tension) == with_room


def test_higher_k_for_the_exhaustion_type() -> None:
    exhausted = Q.item(Q.signpost.exhaustion_item).type
    ks = thresholds(5, exhausted, 8)
    assert ks[exhausted] == 8 and all(v == 5 for t, v in ks.items() if t is not exhausted)
    s = summarize(Q, 5, counters_for(7, value=3), k_types=ks)
    assert s is not None and exhausted not in s.bands and len(s.bands) == 3
    s = summarize(Q, 5, counters_for(8, value=3), k_types=ks)
    assert s is not None and exhausted in s.bands


def test_counters_stored_under_the_older_questionnaire_are_read_for_what_they_still_mean() -> None:
    """Issue 23: 2026.12-1 had an influence item for D (stepping out after a hard contact); its
    counters (`x:D`) may still wait in a cell. D's band and mean mean the same and count; the old
    pairs say nothing about D now: no tension field, and its cause only from `y:D`."""
    strained = {i.id: 4 for i in Q.items}
    now = pool([contribution(Q, strained)] * 3)
    older = pool([contribution(Q, strained)] * 3) | {"x:D": 3, "xs:D": 12, "xi:D": 12}
    older = {k: v for k, v in older.items() if not k.startswith("y")}
    s = summarize(Q, 5, pool([now, older]))
    assert s is not None and LoadType.D in s.bands and LoadType.D not in s.tension
    assert s.cause[LoadType.D] is Cause.FEW, "three answered D's systemic item under this version: below k"
    s = summarize(Q, 5, pool([now, now]))
    assert s is not None and s.cause[LoadType.D] is Cause.HIGH
