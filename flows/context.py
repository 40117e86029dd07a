"""What the conversation's table works with: its configuration, the context of one step, the
step it returns, and the names of the states a rule applies in (`flows.engine`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

import classifier
from classifier import Lang, Questionnaire
from classifier.measures import Measure
from classifier.stufenplan import Plan

from . import messages as msg
from .events import Event
from .session import Session, State
from .texts import ConversationTexts, texts

NONE = "none"
"""The pseudo-state of a person with no survey in progress."""
OPEN = frozenset({State.ASKING, State.PAUSED})
REVIEW = frozenset({State.REVIEW})
FOLLOWUP = frozenset({State.FOLLOWUP})
ANY = frozenset({NONE, State.ASKING, State.PAUSED, State.REVIEW, State.FOLLOWUP})
FREE_TEXT_WORDS = 3
"""Typed text of this many words that is neither a command nor an answer is taken as something
the person wanted to say: a kind reply, the signpost and the crisis line (it is never stored)."""


@dataclass(frozen=True, slots=True)
class Config:
    questionnaire: Questionnaire = field(default_factory=classifier.default)
    texts: ConversationTexts = field(default_factory=texts)
    min_group_size: int = 5
    session_ttl_days: int = 7
    contacts: tuple[str, ...] = ()
    """The organisation's own contacts (EAP, company doctor, works council: phone or link)."""
    offer: str | None = None
    """The organisation's real offer (e.g. its de-escalation training and where to sign up)."""
    intro_note: str | None = None
    """An employer's line for the intro (e.g. that working time may be used)."""
    questions: dict[tuple[int, Lang], msg.Question] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Each question as shown, made once per item and language (a click's most common answer)."""


@dataclass(frozen=True, slots=True)
class Followup:
    """The team's running measure a survey in this round checks back on (bot.measures)."""

    id: str
    since: date
    """When it was chosen."""
    what: classifier.Text

    @classmethod
    def of(cls, m: Measure, q: Questionnaire) -> Followup:
        return cls(m.id, m.chosen, classifier.Text(de=m.what(q, "de"), en=m.what(q, "en")))


@dataclass(frozen=True, slots=True)
class Completion:
    """What a finished survey inside a round adds: counters only, no person, no exact time."""

    round_id: str
    window: str
    """The ISO week of completion, e.g. "2026-W47"."""
    counters: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Step:
    session: Session | None
    messages: tuple[msg.Message, ...]
    completion: Completion | None = None
    finished: bool = False
    snooze_hours: int | None = None
    """The person asked to be invited again in this many hours."""
    quiet_round: bool = False
    """The person asked for no more reminders this round."""


@dataclass(frozen=True, slots=True)
class Ctx:
    cfg: Config
    lang: Lang
    now: datetime
    round_id: str | None = None
    already_done: bool = False
    followup: Followup | None = None
    just_finished: bool = False
    """The person's survey was completed within the hour: a late click is left alone."""
    in_team: bool = False
    """The person belongs to a team (looked up with `plan`, only when the event asks for it)."""
    plan: Plan | None = None
    """The team's Stufenplan, when the event asks for it and the team has one."""

    def t(self, name: str, lang: Lang | None = None, **fmt: object) -> str:
        text: classifier.Text = getattr(self.cfg.texts, name)
        out = text(lang or self.lang)
        return out.format(**fmt) if fmt else out


@dataclass(frozen=True, slots=True)
class Distress:
    """Words of distress, however short."""


@dataclass(frozen=True, slots=True)
class Remark:
    """Something the person wanted to say (never read, never stored)."""


@dataclass(frozen=True, slots=True)
class Unclear:
    """Short text that is neither an answer nor a command."""


Input = Event | Distress | Remark | Unclear
"""What the table is consulted with: an event, or what typed text turned out to mean."""
Action = Callable[[Ctx, Session | None, Input], Step]
Guard = Callable[[Ctx, Session, Input], bool]
