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
            note = f"\n<i>{escape(m.note)}</i>" if m.note else ""
            text = f"<i>{escape(m.progress)}</i>{note}\n{escape(m.stem)}\n<b>{escape(m.text)}</b>"
            return text, _keyboard([(c,) for c in m.options] + [m.controls])
        case msg.Result():
            parts = [f"<b>{escape(m.heading)}</b>", f"<b>{escape(m.title)}</b>"]
            parts += [escape(line) for line in m.lines]
            if m.items:
                parts.append(
                    f"<b>{escape(m.list_heading or '')}</b>\n" + "\n".join(f"• {escape(p)}" for p in m.items)
                )
            if m.note:
                parts.append(f"<i>{escape(m.note)}</i>")
            return "\n\n".join(parts), _keyboard([(c,) for c in m.choices])
    raise TypeError(f"cannot render {type(m).__name__}")
