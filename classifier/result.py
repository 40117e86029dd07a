"""The personal result in words, derived from the person's own answers.

`result_key` reduces the answers to what the words depend on: the outcome, the named types, per
named type the level of the answer to its systemic item and to its influence item (None when
skipped), and why the signpost is due. `personal_result` phrases a key. The key fits in a
button's action (`ResultKey.encode`, a few bytes), so the result's other views ("what helps",
"where to get help") can be shown from the message itself: neither answers nor result are
stored anywhere.

Never a number, a percentile, a colour or a comparison with anybody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Lang, Level, LoadType, Questionnaire, Text
from .scoring import Answers, Band, Classification, Outcome, classify

MAX_PATHS = 4
MAX_LINES = 2
"""A "multiple" outcome has one line for each of at most this many named types."""

_OUTCOME_CODE = {Outcome.DOMINANT: "d", Outcome.MULTIPLE: "m", Outcome.MODERATE: "o", Outcome.LOW: "l",
                 Outcome.NO_RESULT: "n"}  # fmt: skip
_CODE_OUTCOME = {v: k for k, v in _OUTCOME_CODE.items()}
_KEY = re.compile(r"^([dmoln])([ABCD]{0,4})\.([012x]{0,4})\.([012x]{0,4})\.([-eab])([cn])$")


@dataclass(frozen=True, slots=True)
class ResultKey:
    outcome: Outcome
    types: tuple[LoadType, ...]
    """Named types (dominant: one; multiple: two or more); for moderate the partly marked ones."""
    systemic: tuple[Level | None, ...] = ()
    """Per named type (dominant, multiple): the level of its systemic answer."""
    influence: tuple[Level | None, ...] = ()
    exhaustion: bool = False
    aggression: bool = False
    counted: bool = False
    """The survey counted in a round (for the note, and for "no result": participation done)."""

    @property
    def signpost(self) -> bool:
        return self.exhaustion or self.aggression

    def encode(self) -> str:
        def levels(xs: tuple[Level | None, ...]) -> str:
            return "".join("x" if x is None else x.value for x in xs)

        sp = {(False, False): "-", (True, False): "e", (False, True): "a", (True, True): "b"}[
            (self.exhaustion, self.aggression)
        ]
        types = "".join(t.value for t in self.types)
        return f"{_OUTCOME_CODE[self.outcome]}{types}.{levels(self.systemic)}.{levels(self.influence)}.{sp}{'c' if self.counted else 'n'}"

    @classmethod
    def decode(cls, code: str) -> ResultKey | None:
        """The key behind `code`, or None for anything that is not one."""
        m = _KEY.match(code)
        if m is None:
            return None
        o, types, sys, inf, sp, counted = m.groups()
        outcome = _CODE_OUTCOME[o]
        named = tuple(LoadType(t) for t in types)
        if len(set(named)) != len(named):
            return None
        per_type = outcome in (Outcome.DOMINANT, Outcome.MULTIPLE)
        if (outcome is Outcome.DOMINANT and len(named) != 1) or (
            outcome is Outcome.MULTIPLE and len(named) < 2
        ):
            return None
        if per_type and not (len(sys) == len(inf) == len(named)) or not per_type and (sys or inf):
            return None
        if outcome in (Outcome.LOW, Outcome.NO_RESULT) and named:
            return None

        def levels(s: str) -> tuple[Level | None, ...]:
            return tuple(None if c == "x" else Level(c) for c in s)

        return cls(outcome, named, levels(sys), levels(inf), sp in "eb", sp in "ab", counted == "c")


def result_key(q: Questionnaire, answers: Answers, *, counted: bool = False) -> ResultKey:
    """What the words of a result depend on, from one person's answers."""
    c = classify(q, answers)
    sp = q.signpost
    exhaustion = (v := answers.get(sp.exhaustion_item)) is not None and v >= sp.exhaustion_from
    aggression = (v := answers.get(sp.aggression_item)) is not None and v >= sp.aggression_from
    named = c.types
    if c.outcome is Outcome.MODERATE:
        named = tuple(t for t in LoadType if c.bands.get(t) is Band.TEILWEISE)
    per_type = c.outcome in (Outcome.DOMINANT, Outcome.MULTIPLE)
    th = q.thresholds
    systemic = tuple(th.level(answers.get(q.systemic_item(t).id)) for t in named) if per_type else ()
    influence = tuple(th.level(answers.get(q.influence_item(t).id)) for t in named) if per_type else ()
    return ResultKey(c.outcome, named, systemic, influence, exhaustion, aggression, counted)


@dataclass(frozen=True, slots=True)
class PersonalResult:
    key: ResultKey
    title: str
    lines: tuple[str, ...]
    """The first message's body: what it means, what is systemic, one line on own influence,
    and, when due, why the signpost is offered."""
    paths: tuple[str, ...]
    """2-4 support paths, organisational lever first (the "what helps" view)."""
    systemic: tuple[str, ...]
    """The systemic sentences alone (for tests that read the words)."""
    influence: str | None
    """The influence line alone."""


def join_names(names: list[str], lang: Lang) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + (" und " if lang == "de" else " and ") + names[-1]


def support_paths(q: Questionnaire, c: Classification | ResultKey) -> tuple[Text, ...]:
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


def phrase(q: Questionnaire, key: ResultKey, lang: Lang) -> PersonalResult:
    """The result for `key` in `lang`."""
    o = q.outcomes
    paths = tuple(p(lang) for p in support_paths(q, key))

    def systemic(t: LoadType, level: Level | None) -> str:
        return o.systemic_skipped(lang) if level is None else q.types[t].systemic(level)(lang)

    def influence(t: LoadType, level: Level | None) -> str:
        return o.influence_skipped(lang) if level is None else q.types[t].influence(level)(lang)

    lines: list[str] = []
    sys_lines: list[str] = []
    inf: str | None = None
    if key.outcome is Outcome.DOMINANT:
        t = key.types[0]
        title = o.dominant.title(lang).format(name=q.types[t].name(lang))
        sys_lines = [systemic(t, key.systemic[0])]
        inf = influence(t, key.influence[0])
        lines = [q.types[t].meaning(lang), *sys_lines, inf]
    elif key.outcome is Outcome.MULTIPLE:
        title = o.multiple.title(lang)
        shown = list(zip(key.types, key.systemic, key.influence, strict=True))[:MAX_LINES]
        m = o.multiple
        sys_lines = [m.systemic_skipped(lang) if s is None else m.systemic(s)(lang) for _, s, _ in shown]
        lines = [o.multiple.line(lang).format(name=q.types[t].name(lang), systemic=line)
                 for (t, _, _), line in zip(shown, sys_lines, strict=True)]  # fmt: skip
        # the influence line for the type where the person has the least room, naming it
        t, _, level = max(shown, key=lambda x: -1 if x[2] is None else int(x[2].value))
        inf = o.multiple.influence(lang).format(name=q.types[t].name(lang), influence=influence(t, level))
        lines.append(inf)
    elif key.outcome is Outcome.NO_RESULT:
        nr = o.no_result
        title = nr.title(lang)
        lines = [nr.meaning(lang), (nr.in_round if key.counted else nr.outside_round)(lang)]
    else:
        texts = o.moderate if key.outcome is Outcome.MODERATE else o.low
        title = texts.title(lang)
        if key.outcome is Outcome.MODERATE and key.types:
            names = join_names([q.types[t].name(lang) for t in key.types], lang)
            lines.append(o.moderate.partly(lang).format(names=names))
        sys_lines = [texts.systemic(lang)]
        inf = texts.influence(lang)
        lines += [texts.meaning(lang), *sys_lines, inf]
    if key.signpost:  # with a named pattern the pointer alone; otherwise also why it is there
        sp = q.signpost
        why = (sp.because_both if key.exhaustion and key.aggression
               else sp.because_exhaustion if key.exhaustion else sp.because_aggression)  # fmt: skip
        named = key.outcome in (Outcome.DOMINANT, Outcome.MULTIPLE)
        lines.append(sp.pointer(lang) if named else f"{why(lang)} {sp.pointer(lang)}")
    return PersonalResult(key, title, tuple(lines), paths, tuple(sys_lines), inf)


def personal_result(
    q: Questionnaire, answers: Answers, lang: Lang, *, counted: bool = False
) -> PersonalResult:
    """Classify `answers` and phrase the result in `lang`."""
    return phrase(q, result_key(q, answers, counted=counted), lang)
