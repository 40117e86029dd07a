"""What a result says, as validated data: sentences chosen by the level of one answer (and what
each presupposes of the others), the support paths, the signpost to help, and the texts of each
kind of outcome. Loaded as part of the questionnaire (classifier/questionnaire.yaml)."""

from __future__ import annotations

import enum
from typing import Literal

from pydantic import Field

from .text import Lang, Text, _Frozen


class Level(enum.StrEnum):
    """One answer in three steps, for the sentences built from it."""

    LOW = "0"  # nie / selten
    MID = "1"  # manchmal
    HIGH = "2"  # oft / immer


Need = Literal["low", "mid", "high", "skip"]
"""What a sentence may presuppose of one answer: its level (nie/selten, manchmal, oft/immer) or
that it was skipped."""


class Said(Text):
    """A sentence shown to a person, with what it presupposes of their answers beyond the answer
    it is chosen by (`needs`: item id -> the answers it is true for). A test walks the answer
    space and fails where a shown sentence presupposes what the answers deny."""

    needs: dict[str, tuple[Need, ...]] = Field(default_factory=dict)


class SupportPath(Text):
    """A support path in the agent's words; `lead` the same lever worded for the organisation
    (for leads' summaries and the measure picker)."""

    lead: Text | None = None

    def for_lead(self, lang: Lang) -> str:
        return (self.lead or self)(lang)


class Signpost(_Frozen):
    exhaustion_item: str
    exhaustion_from: int = Field(ge=0, le=4)
    aggression_item: str
    aggression_from: int = Field(ge=0, le=4)
    because_exhaustion: Said
    because_aggression: Said
    because_both: Said
    pointer: Text
    text: Text
    acute: Text
    """The crisis line: reachable from the intro, every question, the result and free text."""


class Systemic(_Frozen):
    """A sentence by the level of one answer: what is systemic (by the type's systemic item),
    or what the pattern means (by its exposure or strain item). Each speaks only of that item."""

    high: Said
    mid: Said
    low: Said

    def __call__(self, level: Level) -> Said:
        return {Level.HIGH: self.high, Level.MID: self.mid, Level.LOW: self.low}[level]


class Influence(_Frozen):
    """Where the person has influence, by the level of the answer to the influence item (which
    is keyed so that more often means less room): room (low), some (mid), little (high)."""

    room: Said
    some: Said
    little: Said

    def __call__(self, level: Level) -> Said:
        return {Level.LOW: self.room, Level.MID: self.some, Level.HIGH: self.little}[level]


class TypeTexts(_Frozen):
    name: Text
    meaning: Systemic
    """What the pattern means, by the level of the answer to its exposure item (or, without
    one, its strain item)."""
    systemic: Systemic
    influence: Influence | None = None
    """By the level of the answer to the type's influence item, where it has one."""
    own: Said | None = None
    """Where the type has no influence item (its third item is the strain item): one sentence
    on the person's own room that presupposes no answer."""
    paths: tuple[SupportPath, ...] = Field(min_length=2, max_length=4)


class DominantTexts(_Frozen):
    title: Text


class MultipleTexts(_Frozen):
    title: Text
    line: Text
    """One line per named type: {name}, {systemic}."""
    systemic: Systemic
    systemic_skipped: Text
    influence: Text
    """{name}, {influence}: the influence line names the type it is about."""
    paths: tuple[Text, ...] = Field(min_length=1, max_length=4)


class OutcomeTexts(_Frozen):
    title: Text
    title_signpost: Text
    """The title when the signpost is due: no "low" next to what the person reported."""
    meaning: Text
    systemic: Text
    influence: Text
    paths: tuple[Text, ...] = Field(min_length=1, max_length=4)


class ModerateTexts(OutcomeTexts):
    partly: Text
    """{names}: the types that are partly marked."""


class NoResultTexts(_Frozen):
    title: Text
    meaning: Text
    in_round: Text
    outside_round: Text


class Outcomes(_Frozen):
    dominant: DominantTexts
    multiple: MultipleTexts
    moderate: ModerateTexts
    low: OutcomeTexts
    no_result: NoResultTexts
    systemic_skipped: Text
    influence_skipped: Text
    meaning_skipped: Text
    """A named pattern whose exposure (strain) item was skipped."""
    no_reference: Text
    """Said once with every result: Ruhepuls compares with nobody and has no reference values."""
