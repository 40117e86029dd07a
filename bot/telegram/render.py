"""Outbound: platform-neutral messages as Telegram text (HTML) with inline keyboards.
Callback data is our action string, at most 64 bytes by construction."""

from __future__ import annotations

from html import escape as _html_escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from flows import messages as msg


def escape(text: str) -> str:
    """Telegram's HTML needs only <, > and & escaped."""
    return _html_escape(text, quote=False)


def _keyboard(rows: list[tuple[msg.Choice, ...]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.label, callback_data=c.action) for c in row] for row in rows if row]
    )


def render(m: msg.Message) -> tuple[str, InlineKeyboardMarkup | None]:
    """HTML text and keyboard for one message (not for Delete)."""
    match m:
        case msg.Notice(text):
            return escape(text), None
        case msg.Menu(text, choices):
            return escape(text), _keyboard([choices])
        case msg.Question():
            text = f"<i>{escape(m.progress)}</i>\n{escape(m.stem)}\n<b>{escape(m.text)}</b>"
            return text, _keyboard([(c,) for c in m.options] + [m.controls])
        case msg.Result():
            parts = [f"<b>{escape(m.heading)}</b>", f"<b>{escape(m.title)}</b>"]
            parts += [escape(p) for p in (m.meaning, m.systemic, m.influence) if p]
            if m.paths:
                parts.append(
                    f"<b>{escape(m.paths_heading)}</b>\n" + "\n".join(f"• {escape(p)}" for p in m.paths)
                )
            if m.signpost:
                parts.append(escape(m.signpost))
            parts += [f"<i>{escape(n)}</i>" for n in m.notes]
            return "\n\n".join(parts), _keyboard([(m.dismiss,)])
    raise TypeError(f"cannot render {type(m).__name__}")
