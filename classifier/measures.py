"""Measures: what a team chose to change after a summary, and whether, in its members' view, it
helped. Pure: the record's shape, the options a summary offers, the check-back answer's
counters and what may be said of them.

A measure holds no answers and nothing about a person: what (a support path of the
questionnaire, or a lead's own words), for which load type, since when, which role takes it
on and by when, when to check, and its status (what the GDA's documentation of a risk
assessment asks of a measure: what, who, by when, and whether it worked). The check-back question ("did it make a difference?") is
counted like every other answer, into the same cell counters, and is said in words only when at
least k people gave a view (a "don't know" is an answer, but no view).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .disclosure import minimum_group_size
from .model import LoadType, Questionnaire
from .scoring import Band
from .text import Lang
from .wording import SupportPath

Status = Literal["planned", "running", "done", "dropped"]
STATUSES: tuple[Status, ...] = ("planned", "running", "done", "dropped")
CHECKS = ("4w", "next", "8w")
"""When to ask the team, as offered: the first is the default (no earlier than four weeks), or
in the next round (an early view), or not before eight weeks."""
DUES = ("4w", "2w", "8w", "12w")
"""By when the change is to be in place, as offered (the first is the default); recorded and
shown with the measure, beside who is responsible."""
OWN_TEXT = (3, 280)
"""Shortest and longest own words for a measure (characters)."""
ROLE = (2, 80)
ENDED_NOTED_WEEKS = 26
"""How long after it was chosen a measure that has ended (done, dropped) is still spoken of in
the weekly posts (the team report keeps it for good)."""


class View(enum.StrEnum):
    """One person's answer to the check-back question."""

    WORSE = "worse"
    SAME = "same"
    SOME = "some"
    CLEAR = "clear"
    DONT_KNOW = "dk"


VIEWS_WITH_AN_OPINION = (View.WORSE, View.SAME, View.SOME, View.CLEAR)


class Verdict(enum.StrEnum):
    """What a publication may say of a measure's effect, in words."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"
    MIXED = "mixed"


class Measure(BaseModel):
    """One entry of a team's record of measures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^m[0-9a-f]{6}$")
    team: str
    type: LoadType | None = None
    """The load type it addresses (None for an own measure not tied to one)."""
    path: str | None = Field(None, pattern=r"^[ABCD]\.[0-3]$")
    """A support path of the questionnaire (`<type>.<index>`), or None for own words."""
    text: str | None = Field(None, min_length=OWN_TEXT[0], max_length=OWN_TEXT[1])
    """The lead's own words (stored as typed: it describes a change, never a person)."""
    role: str = Field(min_length=ROLE[0], max_length=ROLE[1])
    chosen: date
    check: date | None = None
    """Ask from this day on; None: in the next round opened after `chosen`."""
    due: date | None = None
    """By when the change is to be in place (a record from before this field has none)."""
    status: Status = "running"

    @field_validator("text", "role")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and names_someone(value):
            raise ValueError("names_someone: a measure describes a change, never a person")
        return " ".join(value.split()) if value is not None else None

    def what(self, q: Questionnaire, lang: Lang, *, lead: bool = False) -> str:
        """The measure in words: a path in the agent's wording (the check-back question) or,
        for leads, in the organisation's; a lead's own words as typed."""
        path = path_text(q, self.path) if self.path is not None else None
        if path is None:
            return self.text or "?"
        return path.for_lead(lang) if lead else path(lang)

    def noted_in(self, week: str) -> bool:
        """Does the weekly post of the ISO `week` (e.g. `2026-W48`) speak of this measure? One
        chosen before that week and not merely planned; once ended, for ENDED_NOTED_WEEKS."""
        monday = date.fromisoformat(f"{week}-1")
        if self.chosen >= monday or self.status == "planned":
            return False
        return self.status == "running" or self.chosen > monday - timedelta(weeks=ENDED_NOTED_WEEKS)

    def asks_in(self, round_opened: date) -> bool:
        """Does a round opened on this day ask the check-back question for this measure?"""
        start = self.check or self.chosen
        return self.status == "running" and round_opened > self.chosen and round_opened >= start


def path_text(q: Questionnaire, ref: str) -> SupportPath | None:
    """The support path `<type>.<index>`, or None when there is none."""
    try:
        t, i = ref.split(".")
        return q.types[LoadType(t)].paths[int(i)]
    except (ValueError, KeyError, IndexError):
        return None


def options(q: Questionnaire, bands: Mapping[str, str] | None) -> list[str]:
    """The support paths a lead may choose from after a summary: those of the types the team's
    last published summary showed clearly (else partly), the organisation's and the team's
    levers first; with nothing published, the first two of every type."""
    bands = bands or {}
    for wanted in (Band.DEUTLICH, Band.TEILWEISE):
        types = [t for t in LoadType if bands.get(t.value) == wanted.value]
        if types:
            return [f"{t.value}.{i}" for t in types for i in range(min(3, len(q.types[t].paths)))]
    return [f"{t.value}.{i}" for t in LoadType for i in range(2)]


_SOMEONE = re.compile(r"@\w|<@|<#|\b[UW][A-Z0-9]{8,}\b|\b\d{6,}\b|\b29:\S+|\b8:orgid:\S+|\S+@\S+\.\w{2,}")
"""What would point at a person in a measure's text or role: an @mention (Slack, Teams,
Telegram), a Slack user or workspace member id, a long number (a Telegram user id, a phone
number, a staff number), a Teams user id, an e-mail address."""


def names_someone(text: str) -> bool:
    """Does `text` point at a person? Agents read a measure's words in the check-back question."""
    return _SOMEONE.search(text) is not None


def view_field(measure_id: str, view: View) -> str:
    """The counter field one check-back answer adds to its cell."""
    return f"v:{measure_id}:{view}"


def views(counters: Mapping[str, int], measure_id: str) -> dict[View, int]:
    return {v: int(counters.get(view_field(measure_id, v), 0)) for v in View}


def verdict(counters: Mapping[str, int], measure_id: str, k: int) -> Verdict | None:
    """What may be said of a measure's effect: None unless at least k people gave a view (a
    "don't know" counts as an answer but not as a view). A majority word only where more than
    half share it; never a count, never "everyone"."""
    k = minimum_group_size(k)
    got = views(counters, measure_id)
    n = sum(got[v] for v in VIEWS_WITH_AN_OPINION)
    if n < k:
        return None
    better = got[View.SOME] + got[View.CLEAR]
    if 2 * better > n:
        return Verdict.BETTER
    if 2 * got[View.SAME] > n:
        return Verdict.SAME
    if 2 * got[View.WORSE] > n:
        return Verdict.WORSE
    return Verdict.MIXED
