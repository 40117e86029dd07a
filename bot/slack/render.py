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
from classifier.measures import CHECKS, DUES
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
    clear = ActionsBlock(
        block_id="home",
        elements=[ButtonElement(text=say("home_clear", lang), action_id=HOME_CLEAR, value=lang)],
    )
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


# --- measures: the button under a weekly summary, and the modal it opens --------------------------
MEASURE_OPEN, MEASURE_VIEW, REPORT_LINK = "rpm:open", "rpm:save", "rpm:report"


def _plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary_blocks(
    text: str, team_id: str, lang: Lang, report_url: str | None = None
) -> list[dict[str, Any]]:
    """A weekly summary as blocks (sections of at most 3,000 characters), with the button that
    lets the team's leads choose a measure."""
    chunks: list[str] = []
    for para in text.split("\n\n"):
        if chunks and len(chunks[-1]) + len(para) + 2 <= 2900:
            chunks[-1] += "\n\n" + para
        else:
            chunks.append(_plain(para, 2900))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "plain_text", "text": c, "emoji": False}} for c in chunks
    ]
    button = {
        "type": "button",
        "action_id": MEASURE_OPEN,
        "value": team_id,
        "text": {"type": "plain_text", "text": say("measure_button", lang)},
    }
    elements = [button]
    if report_url:
        elements.append(
            {
                "type": "button",
                "action_id": REPORT_LINK,
                "url": report_url,
                "text": {"type": "plain_text", "text": say("report_button", lang)},
            }
        )
    blocks.append({"type": "actions", "elements": elements})
    return blocks


def measure_modal(team_id: str, choices: list[tuple[str, str]], lang: Lang) -> dict[str, Any]:
    """The modal: a suggestion or own words, a role, by when, when to check. `choices` are (ref, text)."""

    def option(value: str, text: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": _plain(text, 75)}, "value": value}

    def text_input(
        block: str, label: str, limit: int, optional: bool, initial: str | None = None
    ) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": block, "max_length": limit}
        if initial:
            element["initial_value"] = initial
        return {
            "type": "input",
            "block_id": block,
            "optional": optional,
            "element": element,
            "label": {"type": "plain_text", "text": label},
        }

    checks = [option(c, say(f"measure_check_{c}", lang)) for c in CHECKS]
    dues = [option(d, say(f"measure_due_{d}", lang)) for d in DUES]
    return {
        "type": "modal",
        "callback_id": MEASURE_VIEW,
        "private_metadata": team_id,
        "title": {"type": "plain_text", "text": _plain(say("measure_title", lang), 24)},
        "submit": {"type": "plain_text", "text": say("measure_save", lang)},
        "close": {"type": "plain_text", "text": say("measure_cancel", lang)},
        "blocks": [
            {
                "type": "input",
                "block_id": "path",
                "optional": True,
                "label": {"type": "plain_text", "text": _plain(say("measure_pick", lang), 2000)},
                "element": {
                    "type": "static_select",
                    "action_id": "path",
                    "options": [option(ref, text) for ref, text in choices],
                },
            },
            text_input("own", say("measure_own", lang), 280, True),
            text_input("role", say("measure_role", lang), 80, False, say("measure_role_default", lang)),
            {
                "type": "input",
                "block_id": "due",
                "label": {"type": "plain_text", "text": say("measure_due", lang)},
                "element": {
                    "type": "static_select",
                    "action_id": "due",
                    "options": dues,
                    "initial_option": dues[0],
                },
            },
            {
                "type": "input",
                "block_id": "check",
                "label": {"type": "plain_text", "text": say("measure_check", lang)},
                "element": {
                    "type": "static_select",
                    "action_id": "check",
                    "options": checks,
                    "initial_option": checks[0],
                },
            },
        ],
    }
