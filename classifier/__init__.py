"""The questionnaire, the classification rule, support paths and team aggregation.

Pure functions over validated data; no I/O beyond reading the shipped questionnaire file.
"""

from .aggregate import contribution
from .model import (
    LANGS,
    Facet,
    Item,
    Lang,
    Level,
    LoadType,
    Questionnaire,
    QuestionnaireError,
    Text,
    day_text,
    default,
    load,
    moment_text,
    parse,
)
from .result import PersonalResult, ResultKey, personal_result, phrase, result_key, support_paths
from .scoring import Band, Classification, Outcome, classify

__all__ = [
    "LANGS",
    "Level",
    "ResultKey",
    "phrase",
    "result_key",
    "Band",
    "Classification",
    "Facet",
    "Item",
    "Lang",
    "LoadType",
    "Outcome",
    "PersonalResult",
    "Questionnaire",
    "QuestionnaireError",
    "Text",
    "classify",
    "contribution",
    "default",
    "load",
    "parse",
    "personal_result",
    "support_paths",
    "day_text",
    "moment_text",
]
