"""The classification rule, deterministic and documented (see DOMAIN.md, "Classification").

1. Per type, the mean of its answered items; missing when fewer than `min_answered_per_type`
   are answered. Fewer than `min_types` computable types: NO_RESULT.
2. A band per type: KAUM below `partly`, TEILWEISE below `clear`, DEUTLICH from `clear`.
3. No type DEUTLICH: all KAUM gives LOW, otherwise MODERATE.
4. At least one DEUTLICH: the top type is DOMINANT when it leads the second by at least
   `dominance_margin`; otherwise MULTIPLE, naming the top two. Where several types tie for the
   second place all of them are named, so that no tie is ever broken arbitrarily.
5. The safety signpost is independent of the outcome and never stored.

All arithmetic is exact (fractions), so 2/3 is 2/3 and a tie is a tie.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from .model import LoadType, Questionnaire

Answers = Mapping[str, int | None]
"""Item id to value 0-4; None (or absent) means skipped."""


class Band(enum.StrEnum):
    KAUM = "kaum"
    TEILWEISE = "teilweise"
    DEUTLICH = "deutlich"


class Outcome(enum.StrEnum):
    DOMINANT = "dominant"
    MULTIPLE = "multiple"
    MODERATE = "moderate"
    LOW = "low"
    NO_RESULT = "no_result"


@dataclass(frozen=True, slots=True)
class Classification:
    outcome: Outcome
    types: tuple[LoadType, ...]
    """The named types: one for DOMINANT, two or more for MULTIPLE, none otherwise."""
    bands: Mapping[LoadType, Band | None]
    means: Mapping[LoadType, Fraction | None]
    signpost: bool


def type_means(q: Questionnaire, answers: Answers) -> dict[LoadType, Fraction | None]:
    """The mean per type over its answered items, or None when too few are answered."""
    out: dict[LoadType, Fraction | None] = {}
    for t in LoadType:
        values = [v for i in q.items_of(t) if (v := answers.get(i.id)) is not None]
        if len(values) < q.thresholds.min_answered_per_type:
            out[t] = None
        else:
            out[t] = Fraction(sum(values), len(values))
    return out


def band(q: Questionnaire, mean: Fraction) -> Band:
    th = q.thresholds
    if mean < th.partly:
        return Band.KAUM
    if mean < th.clear:
        return Band.TEILWEISE
    return Band.DEUTLICH


def signpost(q: Questionnaire, answers: Answers) -> bool:
    sp = q.signpost
    exhaustion = answers.get(sp.exhaustion_item)
    aggression = answers.get(sp.aggression_item)
    return (exhaustion is not None and exhaustion >= sp.exhaustion_from) or (
        aggression is not None and aggression >= sp.aggression_from
    )


def validate_answers(q: Questionnaire, answers: Answers) -> None:
    """Raise ValueError for an unknown item or a value off the scale."""
    known = {i.id for i in q.items}
    for item_id, value in answers.items():
        if item_id not in known:
            raise ValueError("unknown item id")
        if value is not None and not (isinstance(value, int) and 0 <= value <= 4):
            raise ValueError("answer value off the scale")


def classify(q: Questionnaire, answers: Answers) -> Classification:
    """Apply the rule to one person's answers. Pure; the same answers give the same result."""
    validate_answers(q, answers)
    means = type_means(q, answers)
    bands = {t: (None if m is None else band(q, m)) for t, m in means.items()}
    computable = {t: m for t, m in means.items() if m is not None}
    flag = signpost(q, answers)

    def result(outcome: Outcome, types: tuple[LoadType, ...] = ()) -> Classification:
        return Classification(outcome, types, bands, means, flag)

    if len(computable) < q.thresholds.min_types:
        return result(Outcome.NO_RESULT)
    if Band.DEUTLICH not in bands.values():
        if all(b in (None, Band.KAUM) for b in bands.values()):
            return result(Outcome.LOW)
        return result(Outcome.MODERATE)

    ranked = sorted(computable.values(), reverse=True)
    top, second = ranked[0], ranked[1]
    leaders = tuple(t for t in LoadType if computable.get(t) == top)
    if len(leaders) == 1 and top - second >= q.thresholds.dominance_margin:
        return result(Outcome.DOMINANT, leaders)
    if len(leaders) >= 2:
        return result(Outcome.MULTIPLE, leaders)
    runners_up = tuple(t for t in LoadType if computable.get(t) == second)
    return result(Outcome.MULTIPLE, leaders + runners_up)
