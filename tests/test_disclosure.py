"""Disclosure control: properties over any sequence of responses, windows and team trees."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import classifier
from classifier import LoadType, contribution
from classifier.disclosure import (
    Cell,
    DisclosureError,
    Spread,
    Trend,
    minimum_group_size,
    n_of,
    plan,
    pool,
    summarize,
)  # fmt: skip

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
    weekly = draw(st.lists(
        st.dictionaries(st.sampled_from(teams), st.integers(0, 12), max_size=len(teams)),
        min_size=1, max_size=8,
    ))  # fmt: skip
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
    pending = {Cell("a", "r:2026-W40"): counters_for(3), Cell("b", "r:2026-W40"): counters_for(6),
               Cell("c", "r:2026-W40"): counters_for(9)}  # fmt: skip
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
    assert small is not None and small.spread is None and small.trend is None and not small.large
    assert set(small.bands.values()) == {classifier.Band.DEUTLICH}
    assert set(small.tension) == set(LoadType)  # "oft" on systemic and on little room
    big = summarize(Q, 5, pool([counters_for(8, value=3), counters_for(4, value=0)]),
                    previous={t: classifier.Band.KAUM for t in LoadType})  # fmt: skip
    assert big is not None and big.large
    assert big.spread == {t: Spread.MANY for t in LoadType}
    assert big.trend == {t: Trend.UP for t in LoadType}
    few = summarize(Q, 5, pool([counters_for(2, value=4), counters_for(10, value=0)]))
    assert few is not None and few.spread == {t: Spread.SOME for t in LoadType}
    none = summarize(Q, 5, counters_for(12, value=0))
    assert none is not None and none.spread == {}  # never "niemand": nothing is said
