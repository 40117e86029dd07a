"""A team's Stufenplan: the escalation step plan the team agreed against customer aggression,
kept in Ruhepuls so that an agent can look up in a break what they may do. Pure: its shape, how
a lead writes it (one line per step: signal | what the agent may do | who backs them), the
template it starts from, and how it reads.

A plan has three to five steps. Each field is checked as a measure's words are: it describes a
rule, never a person (no @mention, user id, long number or e-mail address). A plan carries a
version (raised by every change) and the day it was first agreed and last changed; it may be
written in German, English or both, and an agent reads it in their language where it exists.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from .measures import names_someone
from .text import Lang, Text, load_texts

STEPS = (3, 5)
"""Fewest and most steps a plan has."""
FIELD = (2, 200)
"""Shortest and longest words of one field (characters)."""
STEP_SEPARATOR = re.compile(r"\n|\|\|")
"""Steps are lines, or separated by `||` where a chat sends one line only (a slash command)."""
PATH = "A.1"
"""The support path the plan carries out (type A, "a step plan agreed in the team"): saving a
plan records it as the team's measure, so the round after four weeks checks back on it."""


class PlanError(ValueError):
    """A plan refused, with the reason as a text key and its parameters (said in the lead's
    language by the caller)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    signal: str = Field(min_length=FIELD[0], max_length=FIELD[1])
    """What the agent notices (a raised voice, an insult, a threat)."""
    may: str = Field(min_length=FIELD[0], max_length=FIELD[1])
    """What the agent may do then (name the behaviour, warn once, end or hand over, report)."""
    backs: str = Field(min_length=FIELD[0], max_length=FIELD[1])
    """Who backs the agent (a role, never a name), and what follows."""


class Plan(BaseModel):
    """The team's current plan, in one or both languages (the same steps in each)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    team: str
    version: int = Field(ge=1)
    since: date
    """When the team first had a plan."""
    changed: date
    de: tuple[Step, ...] | None = None
    en: tuple[Step, ...] | None = None

    def steps(self, lang: Lang) -> tuple[Step, ...]:
        """The steps in `lang`, else in the language the plan was written in."""
        mine, other = (self.de, self.en) if lang == "de" else (self.en, self.de)
        return mine or other or ()

    def with_steps(self, lang: Lang, steps: tuple[Step, ...], today: date) -> Plan:
        """The plan after a lead wrote `steps` in `lang`: the next version. The other language
        is kept only while it has as many steps (else it would say a different plan)."""
        other = self.en if lang == "de" else self.de
        keep = other if other is not None and len(other) == len(steps) else None
        fields = {"de": steps, "en": keep} if lang == "de" else {"de": keep, "en": steps}
        return self.model_copy(update={"version": self.version + 1, "changed": today, **fields})

    @classmethod
    def first(cls, team: str, lang: Lang, steps: tuple[Step, ...], today: date) -> Plan:
        return cls(team=team, version=1, since=today, changed=today, **{lang: steps})


def parse(text: str) -> tuple[Step, ...]:
    """The steps a lead wrote: one per line (or `||`), fields separated by `|`. Raises
    PlanError naming the step and what is wrong with it."""
    lines = [line.strip(" \t-•*") for line in STEP_SEPARATOR.split(text)]
    lines = [re.sub(r"^\d+[.)]\s*", "", line) for line in lines if line.strip(" \t-•*")]
    if not STEPS[0] <= len(lines) <= STEPS[1]:
        raise PlanError("plan_steps", low=STEPS[0], high=STEPS[1], got=len(lines))
    steps = []
    for n, line in enumerate(lines, 1):
        fields = [f.strip() for f in line.split("|")]
        if len(fields) != 3 or not all(fields):
            raise PlanError("plan_fields", step=n)
        if any(names_someone(f) for f in fields):
            raise PlanError("plan_names_someone", step=n)
        if any(not FIELD[0] <= len(f) <= FIELD[1] for f in fields):
            raise PlanError("plan_length", step=n, low=FIELD[0], high=FIELD[1])
        steps.append(Step(signal=fields[0], may=fields[1], backs=fields[2]))
    return tuple(steps)


def written(steps: tuple[Step, ...]) -> str:
    """Steps as a lead writes them (what `parse` reads back)."""
    return "\n".join(f"{s.signal} | {s.may} | {s.backs}" for s in steps)


class Wording(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    template: tuple[Text, ...] = Field(min_length=STEPS[0], max_length=STEPS[1])
    """A plan to start from (the four levels of the Aachen model, in plain words)."""
    step: Text
    signal: Text
    may: Text
    backs: Text


@cache
def wording() -> Wording:
    return load_texts(__package__ or "classifier", "stufenplan.yaml", Wording)


def template(lang: Lang) -> str:
    """The plan to start from, as a lead writes it."""
    return "\n".join(t(lang) for t in wording().template)


def lines(plan: Plan, lang: Lang) -> tuple[str, ...]:
    """The plan as an agent reads it: one paragraph per step."""
    w = wording()
    return tuple(
        f"{w.step(lang).format(n=n)}: {s.signal}\n{w.may(lang)}: {s.may}\n{w.backs(lang)}: {s.backs}"
        for n, s in enumerate(plan.steps(lang), 1)
    )
