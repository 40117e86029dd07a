"""The questionnaire, the classification rule, support paths and team aggregation.

Pure functions over validated data; no I/O beyond reading the shipped questionnaire file.
"""

from .aggregate import contribution
from .model import Facet, Item, LoadType, Questionnaire, default, load, parse
from .result import PersonalResult, ResultKey, personal_result, phrase, result_key, support_paths
from .scoring import Band, Classification, Outcome, classify
from .text import LANGS, Lang, QuestionnaireError, Text, day_text, list_text, moment_text, number_text
from .wording import Level

__all__ = [
    "LANGS",
    "list_text",
    "number_text",
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
