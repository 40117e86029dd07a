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

from .model import Item, LoadType, Questionnaire
from .scoring import Answers, Band, Outcome, classify
from .text import Lang, Text, list_text
from .wording import Level, Said

MAX_PATHS = 4
MAX_LINES = 4
"""A "multiple" outcome has one line for every named type: a tie is never broken arbitrarily."""

_OUTCOME_CODE = {
    Outcome.DOMINANT: "d",
    Outcome.MULTIPLE: "m",
    Outcome.MODERATE: "o",
    Outcome.LOW: "l",
    Outcome.NO_RESULT: "n",
}
_CODE_OUTCOME = {v: k for k, v in _OUTCOME_CODE.items()}
_KEY = re.compile(
    r"^([dmoln])([ABCD]{0,4})\.([012x]{0,4})\.([012x]{0,4})\.(?:([012x]{0,4})\.)?([-eab])([cn])$"
)
"""A key in an action: outcome and types, per named type the levels of its systemic, influence
and exposure answers, the signpost, counted. (Keys without the exposure part, on buttons sent
before it existed, still decode: their meaning sentence is the neutral one.)"""


@dataclass(frozen=True, slots=True)
class ResultKey:
    outcome: Outcome
    types: tuple[LoadType, ...]
    """Named types (dominant: one; multiple: two or more); for moderate the partly marked ones."""
    systemic: tuple[Level | None, ...] = ()
    """Per named type (dominant, multiple): the level of its systemic answer."""
    influence: tuple[Level | None, ...] = ()
    exposure: tuple[Level | None, ...] = ()
    """Per named type (dominant, multiple): the level of its exposure (D: strain) answer."""
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
        lv = f"{levels(self.systemic)}.{levels(self.influence)}.{levels(self.exposure)}"
        return f"{_OUTCOME_CODE[self.outcome]}{types}.{lv}.{sp}{'c' if self.counted else 'n'}"

    @classmethod
    def decode(cls, code: str) -> ResultKey | None:
        """The key behind `code`, or None for anything that is not one."""
        m = _KEY.match(code)
        if m is None:
            return None
        o, types, sys, inf, exp, sp, counted = m.groups()
        per = ("x" * len(types)) if exp is None and o in "dm" else (exp or "")
        outcome = _CODE_OUTCOME[o]
        named = tuple(LoadType(t) for t in types)
        if len(set(named)) != len(named):
            return None
        per_type = outcome in (Outcome.DOMINANT, Outcome.MULTIPLE)
        if (outcome is Outcome.DOMINANT and len(named) != 1) or (
            outcome is Outcome.MULTIPLE and len(named) < 2
        ):
            return None
        if (
            per_type
            and not (len(sys) == len(inf) == len(per) == len(named))
            or not per_type
            and (sys or inf or per)
        ):
            return None
        if outcome in (Outcome.LOW, Outcome.NO_RESULT) and named:
            return None

        def levels(s: str) -> tuple[Level | None, ...]:
            return tuple(None if c == "x" else Level(c) for c in s)

        return cls(
            outcome, named, levels(sys), levels(inf), levels(per), sp in "eb", sp in "ab", counted == "c"
        )


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
    influence = tuple(_level(q, answers, q.influence_item(t)) for t in named) if per_type else ()
    exposure = tuple(th.level(answers.get(q.exposure_item(t).id)) for t in named) if per_type else ()
    return ResultKey(c.outcome, named, systemic, influence, exposure, exhaustion, aggression, counted)


def _level(q: Questionnaire, answers: Answers, item: Item | None) -> Level | None:
    return q.thresholds.level(answers.get(item.id)) if item is not None else None


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a result and what it rests on: the item whose answer chose it (and that
    answer's level; None: skipped), besides what the sentence itself `needs`."""

    said: Said | Text
    item: str | None = None
    level: Level | None = None


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
    sentences: tuple[Sentence, ...] = ()
    """Every sentence shown, with what it rests on (for tests that read the words)."""


def join_names(names: list[str], lang: Lang) -> str:
    return list_text(names, lang) if names else ""


def _assistance(q: Questionnaire) -> Text:
    """The path for lasting exhaustion (D's last: assistance programme, company doctor)."""
    return q.types[LoadType.D].paths[-1]


def support_paths(q: Questionnaire, c: ResultKey) -> tuple[Text, ...]:
    """2-4 support paths, organisational levers first: a place for every named type's lever, and
    for the assistance path when the exhaustion signpost is due."""
    help_path = [_assistance(q)] if c.exhaustion else []
    if c.outcome is Outcome.DOMINANT:
        own: list[Text] = list(q.types[c.types[0]].paths[:MAX_PATHS])
        if help_path and help_path[0] not in own:
            own = own[: MAX_PATHS - 1] + help_path
        return tuple(own)
    if c.outcome is Outcome.MULTIPLE:
        levers: list[Text] = [q.types[t].paths[0] for t in c.types]
        if help_path and LoadType.D not in c.types:
            levers += help_path
        elif help_path:  # D is named: its lever makes way for the assistance path
            levers[c.types.index(LoadType.D)] = help_path[0]
        shared: list[Text] = list(q.outcomes.multiple.paths)
        return tuple((shared + levers)[-MAX_PATHS:])  # the shared lever first, where there is room
    if c.outcome in (Outcome.MODERATE, Outcome.LOW):
        texts = q.outcomes.moderate if c.outcome is Outcome.MODERATE else q.outcomes.low
        return tuple([*texts.paths, *help_path][:MAX_PATHS])
    return ()


def phrase(q: Questionnaire, key: ResultKey, lang: Lang) -> PersonalResult:
    """The result for `key` in `lang`: every sentence chosen by the answer it speaks of."""
    o = q.outcomes
    paths = tuple(p(lang) for p in support_paths(q, key))
    shown: list[Sentence] = []

    def say(text: Said | Text, item: str | None = None, level: Level | None = None) -> str:
        shown.append(Sentence(text, item, level))
        return text(lang)

    def meaning(t: LoadType, level: Level | None) -> str:
        item = q.exposure_item(t).id
        return say(o.meaning_skipped, item) if level is None else say(q.types[t].meaning(level), item, level)

    def systemic(t: LoadType, level: Level | None) -> str:
        item = q.systemic_item(t).id
        return (
            say(o.systemic_skipped, item) if level is None else say(q.types[t].systemic(level), item, level)
        )

    def influence(t: LoadType, level: Level | None) -> str:
        found, texts = q.influence_item(t), q.types[t]
        if found is None or texts.influence is None:  # no item on it: a sentence that presumes nothing
            return say(texts.own or o.influence_skipped)
        if level is None:
            return say(o.influence_skipped, found.id)
        return say(texts.influence(level), found.id, level)

    lines: list[str] = []
    sys_lines: list[str] = []
    inf: str | None = None
    exposure = key.exposure or (None,) * len(key.types)
    if key.outcome is Outcome.DOMINANT:
        t = key.types[0]
        title = o.dominant.title(lang).format(name=q.types[t].name(lang))
        lines = [meaning(t, exposure[0])]
        sys_lines = [systemic(t, key.systemic[0])]
        inf = influence(t, key.influence[0])
        lines += [*sys_lines, inf]
    elif key.outcome is Outcome.MULTIPLE:
        title = o.multiple.title(lang)
        shown_types = list(zip(key.types, key.systemic, key.influence, strict=True))[:MAX_LINES]
        m = o.multiple
        # one line per level of the systemic answers, naming every type at that level
        for level in (Level.HIGH, Level.MID, Level.LOW, None):
            group = [t for t, lv, _ in shown_types if lv is level]
            if not group:
                continue
            for t in group:
                item = q.systemic_item(t).id
                line = say(m.systemic_skipped, item) if level is None else say(m.systemic(level), item, level)
            sys_lines.append(line)
            names = join_names([q.types[t].name(lang) for t in group], lang)
            lines.append(m.line(lang).format(name=names, systemic=line))

        # the influence line for the type where the person has the least room, naming it (a type
        # without an influence item only when no other is named)
        def room(x: tuple[LoadType, Level | None, Level | None]) -> int:
            if q.influence_item(x[0]) is None:
                return -2
            return -1 if x[2] is None else int(x[2].value)

        t, _, level = max(shown_types, key=room)
        inf = m.influence(lang).format(name=q.types[t].name(lang), influence=influence(t, level))
        lines.append(inf)
    elif key.outcome is Outcome.NO_RESULT:
        nr = o.no_result
        title = nr.title(lang)
        lines = [say(nr.meaning), say(nr.in_round if key.counted else nr.outside_round)]
    else:
        texts = o.moderate if key.outcome is Outcome.MODERATE else o.low
        title = (texts.title_signpost if key.signpost else texts.title)(lang)
        if key.outcome is Outcome.MODERATE and key.types:
            names = join_names([q.types[t].name(lang) for t in key.types], lang)
            lines.append(o.moderate.partly(lang).format(names=names))
        if not key.signpost:  # with a signpost due: what the person reported comes first (below)
            sys_lines = [say(texts.systemic)]
            inf = say(texts.influence)
            lines += [say(texts.meaning), *sys_lines, inf]
    if key.signpost:  # with a named pattern the pointer alone; otherwise also why, and the acute line
        sp = q.signpost
        why = (
            sp.because_both
            if key.exhaustion and key.aggression
            else sp.because_exhaustion
            if key.exhaustion
            else sp.because_aggression
        )
        named = key.outcome in (Outcome.DOMINANT, Outcome.MULTIPLE)
        if named:
            lines.append(sp.pointer(lang))
        else:
            lines.append(f"{say(why)} {sp.pointer(lang)}")
        if key.outcome in (Outcome.LOW, Outcome.MODERATE):
            lines.append(sp.acute(lang))
    return PersonalResult(key, title, tuple(lines), paths, tuple(sys_lines), inf, tuple(shown))


def personal_result(
    q: Questionnaire, answers: Answers, lang: Lang, *, counted: bool = False
) -> PersonalResult:
    """Classify `answers` and phrase the result in `lang`."""
    return phrase(q, result_key(q, answers, counted=counted), lang)
