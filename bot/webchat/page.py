"""The survey as HTML: each `flows.messages` message as plain markup with forms that work
without a script (chat.js, where it runs, answers in place), no third-party asset, one question
at a time with large answer buttons, and "where to get help" one tap away on every screen."""

from __future__ import annotations

import secrets
from html import escape

from classifier import Lang
from flows import events as ev
from flows import messages as msg

from .texts import web_texts

STYLE = """
:root { color-scheme: light; --ink: #1d2b2c; --calm: #2f6f73; --line: #c9d6d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 1.125rem/1.5 system-ui, sans-serif; color: var(--ink); background: #f6f8f8;
       overflow-wrap: anywhere; hyphens: auto; }
main { max-width: 36rem; margin: 0 auto; padding: 1rem; }
header p { margin: 0 0 1rem; font-size: 0.95rem; }
h1 { font-size: 1.35rem; margin: 0.5rem 0; }
h1:focus { outline: none; }
.progress { font-size: 0.95rem; margin: 0; }
fieldset { border: 0; padding: 0; margin: 0 0 1rem; }
legend { font-weight: 600; margin-bottom: 0.75rem; }
button { display: block; width: 100%; min-height: 3rem; margin: 0 0 0.6rem; padding: 0.6rem 1rem;
         font: inherit; text-align: left; color: var(--ink); background: #fff;
         border: 2px solid var(--calm); border-radius: 0.5rem; cursor: pointer; }
button:focus-visible { outline: 3px solid #0b4f8a; outline-offset: 2px; }
.controls button { display: inline-block; width: auto; min-height: 2.75rem; margin-right: 0.5rem;
                   border-color: var(--line); }
.help button { border-color: #8a3b12; }
.notice { padding: 0.75rem 1rem; background: #fff; border-left: 4px solid var(--calm); }
ul { padding-left: 1.2rem; }
a { color: #0b4f8a; }
"""


def _buttons(choices: tuple[msg.Choice, ...], csrf: str) -> str:
    return "".join(
        f'<button type="submit" name="a" value="{escape(c.action)}">{escape(c.label)}</button>'
        for c in choices
    )


def _form(inner: str, csrf: str, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<form method="post" action="/chat"{klass}><input type="hidden" name="csrf" value="{escape(csrf)}">'
        f"{inner}</form>"
    )


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())


def render(messages: tuple[msg.Message, ...], csrf: str, lang: Lang, help_label: str) -> str:
    """The page body for what the engine said; every screen ends with the way to help."""
    parts: list[str] = []
    for m in messages:
        match m:
            case msg.Notice(text):
                parts.append(f'<div class="notice" role="status">{_paragraphs(text)}</div>')
            case msg.Menu(text, choices):
                parts.append(_paragraphs(text))
                parts.append(_form(_buttons(choices, csrf), csrf))
            case msg.Question():
                note = f"<p>{escape(m.note)}</p>" if m.note else ""
                options = _buttons(m.options, csrf)
                controls = _buttons(m.controls, csrf)
                parts.append(
                    f'<p class="progress">{escape(m.progress)}</p>{note}'
                    + _form(
                        f'<fieldset><legend><span>{escape(m.stem)}</span> <h1 id="q">{escape(m.text)}</h1></legend>'
                        f"{options}</fieldset>",
                        csrf,
                    )
                    + _form(f'<div class="controls">{controls}</div>', csrf)
                )
            case msg.Result():
                items = "".join(f"<li>{escape(i)}</li>" for i in m.items)
                listing = f"<h2>{escape(m.list_heading)}</h2><ul>{items}</ul>" if m.list_heading else ""
                note = f"<p>{escape(m.note)}</p>" if m.note else ""
                parts.append(
                    f"<h1>{escape(m.heading)}</h1><h2>{escape(m.title)}</h2>"
                    + "".join(f"<p>{escape(line)}</p>" for line in m.lines)
                    + listing
                    + note
                    + _form(_buttons(m.choices, csrf), csrf)
                )
            case msg.Delete():
                pass
    helper = f'<button type="submit" name="a" value="{escape(ev.encode(ev.Support()))}">{escape(help_label)}</button>'
    parts.append(_form(helper, csrf, "help"))
    return page("".join(parts), lang)


def page(body: str, lang: Lang) -> str:
    t = web_texts()
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{escape(t("title", lang))}</title>'
        '<link rel="stylesheet" href="/chat.css"><script src="/chat.js" defer></script></head><body><main>'
        f"<header><p>{escape(t('tagline', lang))}</p></header>"
        f'<div id="screen" aria-live="polite" data-screen="{secrets.token_hex(6)}">{body}</div>'
        "</main></body></html>"
    )


def notice(text: str, lang: Lang, link: tuple[str, str] | None = None) -> str:
    """A page with one sentence (a used-up link, a cleared screen) and where to go on."""
    extra = f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return page(f'<div class="notice" role="status"><p>{escape(text)}</p></div>{extra}', lang)
