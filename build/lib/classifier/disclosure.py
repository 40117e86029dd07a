"""Disclosure control: what a team lead may see. Pure functions; the most careful code here.

Rules (DOMAIN.md, "What a team lead may see"), and how this module keeps them:

1. Minimum group size k >= 5, never lower (`MinimumGroupSize` refuses it).
2. Responses are counted per team and *cell* (one round's ISO week). A report covers only cells
   whose week has ended and that no earlier report covered. Every cell is published at most
   once, in exactly one group of at least k respondents. Because published groups are pairwise
   disjoint, no difference of two reports (nor of a parent and its children) isolates fewer
   than k people: any combination of disjoint groups is a union of whole groups.
3. A team whose pending responses are fewer than k waits (its cells roll into the next report).
   If it has a parent group, it is folded into the parent's report instead, together with one
   more sibling (the smallest that could have been shown on its own), so the small team can't
   be computed as the parent minus the others.
4. From k respondents: per type the team's band in words, and the "structural tension fields"
   (the team sees a load as systemic and has little room to act on it). From 10: how widespread
   a pattern is, only in coarse words ("bei einigen", "bei vielen"), and the trend against the
   last report. Never a count, never "alle" or "niemand", no ranking, no comparison of teams.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from .model import Facet, LoadType, Questionnaire
from .scoring import Band, band

MIN_K = 5
WIDESPREAD_FROM = 10
TENSION_SYSTEMIC = Fraction(5, 2)
"""Team mean of a type's systemic item from which the team sees the cause as systemic ("oft")."""
TENSION_LITTLE_ROOM = Fraction(2)
"""Team mean of its influence item (keyed: high = little room) from which room is small."""


class DisclosureError(ValueError):
    pass


def minimum_group_size(k: int) -> int:
    """Validate k: never below 5."""
    if k < MIN_K:
        raise DisclosureError(f"the minimum group size must be at least {MIN_K}")
    return k


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """One team's responses in one round's ISO week."""

    team: str
    window: str
    """`<round>:<year>-W<week>`"""

    @property
    def week(self) -> str:
        return self.window.rsplit(":", 1)[-1]


Counters = Mapping[str, int]


def n_of(counters: Counters) -> int:
    return int(counters.get("n", 0))


def pool(parts: Iterable[Counters]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return dict(total)


@dataclass(frozen=True, slots=True)
class Publication:
    audience: str
    """The team whose leads receive it (a team, or the parent group for folded teams)."""
    cells: frozenset[Cell]
    counters: Mapping[str, int]
    folded: frozenset[str] = frozenset()
    """Teams whose responses are in this parent publication instead of their own."""


@dataclass(frozen=True, slots=True)
class Plan:
    publications: tuple[Publication, ...]
    waiting: frozenset[str]
    """Teams with responses still below k: nothing of theirs is published yet."""
    folded_into: Mapping[str, str] = field(default_factory=dict)
    """Team -> the parent whose publication includes it this time."""

    @property
    def consumed(self) -> frozenset[Cell]:
        return frozenset(c for p in self.publications for c in p.cells)


def plan(
    k: int,
    parents: Mapping[str, str | None],
    pending: Mapping[Cell, Counters],
    current_week: str,
) -> Plan:
    """Decide what this report run publishes.

    `parents` maps every team to its parent group (or None); `pending` holds the counters of
    cells not yet published; cells of `current_week` (still open) and later are left alone.
    """
    k = minimum_group_size(k)
    closed = {c: v for c, v in pending.items() if c.week < current_week and n_of(v) > 0}
    by_team: dict[str, list[Cell]] = {}
    for cell in sorted(closed):
        by_team.setdefault(cell.team, []).append(cell)
    size = {t: sum(n_of(closed[c]) for c in cells) for t, cells in by_team.items()}

    publications: list[Publication] = []
    waiting: set[str] = set()
    folded_into: dict[str, str] = {}
    own = {t for t, n in size.items() if n >= k}
    small = {t for t, n in size.items() if n < k}

    for parent in sorted({p for p in parents.values() if p}):
        children = sorted(t for t, p in parents.items() if p == parent)
        small_children = [t for t in children if t in small]
        if not small_children:
            continue
        group = list(small_children)
        if parent in by_team:  # the parent's own responses go into the same one publication
            group.append(parent)
        visible = sorted((size[t], t) for t in children if t in own)
        if visible:  # hide one more sibling so the small ones can't be computed by subtraction
            group.append(visible[0][1])
        total = sum(size.get(t, 0) for t in group)
        if total < k:
            continue  # they keep waiting; nothing from them is shown
        cells = frozenset(c for t in group for c in by_team.get(t, []))
        publications.append(
            Publication(parent, cells, pool(closed[c] for c in cells), frozenset(group) - {parent})
        )
        for t in group:
            own.discard(t)
            small.discard(t)
            if t != parent:
                folded_into[t] = parent

    for t in sorted(own):
        cells = frozenset(by_team[t])
        publications.append(Publication(t, cells, pool(closed[c] for c in cells)))
    waiting.update(small)
    return Plan(tuple(publications), frozenset(waiting), folded_into)


# --- what a publication says ----------------------------------------------------------------------
class Spread(enum.StrEnum):
    SOME = "einige"
    MANY = "viele"


class Trend(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    SAME = "same"


@dataclass(frozen=True, slots=True)
class TeamSummary:
    bands: Mapping[LoadType, Band]
    tension: tuple[LoadType, ...]
    spread: Mapping[LoadType, Spread] | None
    """From 10 respondents: how widespread each clear pattern is; None below."""
    trend: Mapping[LoadType, Trend] | None
    """From 10 respondents and with an earlier report: the band's direction; None otherwise."""
    large: bool
    """At least 10 respondents (said in words only)."""


def _item_mean(counters: Counters, item_id: str) -> Fraction | None:
    total = answered = 0
    for v in range(5):
        c = int(counters.get(f"i:{item_id}:{v}", 0))
        total += v * c
        answered += c
    return Fraction(total, answered) if answered else None


def _type_mean(q: Questionnaire, counters: Counters, t: LoadType) -> Fraction | None:
    total = answered = 0
    for item in q.items_of(t):
        for v in range(5):
            c = int(counters.get(f"i:{item.id}:{v}", 0))
            total += v * c
            answered += c
    return Fraction(total, answered) if answered else None


_ORDER = {Band.KAUM: 0, Band.TEILWEISE: 1, Band.DEUTLICH: 2}


def summarize(
    q: Questionnaire, k: int, counters: Counters, previous: Mapping[LoadType, Band] | None = None
) -> TeamSummary | None:
    """The summary of one publication; None when it is below k (then nothing may be said)."""
    n = n_of(counters)
    if n < minimum_group_size(k):
        return None
    bands: dict[LoadType, Band] = {}
    tension: list[LoadType] = []
    for t in LoadType:
        mean = _type_mean(q, counters, t)
        if mean is not None:
            bands[t] = band(q, mean)
        systemic = _item_mean(counters, q.systemic_item(t).id)
        room = _item_mean(counters, next(i.id for i in q.items_of(t) if i.facet is Facet.INFLUENCE))
        if (
            systemic is not None
            and room is not None
            and systemic >= TENSION_SYSTEMIC
            and room >= TENSION_LITTLE_ROOM
        ):
            tension.append(t)
    large = n >= WIDESPREAD_FROM
    spread = None
    trend = None
    if large:
        spread = {}
        for t in LoadType:
            clear = int(counters.get(f"b:{t}:{Band.DEUTLICH}", 0))
            if clear > 0:  # never "nobody"; and never "all", however many
                spread[t] = Spread.MANY if 2 * clear >= n else Spread.SOME
        if previous:
            trend = {}
            for t, b in bands.items():
                if t in previous:
                    d = _ORDER[b] - _ORDER[previous[t]]
                    trend[t] = Trend.UP if d > 0 else Trend.DOWN if d < 0 else Trend.SAME
    return TeamSummary(bands, tuple(tension), spread, trend, large)
