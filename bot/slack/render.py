"""Outbound: platform-neutral messages as Block Kit, built with slack_sdk.models so that the
Block Kit limits are checked. Every button carries its encoded event as its value."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from classifier import Lang
from flows import messages as msg

from ..texts import say

ACTION_PREFIX = "rp:"
HOME_MOVE, HOME_CLEAR = "rph:move", "rph:clear"
"""Slack only: move a result out of the message history into the App Home, and clear it there."""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _buttons(choices: tuple[msg.Choice, ...], block_id: str, start: int = 0) -> ActionsBlock:
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(text=c.label, action_id=f"{ACTION_PREFIX}{n}", value=c.action)
            for n, c in enumerate(choices, start)
        ],
    )


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_escape(text)))


def blocks(m: msg.Message) -> tuple[list[Block], str]:
    """Blocks and the notification fallback text (which never holds an answer or a result)."""
    match m:
        case msg.Notice(text):
            return [_section(text)], text
        case msg.Menu(text, choices):
            return [_section(text), _buttons(choices, "menu")], text
        case msg.Question():
            context = f"{m.progress} · {m.note}" if m.note else m.progress
            return [
                ContextBlock(elements=[PlainTextObject(text=context)]),
                SectionBlock(
                    block_id=f"q-{m.item_id}",
                    text=MarkdownTextObject(text=f"{_escape(m.stem)}\n*{_escape(m.text)}*"),
                ),
                _buttons(m.options, f"opts-{m.item_id}"),
                _buttons(m.controls, f"ctl-{m.item_id}", start=len(m.options)),
            ], m.progress
        case msg.Result():
            out: list[Block] = [
                HeaderBlock(text=m.heading),
                SectionBlock(text=MarkdownTextObject(text=f"*{_escape(m.title)}*")),
            ]
            out += [_section(line) for line in m.lines]
            if m.items:
                bullets = "\n".join(f"• {_escape(p)}" for p in m.items)
                out.append(
                    SectionBlock(
                        text=MarkdownTextObject(text=f"*{_escape(m.list_heading or '')}*\n{bullets}")
                    )
                )
            if m.note:
                out.append(ContextBlock(elements=[MarkdownTextObject(text=_escape(m.note))]))
            result_buttons = _buttons(m.choices, "result")
            lang: Lang = "en" if m.lang == "en" else "de"
            result_buttons.elements.append(
                ButtonElement(text=say("to_home", lang), action_id=HOME_MOVE, value=lang)
            )
            out.append(result_buttons)
            return out, m.heading
    raise TypeError(f"cannot render {type(m).__name__}")


def home_view(result_blocks: list[dict[str, Any]] | None, lang: Lang) -> dict[str, Any]:
    """The App Home: a result moved there (without its chat buttons) and a button to clear it,
    or a line saying what the Home is for."""
    if not result_blocks:
        return {"type": "home", "blocks": to_dicts([_section(say("home_empty", lang))])}
    kept = [b for b in result_blocks if b.get("type") != "actions"]
    clear = ActionsBlock(block_id="home",
                         elements=[ButtonElement(text=say("home_clear", lang), action_id=HOME_CLEAR, value=lang)])  # fmt: skip
    return {"type": "home", "blocks": [*kept, clear.to_dict()]}


def to_dicts(block_list: list[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in block_list]


@lru_cache(maxsize=4096)
def _rendered(m: msg.Message) -> tuple[tuple[dict[str, Any], ...], str]:
    block_list, fallback = blocks(m)
    return tuple(to_dicts(block_list)), fallback


def payload(m: msg.Message) -> tuple[list[dict[str, Any]], str]:
    """Blocks as plain dicts and the fallback text. Messages are immutable, so each distinct one
    is built and validated once (slack_sdk's checks are slow); callers must not mutate them."""
    block_dicts, fallback = _rendered(m)
    return list(block_dicts), fallback
