"""The questionnaire as validated data.

Rules kept here: every text exists in every language the file declares; there are exactly three
items per load type; item ids are unique; thresholds are exact fractions so that a tie is a tie.
A broken file fails at load time with a message that names the field.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from fractions import Fraction
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

Lang = Literal["de", "en"]


def day_text(d: date, lang: Lang) -> str:
    """A day as a reader of `lang` writes it: 03.12.2026, or 3 Dec 2026."""
    return d.strftime("%d.%m.%Y") if lang == "de" else f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def moment_text(at: datetime, lang: Lang) -> str:
    """A day and time as a reader of `lang` writes it (the time in 24 hours)."""
    return f"{day_text(at.date(), lang)} {at:%H:%M}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LANGS: tuple[Lang, ...] = ("de", "en")


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


class Level(enum.StrEnum):
    """One answer in three steps, for the sentences built from it."""

    LOW = "0"  # nie / selten
    MID = "1"  # manchmal
    HIGH = "2"  # oft / immer


class QuestionnaireError(ValueError):
    """The questionnaire file is broken; the message names the field."""


def _fraction(value: Any) -> Fraction:
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"not a number or fraction: {value!r}") from exc


Ratio = Annotated[Fraction, BeforeValidator(_fraction)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Text(_Frozen):
    """One text in every language."""

    de: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: Lang) -> str:
        return self.de if lang == "de" else self.en


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


def _describe(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors():
            where = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
            parts.append(f"{where}: {err.get('msg')}")
        return "; ".join(parts)
    return str(exc)


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
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise QuestionnaireError(f"questionnaire is not valid YAML: {exc}") from exc
    return parse(raw)


class TextCatalog(BaseModel):
    """A validated file of named texts, every one in every language; `catalog(name, lang, **fmt)`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __call__(self, name: str, lang: Lang, **fmt: object) -> str:
        text: Text = getattr(self, name)
        return text(lang).format(**fmt) if fmt else text(lang)


M = TypeVar("M", bound=BaseModel)


def load_texts(package: str, name: str, model: type[M]) -> M:
    """Load and validate a shipped text file (`name` in `package`) into `model`; a missing file,
    a missing text or a missing language raises QuestionnaireError naming it."""
    try:
        text = resources.files(package).joinpath(name).read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise QuestionnaireError(f"{package}/{name} is missing from the installation") from exc
    try:
        return model.model_validate(yaml.safe_load(text))
    except Exception as exc:  # YAML errors and pydantic.ValidationError
        raise QuestionnaireError(f"{package}/{name} invalid: {_describe(exc)}") from exc


@cache
def default() -> Questionnaire:
    """The shipped questionnaire, loaded once."""
    return load()
