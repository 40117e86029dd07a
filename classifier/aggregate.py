"""Aggregate counters: what one completed survey adds to its team's reporting window.

The contribution is a flat mapping of counter names to increments. It holds no user id and no
time; once added to a team window's counters, one person's answers can no longer be told apart.
It records exactly what the disclosure rule needs to hold per statement (DOMAIN.md: k is
counted over the people who answered what a statement is about), and nothing more:

- `n`: people with a result. A survey that ended with "no result" adds nothing at all.
- per type `t` whose mean is computable (at least two of its three items answered):
  `b:<t>:<band>` (one of kaum / teilweise / deutlich) and `m:<t>`, the person's type mean
  times 6 (an integer: means are thirds or halves), so a team mean is the mean of person means
  over exactly the people counted in `b:<t>:*`;
- per type `t` whose systemic and influence items were both answered: `x:<t>` (one person),
  `xs:<t>` and `xi:<t>` (their two answers), so a tension field rests only on people who
  answered both of its items;
- per type `t` without an influence item (its third item is the strain item) whose systemic
  item was answered: `y:<t>` (one person) and `ys:<t>` (the answer), for what the team says of
  its cause. Counters of a version that still had an influence item for `t` (`x:<t>`) are left
  unread for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from .model import LoadType, Questionnaire
from .scoring import Answers, Band, Outcome, classify

MEAN_SCALE = 6
"""Type means are multiples of 1/2 or 1/3; times 6 they are whole numbers."""


def contribution(q: Questionnaire, answers: Answers) -> dict[str, int]:
    """The counter increments for one completed survey (empty when it has no result)."""
    c = classify(q, answers)
    if c.outcome is Outcome.NO_RESULT:
        return {}
    out = {"n": 1}
    for t in LoadType:
        mean, b = c.means[t], c.bands[t]
        if mean is not None and b is not None:
            out[f"b:{t}:{b}"] = 1
            out[f"m:{t}"] = int(mean * MEAN_SCALE)
        systemic = answers.get(q.systemic_item(t).id)
        item = q.influence_item(t)
        if item is None:
            if systemic is not None:
                out[f"y:{t}"] = 1
                out[f"ys:{t}"] = systemic
            continue
        room = answers.get(item.id)
        if systemic is not None and room is not None:
            out[f"x:{t}"] = 1
            out[f"xs:{t}"] = systemic
            out[f"xi:{t}"] = room
    return out


def people(counters: Mapping[str, int]) -> int:
    """People with a result in these counters."""
    return int(counters.get("n", 0))


def with_band(counters: Mapping[str, int], t: LoadType) -> int:
    """People whose band for `t` is computable (they answered at least two of its items)."""
    return sum(int(counters.get(f"b:{t}:{b}", 0)) for b in Band)


def clear(counters: Mapping[str, int], t: LoadType) -> int:
    """People for whom `t` is clearly present."""
    return int(counters.get(f"b:{t}:{Band.DEUTLICH}", 0))


def type_mean(counters: Mapping[str, int], t: LoadType) -> Fraction | None:
    """The team mean of the person means for `t`, over the people counted in `with_band`."""
    n = with_band(counters, t)
    return Fraction(int(counters.get(f"m:{t}", 0)), n * MEAN_SCALE) if n else None


def cause_base(counters: Mapping[str, int], t: LoadType) -> tuple[int, Fraction | None]:
    """For a type without an influence item: the people who answered its systemic item, and
    their mean."""
    n = int(counters.get(f"y:{t}", 0))
    return (n, Fraction(int(counters.get(f"ys:{t}", 0)), n)) if n else (0, None)


def tension_base(counters: Mapping[str, int], t: LoadType) -> tuple[int, Fraction | None, Fraction | None]:
    """People who answered both the systemic and the influence item of `t`, and their means."""
    n = int(counters.get(f"x:{t}", 0))
    if not n:
        return 0, None, None
    return n, Fraction(int(counters.get(f"xs:{t}", 0)), n), Fraction(int(counters.get(f"xi:{t}", 0)), n)
