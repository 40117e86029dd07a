"""The state of one person's survey in progress, and its compact serialised form.

Answers are a string with one character per item in questionnaire order: `0`-`4` an answer,
`s` skipped, `-` not yet answered. The serialised session, `<state><lang><index>|<answers>|
<round>|<questionnaire version>` like `ade03|4403--------|r1a2b3c4d|2026.12-2`, stays under 64
bytes, so Redis keeps the person's hash in its compact encoding (a session stored before the
version was kept has no fourth part).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from classifier import Lang

UNANSWERED = "-"
SKIPPED = "s"
_VERSION = re.compile(r"[0-9A-Za-z._-]{1,16}")


class State(enum.StrEnum):
    ASKING = "asking"
    PAUSED = "paused"
    REVIEW = "review"
    """Every question answered or skipped, too few for a result: go back, or finish anyway."""
    FOLLOWUP = "followup"
    """The twelve are answered; the one optional check-back question on the team's measure."""


class SessionDataError(ValueError):
    """Stored session data could not be read."""


@dataclass(frozen=True, slots=True)
class Session:
    state: State
    lang: Lang
    index: int
    answers: str
    round_id: str | None = None
    version: str | None = None
    """The questionnaire version the survey was started under (None: before it was kept)."""

    @classmethod
    def new(cls, lang: Lang, total: int, round_id: str | None = None, version: str | None = None) -> Session:
        return cls(State.ASKING, lang, 0, UNANSWERED * total, round_id, version)

    def carried_over(self, version: str, keep: frozenset[str], item_ids: tuple[str, ...]) -> Session:
        """The session under questionnaire `version`: an answer to an item reworded since the
        survey started (not in `keep`) is taken back, so no sentence rests on what another
        wording asked; it counts as not answered."""
        if self.version == version:
            return self
        answers = "".join(
            ch if i in keep else UNANSWERED for i, ch in zip(item_ids, self.answers, strict=True)
        )
        return replace(self, answers=answers, version=version)

    def with_answer(self, value: int | None) -> Session:
        ch = SKIPPED if value is None else str(value)
        answers = self.answers[: self.index] + ch + self.answers[self.index + 1 :]
        return replace(self, answers=answers, index=self.index + 1, state=State.ASKING)

    def answer_map(self, item_ids: tuple[str, ...]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for item_id, ch in zip(item_ids, self.answers, strict=True):
            if ch.isdigit():
                out[item_id] = int(ch)
            elif ch == SKIPPED:
                out[item_id] = None
        return out

    def dumps(self) -> str:
        head = f"{self.state.value[0]}{self.lang}{self.index:02d}|{self.answers}|{self.round_id or ''}"
        return f"{head}|{self.version}" if self.version else head

    @classmethod
    def loads(cls, raw: str | bytes, total: int) -> Session:
        try:
            text = raw.decode() if isinstance(raw, bytes) else raw
            head, answers, round_id, *rest = text.split("|")
            if len(rest) > 1 or (rest and not _VERSION.fullmatch(rest[0])):
                raise ValueError("not a questionnaire version")
            state = {"a": State.ASKING, "p": State.PAUSED, "r": State.REVIEW, "f": State.FOLLOWUP}[head[0]]
            session = cls(
                state,
                head[1:3],  # type: ignore[arg-type]
                int(head[3:]),
                answers,
                round_id or None,
                rest[0] if rest else None,
            )
        except (ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
            raise SessionDataError("unreadable session") from exc
        if (
            session.lang not in ("de", "en")
            or len(session.answers) != total
            or not 0 <= session.index < total
            or any(ch not in "01234s-" for ch in session.answers)
        ):
            raise SessionDataError("inconsistent session")
        return session
