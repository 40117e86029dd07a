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
    """Back (not on the first question), pause, and where to get help."""
    note: str | None = None
    """A short line above the question (e.g. that skipping it is fine)."""


@dataclass(frozen=True, slots=True)
class Result:
    """One view of a personal result (the short one first, then "what helps" or "where to
    get help"), each replacing the other in place; its buttons carry the result's key."""

    heading: str
    title: str
    lines: tuple[str, ...]
    list_heading: str | None
    items: tuple[str, ...]
    note: str | None
    choices: tuple[Choice, ...]
    lang: str


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove the message the person clicked on (the result, on request)."""


Message = Notice | Menu | Question | Result | Delete
