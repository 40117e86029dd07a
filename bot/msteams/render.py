"""Outbound: platform-neutral messages as Adaptive Cards (microsoft-teams-cards). Every button
is an `Action.Execute` with verb `rp` carrying our action string, so a press arrives as an
`adaptiveCard/action` invoke whose answer replaces the card in place."""

from __future__ import annotations

from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    AdaptiveCard,
    CardElement,
    Choice,
    ChoiceSetInput,
    ExecuteAction,
    Image,
    OpenUrlAction,
    ShowCardAction,
    TextBlock,
    TextInput,
)

from classifier import Lang
from classifier.measures import CHECKS, DUES
from flows import messages as msg

from ..texts import say

VERB = "rp"


def _button(choice: msg.Choice) -> ExecuteAction:
    return ExecuteAction(title=choice.label, verb=VERB, data={VERB: choice.action})


ROW_WIDTH = 280
"""What one row of buttons may take (px) inside a card on a small phone: Teams' mobile clients
lay a row out side by side and hide the buttons that do not fit (no wrapping, no scrolling)."""


def _width(label: str) -> int:
    """A button's width, estimated generously: 8 px a character at Teams' 14 px, 24 px padding,
    8 px to the next one."""
    return 8 * len(label) + 32


def _rows(choices: tuple[msg.Choice, ...] | list[msg.Choice]) -> list[ActionSet]:
    """The buttons, in order, in as few rows as fit a phone (one ActionSet per row)."""
    rows: list[list[msg.Choice]] = []
    used = ROW_WIDTH  # the first button opens a row
    for c in choices:
        if used + _width(c.label) > ROW_WIDTH:
            rows.append([])
            used = 0
        rows[-1].append(c)
        used += _width(c.label)
    return [ActionSet(actions=[_button(c) for c in row]) for row in rows]


def _text(text: str, **style: Any) -> TextBlock:
    return TextBlock(text=text, wrap=True, **style)


def card(m: msg.Message) -> AdaptiveCard:
    """One message as a card (not for Delete)."""
    body: list[CardElement] = []
    match m:
        case msg.Notice(text):
            body.append(_text(text))
        case msg.Menu(text, choices):
            body += [_text(text), *_rows(choices)]
        case msg.Question():
            body.append(_text(m.progress, is_subtle=True, size="Small"))
            if m.note:
                body.append(_text(m.note, is_subtle=True, size="Small"))
            body += [
                _text(m.stem),
                _text(m.text, weight="Bolder"),
                *_rows(m.options),
            ]
            body += _rows(m.controls)
        case msg.Result():
            body += [_text(m.heading, weight="Bolder", size="Medium"), _text(m.title, weight="Bolder")]
            body += [_text(line) for line in m.lines]
            if m.items:
                body.append(_text(m.list_heading or "", weight="Bolder"))
                body += [_text(f"- {p}") for p in m.items]
            if m.note:
                body.append(_text(m.note, is_subtle=True, size="Small"))
            body += _rows(m.choices)
        case _:
            raise TypeError(f"cannot render {type(m).__name__}")
    return AdaptiveCard(body=body)


MEASURE_VERB = "rpm"


def report_button(url: str | None, lang: Lang) -> OpenUrlAction | None:
    return OpenUrlAction(title=say("report_button", lang), url=url) if url else None


def measure_form(team_id: str, choices: list[tuple[str, str]], lang: Lang) -> ShowCardAction:
    """ "Choose a measure" under a summary: the form opens inside the card (a suggestion or own
    words, a role, by when, when to check); its button is an `Action.Execute` with verb `rpm`."""
    checks = [Choice(title=say(f"measure_check_{c}", lang), value=c) for c in CHECKS]
    dues = [Choice(title=say(f"measure_due_{d}", lang), value=d) for d in DUES]
    form = AdaptiveCard(
        body=[
            ChoiceSetInput(
                id="path",
                label=say("measure_pick", lang),
                style="expanded",
                wrap=True,
                choices=[Choice(title=text, value=ref) for ref, text in choices],
            ),
            TextInput(id="own", label=say("measure_own", lang), max_length=280, is_multiline=True),
            TextInput(
                id="role",
                label=say("measure_role", lang),
                max_length=80,
                value=say("measure_role_default", lang),
            ),
            ChoiceSetInput(id="due", label=say("measure_due", lang), value=DUES[0], choices=dues),
            ChoiceSetInput(id="check", label=say("measure_check", lang), value=CHECKS[0], choices=checks),
        ],
        actions=[
            ExecuteAction(
                title=say("measure_save", lang),
                verb=MEASURE_VERB,
                data={MEASURE_VERB: "save", "team": team_id},
            )
        ],
    )
    return ShowCardAction(title=say("measure_button", lang), card=form)


def summary_card(
    text: str,
    chart_png: bytes | None,
    form: ShowCardAction | None = None,
    report: OpenUrlAction | None = None,
) -> AdaptiveCard:
    """A weekly summary for a lead channel: its text, the chart as an inline image, and the
    form to choose a measure."""
    import base64

    body: list[CardElement] = [_text(part) for part in text.split("\n\n") if part.strip()]
    if chart_png:
        url = "data:image/png;base64," + base64.b64encode(chart_png).decode()
        body.append(Image(url=url, alt_text="Ruhepuls"))
    actions = [a for a in (form, report) if a is not None]
    if actions:
        body.append(ActionSet(actions=actions))
    return AdaptiveCard(body=body)


def measure_of(value: object) -> dict[str, str] | None:
    """The fields of a measure form's submission (`rpm` verb), or None."""
    if not isinstance(value, dict):
        return None
    action = value.get("action")
    if (
        not isinstance(action, dict)
        or action.get("verb") != MEASURE_VERB
        or not isinstance(action.get("data"), dict)
    ):
        return None
    return {str(k): v.strip() for k, v in action["data"].items() if isinstance(v, str) and v.strip()}


def action_of(value: object) -> object:
    """The action string out of an invoke's `value.action.data` (anything else: None)."""
    if not isinstance(value, dict):
        return None
    action = value.get("action")
    data = action.get("data") if isinstance(action, dict) else None
    return data.get(VERB) if isinstance(data, dict) else None
