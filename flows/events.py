"""Inbound events: what a person did, in survey terms. Adapters build these from platform input.

A button carries its event as a short action string (`encode` / `decode`), at most 64 bytes so
that it fits Telegram's callback data; an action that does not decode is simply not an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from classifier import Lang
from classifier.measures import View

VIEWS = frozenset(v.value for v in View)


@dataclass(frozen=True, slots=True)
class Start:
    """Begin (or continue) a survey. Which round it counts for is the server's knowledge (the
    team's open round), never something a button could claim."""

    lang: Lang | None = None


@dataclass(frozen=True, slots=True)
class Later:
    pass


@dataclass(frozen=True, slots=True)
class Answer:
    item_id: str
    value: int | None
    """0-4, or None for "I'd rather not answer"."""


@dataclass(frozen=True, slots=True)
class Back:
    item_id: str | None = None
    """The question the click was shown with; None for a typed "back"."""


@dataclass(frozen=True, slots=True)
class Pause:
    pass


@dataclass(frozen=True, slots=True)
class Resume:
    pass


@dataclass(frozen=True, slots=True)
class Cancel:
    """Delete the answers so far: asked first (`confirmed` False), done once confirmed."""

    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Language:
    lang: Lang


@dataclass(frozen=True, slots=True)
class Typed:
    text: str


@dataclass(frozen=True, slots=True)
class Dismiss:
    """Remove the result message from the chat."""


@dataclass(frozen=True, slots=True)
class Snooze:
    """Ask again later: in `hours` (at the next moment the team's sending hours allow)."""

    hours: int


@dataclass(frozen=True, slots=True)
class NotThisTime:
    """No more reminders this round (nobody is told)."""


@dataclass(frozen=True, slots=True)
class Support:
    """Show where to get help (the signpost, the organisation's contacts, the crisis line)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Show the team's Stufenplan: what the person may do when a contact turns abusive."""


@dataclass(frozen=True, slots=True)
class Finish:
    """Finish a survey that would end without a result (after the warning)."""


ResultView = Literal["s", "p", "h", "a"]
"""The short result, "what helps" (support paths), "where to get help", and the team's
Stufenplan ("what may I do", offered when the result names conflict without backing, A)."""


@dataclass(frozen=True, slots=True)
class ShowResult:
    """Show one view of a result; `code` is its `classifier.ResultKey`, carried by the button
    (the result itself is stored nowhere)."""

    view: ResultView
    code: str
    lang: Lang = "de"


@dataclass(frozen=True, slots=True)
class CheckBack:
    """The answer to the check-back question on the team's measure (None: rather not say)."""

    view: View | None


Event = (
    Start
    | Later
    | Answer
    | Back
    | Pause
    | Resume
    | Cancel
    | Help
    | Language
    | Typed
    | Dismiss
    | Support
    | Plan
    | Finish
    | ShowResult
    | Snooze
    | NotThisTime
    | CheckBack
)

MAX_ACTION_BYTES = 64
_SIMPLE: dict[str, Event] = {
    "later": Later(),
    "pause": Pause(),
    "resume": Resume(),
    "cancel": Cancel(),
    "help": Help(),
    "dismiss": Dismiss(),
    "support": Support(),
    "plan": Plan(),
    "finish": Finish(),
    "notnow": NotThisTime(),
}


def encode(event: Event) -> str:
    """The action string a button carries for `event`."""
    match event:
        case Answer(item_id, value):
            return f"a:{item_id}:{'s' if value is None else value}"
        case Back(item_id):
            return f"b:{item_id or ''}"
        case Start(lang):
            return f"start:{lang or ''}"
        case Language(lang):
            return f"lang:{lang}"
        case ShowResult(view, code, lang):
            return f"r:{view}:{lang}:{code}"
        case Snooze(hours):
            return f"snooze:{hours}"
        case CheckBack(view):
            return f"cb:{view or '-'}"
        case Cancel(confirmed=True):
            return "cancel:yes"
    for name, simple in _SIMPLE.items():
        if simple == event:
            return name
    raise ValueError(f"no action for {type(event).__name__}")


def decode(action: object) -> Event | None:
    """The event behind an action string, or None for anything malformed."""
    if not isinstance(action, str) or len(action.encode()) > MAX_ACTION_BYTES:
        return None
    head, _, rest = action.partition(":")
    if head in _SIMPLE and not rest:
        return _SIMPLE[head]
    if head == "a":
        item_id, _, raw = rest.partition(":")
        if not item_id or not raw:
            return None
        if raw == "s":
            return Answer(item_id, None)
        if raw in {"0", "1", "2", "3", "4"}:
            return Answer(item_id, int(raw))
        return None
    if head == "b":
        return Back(rest or None)
    if head == "start":
        if rest not in ("", "de", "en"):
            return None
        return Start(rest or None)  # type: ignore[arg-type]
    if head == "lang" and rest in ("de", "en"):
        return Language(rest)  # type: ignore[arg-type]
    if head == "cancel" and rest == "yes":
        return Cancel(True)
    if head == "snooze" and rest in ("1", "24"):
        return Snooze(int(rest))
    if head == "cb" and (rest == "-" or rest in VIEWS):
        return CheckBack(None if rest == "-" else View(rest))
    if head == "r":
        view, _, rest = rest.partition(":")
        lang, _, code = rest.partition(":")
        if view in ("s", "p", "h", "a") and lang in ("de", "en") and code:
            return ShowResult(view, code, lang)  # type: ignore[arg-type]
    return None
