"""Disclosure control: what a team lead may see. Pure functions; the most careful code here.

Rules (DOMAIN.md, "What a team lead may see"), and how this module keeps them:

1. Minimum group size k >= 5, never lower (`MinimumGroupSize` refuses it).
2. k holds per statement, counted over the people who answered what it is about: a type's band
   needs k people whose band for that type is computable (two of its three items answered); a
   tension field needs k who answered both of its items; "enough responses" counts people with
   a result (a survey with no result counts toward nothing). The type fed by the exhaustion item
   may ask for a higher k (works agreements often ask 7-10).
3. Responses are counted per team and *cell* (one round's ISO week). A report covers only cells
   whose week has ended and that no earlier report covered. Every cell is published at most
   once, in exactly one group of at least k people with a result. Because published groups are
   pairwise disjoint, no difference of two reports (nor of a parent and its children) isolates
   fewer than k people: any combination of disjoint groups is a union of whole groups.
4. A team whose pending people are fewer than k waits (its cells roll into the next report).
   If it has a parent group, it is folded into the parent's report instead, together with one
   more sibling (the smallest that could have been shown on its own), so the small team can't
   be computed as the parent minus the others.
5. From k: per type the team's band in words, and the "structural tension fields" (the team
   sees a load as systemic and has little room to act on it). From 10 who answered the type:
   how widespread a clear pattern is, in coarse words ("bei einigen", "bei vielen"), only where
   at least 3 share it and at least 3 do not (so a word never points at one or two people, nor
   at everyone but one or two), and the trend against a last report that also rested on 10.
   Never a count, never "alle" or "niemand", no ranking, no comparison of teams.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from .aggregate import cause_base, clear, people, tension_base, type_mean, with_band
from .model import LoadType, Questionnaire
from .scoring import Band, band

MIN_K = 5
WIDESPREAD_FROM = 10
SPREAD_MARGIN = 3
"""A spread word needs at least this many who share the statement and this many who do not."""
# The tension-field thresholds (the team mean of a type's systemic item from which the team sees
# the cause as systemic, and of its influence item from which room is small) are part of the
# versioned questionnaire: `thresholds.tension_systemic`, `thresholds.tension_little_room`.


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
    """People with a result: the size of a group for the minimum group size."""
    return people(counters)


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


class Cause(enum.StrEnum):
    """What the team's own answers to a type's systemic item say of its cause."""

    HIGH = "high"
    """Most see it in the organisation's conditions (team mean of the systemic item high)."""
    PARTLY = "partly"
    LOW = "low"
    """The team rarely sees it there: another lever (its room to act) lies nearer."""
    FEW = "few"
    """Too few answered the systemic item to say anything."""


class Trend(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    SAME = "same"


@dataclass(frozen=True, slots=True)
class TeamSummary:
    bands: Mapping[LoadType, Band]
    """Only types whose band k (or that type's higher k) people can back."""
    tension: tuple[LoadType, ...]
    spread: Mapping[LoadType, Spread]
    """How widespread a clear pattern is, where the threshold rule allows a word at all."""
    trend: Mapping[LoadType, Trend]
    """The band's direction against the last report, where both rest on at least 10."""
    wide: frozenset[LoadType]
    """Types whose band rests on at least 10 people (a later trend may refer to them)."""
    cause: Mapping[LoadType, Cause] = field(default_factory=dict)
    """Per listed type, what the team's systemic answers say of its cause (from k who answered
    both of its tension items, as the tension field)."""


def thresholds(
    k: int, exhaustion_type: LoadType | None = None, k_exhaustion: int | None = None
) -> dict[LoadType, int]:
    """k per type: the minimum group size, or the higher one for the exhaustion-driven type."""
    k = minimum_group_size(k)
    out = {t: k for t in LoadType}
    if exhaustion_type is not None and k_exhaustion is not None:
        out[exhaustion_type] = max(k, k_exhaustion)
    return out


_ORDER = {Band.KAUM: 0, Band.TEILWEISE: 1, Band.DEUTLICH: 2}


def summarize(
    q: Questionnaire,
    k: int,
    counters: Counters,
    previous: Mapping[LoadType, Band] | None = None,
    k_types: Mapping[LoadType, int] | None = None,
) -> TeamSummary | None:
    """The summary of one publication; None when fewer than k people have a result (then
    nothing may be said). `previous` holds the last report's bands that rested on at least 10
    people; `k_types` a higher k per type (never lower than k)."""
    k = minimum_group_size(k)
    if people(counters) < k:
        return None
    need = {t: max(k, (k_types or {}).get(t, k)) for t in LoadType}
    bands: dict[LoadType, Band] = {}
    tension: list[LoadType] = []
    spread: dict[LoadType, Spread] = {}
    trend: dict[LoadType, Trend] = {}
    wide: set[LoadType] = set()
    cause: dict[LoadType, Cause] = {}
    for t in LoadType:
        n_t, mean = with_band(counters, t), type_mean(counters, t)
        if mean is None or n_t < need[t]:
            continue
        bands[t] = b = band(q, mean)
        if q.influence_item(t) is None:  # the cause from the systemic answers alone, no tension field
            (x, systemic), room = cause_base(counters, t), None
        else:
            x, systemic, room = tension_base(counters, t)
        cause[t] = Cause.FEW
        if x >= need[t] and systemic is not None:
            cause[t] = (
                Cause.HIGH
                if systemic >= q.thresholds.tension_systemic
                else Cause.PARTLY
                if systemic >= q.thresholds.level_mid_from - Fraction(1, 2)
                else Cause.LOW
            )
        if x >= need[t] and systemic is not None and room is not None:
            if systemic >= q.thresholds.tension_systemic and room >= q.thresholds.tension_little_room:
                tension.append(t)
        if n_t < WIDESPREAD_FROM:
            continue
        wide.add(t)
        c = clear(counters, t)
        if c >= SPREAD_MARGIN and n_t - c >= SPREAD_MARGIN:
            spread[t] = Spread.MANY if 2 * c >= n_t else Spread.SOME
        if previous and t in previous:
            d = _ORDER[b] - _ORDER[previous[t]]
            trend[t] = Trend.UP if d > 0 else Trend.DOWN if d < 0 else Trend.SAME
    return TeamSummary(bands, tuple(tension), spread, trend, frozenset(wide), cause)
