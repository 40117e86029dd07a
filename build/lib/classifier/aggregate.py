"""Aggregate counters: what one completed survey adds to its team's reporting window.

The contribution is a flat mapping of counter names to increments. It holds no user id and no
time; once added to a team window's counters, one person's answers can no longer be told apart.
Counter names:
- `n`: respondents;
- `o:<outcome>`: outcomes;
- `p:<type>`: the types a DOMINANT or MULTIPLE outcome names;
- `i:<item>:<0-4|s>`: answers per item and option (`s` = skipped);
- `b:<type>:<kaum|teilweise|deutlich|none>`: the band per type.
"""

from __future__ import annotations

from .model import Questionnaire
from .scoring import Answers, classify

SKIPPED = "s"
NO_BAND = "none"


def contribution(q: Questionnaire, answers: Answers) -> dict[str, int]:
    """The counter increments for one completed survey."""
    c = classify(q, answers)
    out = {"n": 1, f"o:{c.outcome}": 1}
    for t in c.types:
        out[f"p:{t}"] = 1
    for item in q.items:
        value = answers.get(item.id)
        out[f"i:{item.id}:{SKIPPED if value is None else value}"] = 1
    for t, b in c.bands.items():
        out[f"b:{t}:{NO_BAND if b is None else b}"] = 1
    return out
