"""Outbound messages: what the conversation says, platform-neutral. Adapters render them as
Block Kit, inline keyboards, Adaptive Cards or terminal text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    action: str
    """The encoded event (see `flows.events.encode`), at most 64 bytes."""


@dataclass(frozen=True, slots=True)
class Notice:
    text: str


@dataclass(frozen=True, slots=True)
class Menu:
    text: str
    choices: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class Question:
    item_id: str
    number: int
    total: int
    progress: str
    stem: str
    text: str
    options: tuple[Choice, ...]
    """One per scale point, then "I'd rather not answer"."""
    controls: tuple[Choice, ...]
    """Back (not on the first question) and pause."""


@dataclass(frozen=True, slots=True)
class Result:
    heading: str
    title: str
    meaning: str
    systemic: str | None
    influence: str | None
    paths_heading: str
    paths: tuple[str, ...]
    signpost: str | None
    notes: tuple[str, ...]
    dismiss: Choice


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove the message the person clicked on (the result, on request)."""


Message = Notice | Menu | Question | Result | Delete
