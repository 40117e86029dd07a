"""Texts in two languages, and the dates, numbers and lists inside them (Babel's rules for each
language, so a German reader gets 03.12.2026 and "A, B und C", an English one 3 Dec 2026 and
"A, B and C"): the primitives every text file of the project is built from."""

from __future__ import annotations

from datetime import date, datetime
from importlib import resources
from typing import Any, Literal, TypeVar

import yaml
from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.numbers import format_decimal
from pydantic import BaseModel, ConfigDict, Field

Lang = Literal["de", "en"]
LANGS: tuple[Lang, ...] = ("de", "en")
LOCALES: dict[Lang, str] = {"de": "de_DE", "en": "en_GB"}
"""The locale whose conventions each language is written in (a European product: British English)."""


def day_text(d: date, lang: Lang) -> str:
    """A day as a reader of `lang` writes it: 03.12.2026, or 3 Dec 2026."""
    return format_date(d, "medium", locale=LOCALES[lang])


def moment_text(at: datetime, lang: Lang) -> str:
    """A day and time as a reader of `lang` writes it (the time in 24 hours)."""
    return f"{day_text(at.date(), lang)} {format_time(at, 'HH:mm', locale=LOCALES[lang])}"


def list_text(parts: list[str], lang: Lang) -> str:
    """Names joined as a reader of `lang` joins them: "A, B und C", "A, B and C"."""
    return format_list(parts, locale=LOCALES[lang])


def number_text(n: int, lang: Lang) -> str:
    """A count with the reader's digit grouping: 1.143, or 1,143."""
    return format_decimal(n, locale=LOCALES[lang])


class QuestionnaireError(ValueError):
    """A shipped text file (the questionnaire or another) is broken; the message names the field."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Text(_Frozen):
    """One text in every language."""

    de: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: Lang) -> str:
        return self.de if lang == "de" else self.en


class TextCatalog(BaseModel):
    """A validated file of named texts, every one in every language; `catalog(name, lang, **fmt)`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __call__(self, name: str, lang: Lang, **fmt: object) -> str:
        text: Text = getattr(self, name)
        return text(lang).format(**fmt) if fmt else text(lang)


M = TypeVar("M", bound=BaseModel)


def _describe(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors():
            where = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
            parts.append(f"{where}: {err.get('msg')}")
        return "; ".join(parts)
    return str(exc)


def read_yaml(text: str) -> Any:
    """YAML as `yaml.safe_load` reads it, by libyaml where PyYAML was built with it (several
    times faster: every command and process start reads a dozen files)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (a safe loader)


def load_texts(package: str, name: str, model: type[M]) -> M:
    """Load and validate a shipped text file (`name` in `package`) into `model`; a missing file,
    a missing text or a missing language raises QuestionnaireError naming it."""
    try:
        text = resources.files(package).joinpath(name).read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise QuestionnaireError(f"{package}/{name} is missing from the installation") from exc
    try:
        return model.model_validate(read_yaml(text))
    except Exception as exc:  # YAML errors and pydantic.ValidationError
        raise QuestionnaireError(f"{package}/{name} invalid: {_describe(exc)}") from exc
