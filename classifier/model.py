"""The questionnaire as validated data.

Rules kept here: every text exists in every language the file declares; there are exactly three
items per load type; item ids are unique; thresholds are exact fractions so that a tie is a tie.
A broken file fails at load time with a message that names the field.
"""

from __future__ import annotations

import enum
from fractions import Fraction
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator, Field, model_validator

from .text import Lang, QuestionnaireError, Text, _describe, _Frozen, read_yaml
from .wording import Level, Outcomes, Signpost, TypeTexts


class LoadType(enum.StrEnum):
    """The four load patterns of the work (never traits of a person)."""

    A = "A"  # customer conflict without backing
    B = "B"  # quality-versus-pace conflict
    C = "C"  # pressure without latitude
    D = "D"  # constant emotional self-control


class Facet(enum.StrEnum):
    EXPOSURE = "exposure"
    """How often the stressor occurs."""
    STRAIN = "strain"
    """The strain it leaves (type D's exhaustion item, health-adjacent); stands for exposure."""
    SYSTEMIC = "systemic"
    """The condition of the organisation that produces it."""
    INFLUENCE = "influence"
    """The person's room to act on it (keyed: more often = less room)."""


def _fraction(value: Any) -> Fraction:
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"not a number or fraction: {value!r}") from exc


Ratio = Annotated[Fraction, BeforeValidator(_fraction)]


class ScalePoint(_Frozen):
    value: int = Field(ge=0, le=4)
    label: Text


class Thresholds(_Frozen):
    min_answered_per_type: int = Field(ge=1, le=3)
    min_types: int = Field(ge=1, le=4)
    partly: Ratio
    clear: Ratio
    dominance_margin: Ratio
    level_mid_from: int = Field(ge=1, le=4)
    level_high_from: int = Field(ge=1, le=4)
    tension_systemic: Ratio
    tension_little_room: Ratio

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not (0 < self.partly < self.clear <= 4):
            raise ValueError("thresholds must satisfy 0 < partly < clear <= 4")
        if not (0 < self.dominance_margin <= 4):
            raise ValueError("dominance_margin must lie in (0, 4]")
        if not self.level_mid_from < self.level_high_from:
            raise ValueError("level_mid_from must lie below level_high_from")
        if not (0 < self.tension_systemic <= 4 and 0 < self.tension_little_room <= 4):
            raise ValueError("tension thresholds must lie in (0, 4]")
        return self

    def level(self, value: int | None) -> Level | None:
        """The level of one answer (None: skipped)."""
        if value is None:
            return None
        if value >= self.level_high_from:
            return Level.HIGH
        return Level.MID if value >= self.level_mid_from else Level.LOW


class Item(_Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9]{0,7}$")
    type: LoadType
    facet: Facet
    text: Text
    health_adjacent: bool = False
    skip_label: Text | None = None
    """The skip button's label where the item presupposes an event that may not occur."""
    note: Text | None = None
    """A short line shown above the question (e.g. that skipping is fine)."""
    since: str | None = None
    """The questionnaire version whose wording this item has (None: as in every version): an
    answer given in a survey started under an older version is not carried over."""


class Questionnaire(_Frozen):
    version: str = Field(min_length=1)
    languages: tuple[Lang, ...]
    stem: Text
    scale: tuple[ScalePoint, ...]
    skip_label: Text
    thresholds: Thresholds
    signpost: Signpost
    types: dict[LoadType, TypeTexts]
    items: tuple[Item, ...]
    outcomes: Outcomes

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        if tuple(p.value for p in self.scale) != (0, 1, 2, 3, 4):
            raise ValueError("scale must list the values 0, 1, 2, 3, 4 in order")
        if set(self.types) != set(LoadType):
            raise ValueError("types must describe exactly A, B, C and D")
        ids = [i.id for i in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("item ids must be unique")
        for t in LoadType:
            facets = sorted(i.facet for i in self.items if i.type is t)
            inner = {Facet.EXPOSURE, Facet.STRAIN}
            if len(facets) != 3 or facets.count(Facet.SYSTEMIC) != 1 or not inner & set(facets):
                raise ValueError(
                    f"type {t} needs three items: one systemic, one exposure or strain, and one "
                    "influence (or, beside a strain item, an exposure item)"
                )
            if Facet.INFLUENCE not in facets and set(facets) != {Facet.SYSTEMIC, *inner}:
                raise ValueError(
                    f"type {t}: without an influence item it needs an exposure and a strain item"
                )
            texts = self.types[t]
            if (Facet.INFLUENCE in facets) != (texts.influence is not None) or (texts.influence is None) != (
                texts.own is not None
            ):
                raise ValueError(
                    f"type {t}: `influence` texts go with an influence item, `own` with none (one of the two)"
                )
        by_id = {i.id: i for i in self.items}
        for name in ("exhaustion_item", "aggression_item"):
            if getattr(self.signpost, name) not in by_id:
                raise ValueError(f"signpost.{name} names no item")
        return self

    # --- lookups -------------------------------------------------------------------------
    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)

    def items_of(self, load_type: LoadType) -> tuple[Item, ...]:
        return self.by_type[load_type]

    @cached_property
    def by_type(self) -> dict[LoadType, tuple[Item, ...]]:
        """The items of each type, in order (looked up for every result)."""
        return {t: tuple(i for i in self.items if i.type is t) for t in LoadType}

    def influence_item(self, load_type: LoadType) -> Item | None:
        """The person's room to act on it; None for a type whose third item is its strain item."""
        return next((i for i in self.items_of(load_type) if i.facet is Facet.INFLUENCE), None)

    def systemic_item(self, load_type: LoadType) -> Item:
        return next(i for i in self.items_of(load_type) if i.facet is Facet.SYSTEMIC)

    def exposure_item(self, load_type: LoadType) -> Item:
        """How often the stressor occurs (without such an item: the strain it leaves): what the
        meaning speaks of."""
        mine = self.items_of(load_type)
        return next((i for i in mine if i.facet is Facet.EXPOSURE), None) or next(
            i for i in mine if i.facet is Facet.STRAIN
        )

    def kept_from(self, started: str | None) -> frozenset[str]:
        """Items whose answers given in a survey started under version `started` (None: before
        versions were kept with a survey) still mean what they ask now."""
        return frozenset(
            i.id for i in self.items if i.since is None or (started is not None and started >= i.since)
        )


def parse(raw: Any) -> Questionnaire:
    """Validate an already parsed questionnaire mapping; raise QuestionnaireError naming the field."""
    try:
        return Questionnaire.model_validate(raw)
    except Exception as exc:  # pydantic.ValidationError, and YAML shapes pydantic rejects
        raise QuestionnaireError(f"questionnaire invalid: {_describe(exc)}") from exc


def load(path: Path | str | None = None) -> Questionnaire:
    """Load the questionnaire: the file at `path`, or the one shipped with the package."""
    if path is None:
        text = resources.files(__package__).joinpath("questionnaire.yaml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    try:
        raw = read_yaml(text)
    except yaml.YAMLError as exc:
        raise QuestionnaireError(f"questionnaire is not valid YAML: {exc}") from exc
    return parse(raw)


@cache
def default() -> Questionnaire:
    """The shipped questionnaire, loaded once."""
    return load()
