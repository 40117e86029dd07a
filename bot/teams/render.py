"""Outbound: platform-neutral messages as Adaptive Cards (microsoft-teams-cards). Every button
is an `Action.Execute` with verb `rp` carrying our action string, so a press arrives as an
`adaptiveCard/action` invoke whose answer replaces the card in place."""

from __future__ import annotations

from typing import Any

from microsoft_teams.cards import ActionSet, AdaptiveCard, CardElement, ExecuteAction, Image, TextBlock

from flows import messages as msg

VERB = "rp"


def _button(choice: msg.Choice) -> ExecuteAction:
    return ExecuteAction(title=choice.label, verb=VERB, data={VERB: choice.action})


def _text(text: str, **style: Any) -> TextBlock:
    return TextBlock(text=text, wrap=True, **style)


def card(m: msg.Message) -> AdaptiveCard:
    """One message as a card (not for Delete)."""
    body: list[CardElement] = []
    match m:
        case msg.Notice(text):
            body.append(_text(text))
        case msg.Menu(text, choices):
            body += [_text(text), ActionSet(actions=[_button(c) for c in choices])]
        case msg.Question():
            body.append(_text(m.progress, is_subtle=True, size="Small"))
            if m.note:
                body.append(_text(m.note, is_subtle=True, size="Small"))
            body += [
                _text(m.stem),
                _text(m.text, weight="Bolder"),
                ActionSet(actions=[_button(c) for c in m.options]),
            ]
            if m.controls:
                body.append(ActionSet(actions=[_button(c) for c in m.controls]))
        case msg.Result():
            body += [_text(m.heading, weight="Bolder", size="Medium"), _text(m.title, weight="Bolder")]
            body += [_text(line) for line in m.lines]
            if m.items:
                body.append(_text(m.list_heading or "", weight="Bolder"))
                body += [_text(f"- {p}") for p in m.items]
            if m.note:
                body.append(_text(m.note, is_subtle=True, size="Small"))
            body.append(ActionSet(actions=[_button(c) for c in m.choices]))
        case _:
            raise TypeError(f"cannot render {type(m).__name__}")
    return AdaptiveCard(body=body)


def summary_card(text: str, chart_png: bytes | None) -> AdaptiveCard:
    """A weekly summary for a lead channel: its text, and the chart as an inline image."""
    import base64

    body: list[CardElement] = [_text(part) for part in text.split("\n\n") if part.strip()]
    if chart_png:
        url = "data:image/png;base64," + base64.b64encode(chart_png).decode()
        body.append(Image(url=url, alt_text="Ruhepuls"))
    return AdaptiveCard(body=body)


def action_of(value: object) -> object:
    """The action string out of an invoke's `value.action.data` (anything else: None)."""
    if not isinstance(value, dict):
        return None
    action = value.get("action")
    data = action.get("data") if isinstance(action, dict) else None
    return data.get(VERB) if isinstance(data, dict) else None
