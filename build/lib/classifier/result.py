"""The personal result in words: pattern, meaning, what is systemic, where the person has
influence, 2-4 support paths (organisational lever first) and, when due, the safety signpost.

Never a number, a percentile, a colour or a comparison with anybody.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Lang, LoadType, Questionnaire, Text
from .scoring import Answers, Classification, Outcome, classify

MAX_PATHS = 4


@dataclass(frozen=True, slots=True)
class PersonalResult:
    outcome: Outcome
    title: str
    meaning: str
    systemic: str | None
    influence: str | None
    paths: tuple[str, ...]
    signpost: str | None


def _influence(q: Questionnaire, t: LoadType, answers: Answers, lang: Lang) -> str:
    value = answers.get(q.influence_item(t).id)
    texts = q.types[t].influence
    little = value is not None and value >= q.thresholds.little_influence_from
    return (texts.little if little else texts.some)(lang)


def _join_names(names: list[str], lang: Lang) -> str:
    if len(names) <= 1:
        return "".join(names)
    last = " und " if lang == "de" else " and "
    return ", ".join(names[:-1]) + last + names[-1]


def support_paths(q: Questionnaire, c: Classification) -> tuple[Text, ...]:
    """2-4 support paths for a classification, organisational levers first."""
    if c.outcome is Outcome.DOMINANT:
        return q.types[c.types[0]].paths[:MAX_PATHS]
    if c.outcome is Outcome.MULTIPLE:
        paths = list(q.outcomes.multiple.paths)
        for t in c.types:  # each named type's first, organisational, lever
            if len(paths) < MAX_PATHS:
                paths.append(q.types[t].paths[0])
        return tuple(paths)
    if c.outcome is Outcome.MODERATE:
        return q.outcomes.moderate.paths
    if c.outcome is Outcome.LOW:
        return q.outcomes.low.paths
    return ()


def personal_result(q: Questionnaire, answers: Answers, lang: Lang) -> PersonalResult:
    """Classify `answers` and phrase the result in `lang`."""
    c = classify(q, answers)
    paths = tuple(p(lang) for p in support_paths(q, c))
    signpost = q.signpost.text(lang) if c.signpost else None
    o = q.outcomes
    if c.outcome is Outcome.DOMINANT:
        t = q.types[c.types[0]]
        return PersonalResult(
            c.outcome,
            o.dominant.title(lang).format(name=t.name(lang)),
            t.meaning(lang),
            t.systemic(lang),
            _influence(q, c.types[0], answers, lang),
            paths,
            signpost,
        )
    if c.outcome is Outcome.MULTIPLE:
        names = _join_names([q.types[t].name(lang) for t in c.types], lang)
        return PersonalResult(
            c.outcome,
            o.multiple.title(lang).format(names=names),
            o.multiple.meaning(lang),
            o.multiple.systemic(lang),
            _influence(q, c.types[0], answers, lang),
            paths,
            signpost,
        )
    if c.outcome is Outcome.NO_RESULT:
        nr = o.no_result
        return PersonalResult(c.outcome, nr.title(lang), nr.meaning(lang), None, None, (), signpost)
    texts = o.moderate if c.outcome is Outcome.MODERATE else o.low
    return PersonalResult(
        c.outcome, texts.title(lang), texts.meaning(lang), texts.systemic(lang), None, paths, signpost
    )
