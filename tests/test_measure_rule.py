"""What may be said of a measure's effect, as a property over every population: nothing below k
who gave a view, a majority word only for a real majority, never a count."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from classifier.measures import Verdict, View, verdict, view_field

MID = "m0a0b0c"


@given(counts=st.fixed_dictionaries({v: st.integers(0, 30) for v in View}), k=st.integers(5, 12))
def test_the_view_is_said_only_from_k_and_only_as_a_majority(counts: dict[View, int], k: int) -> None:
    counters = {view_field(MID, v): n for v, n in counts.items()}
    counters["v:m999999:worse"] = 50  # another measure's answers never count here
    said = verdict(counters, MID, k)
    opinions = sum(n for v, n in counts.items() if v is not View.DONT_KNOW)
    if opinions < k:
        assert said is None
        return
    assert said is not None
    better = counts[View.SOME] + counts[View.CLEAR]
    expected = {
        Verdict.BETTER: 2 * better > opinions,
        Verdict.SAME: 2 * counts[View.SAME] > opinions,
        Verdict.WORSE: 2 * counts[View.WORSE] > opinions,
    }
    assert said is next((v for v, holds in expected.items() if holds), Verdict.MIXED)


def test_dont_know_is_an_answer_but_no_view() -> None:
    counters = {view_field(MID, View.CLEAR): 4, view_field(MID, View.DONT_KNOW): 9}
    assert verdict(counters, MID, 5) is None
    counters[view_field(MID, View.SAME)] = 1
    assert verdict(counters, MID, 5) is Verdict.BETTER
