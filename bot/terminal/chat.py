"""The local chat: the same engine and store in a terminal, for anyone without a platform.

Type an answer (0-4, or the word), a command ("zurück", "pause", "hilfe", ...), or the number
of a menu choice. "quit" (or Ctrl-D) pauses the survey; the next run picks it up again while
the sessions Redis keeps running (the embedded one stops with the program).
"""

from __future__ import annotations

import asyncio
import getpass
import shutil
import sys
import textwrap
from typing import TextIO

import flows
from classifier import Lang
from flows import events as ev
from flows import messages as msg

from ..runtime import Runtime

QUIT = {"quit", "exit", "q", "beenden", "ende", ":q"}


class TerminalView:
    """Renders platform-neutral messages as plain text."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.width = min(88, shutil.get_terminal_size((88, 24)).columns)
        self.choices: tuple[msg.Choice, ...] = ()

    def _p(self, text: str = "", indent: str = "") -> None:
        for para in text.split("\n"):
            wrapped = textwrap.fill(para, self.width, initial_indent=indent, subsequent_indent=indent)
            print(wrapped, file=self.out)

    def _menu(self, choices: tuple[msg.Choice, ...]) -> None:
        self.choices = choices
        print("  ".join(f"[{n}] {c.label}" for n, c in enumerate(choices, 1)), file=self.out)

    def show(self, m: msg.Message) -> None:
        match m:
            case msg.Notice(text):
                self._p(text)
            case msg.Menu(text, choices):
                self._p(text)
                self._menu(choices)
            case msg.Question():
                self._p(f"\n{m.progress}")
                if m.note:
                    self._p(m.note)
                self._p(f"{m.stem}\n{m.text}")
                opts = "  ".join(f"{c.action.rsplit(':', 1)[1]} = {c.label}" for c in m.options)
                self._p(opts, "   ")
                self.choices = ()
                controls = " · ".join(c.label.lower() for c in m.controls)
                self._p(f"({controls} · ?)", "   ")
            case msg.Result():
                self._p(f"\n=== {m.heading} ===\n")
                self._p(m.title)
                for line in m.lines:
                    self._p("\n" + line)
                if m.items:
                    self._p(f"\n{m.list_heading}")
                    for item in m.items:
                        self._p(f"- {item}", "  ")
                if m.note:
                    self._p("\n" + m.note)
                self._menu(m.choices)
            case msg.Delete():
                if self.out.isatty():
                    print("\033[2J\033[H", end="", file=self.out)
                self._p("—")
        self.out.flush()

    def event_for(self, line: str) -> flows.events.Event:
        """A menu number picks that choice; anything else is typed text for the engine."""
        if line.isdigit() and self.choices and 1 <= int(line) <= len(self.choices):
            decoded = ev.decode(self.choices[int(line) - 1].action)
            if decoded is not None:
                return decoded
        return ev.Typed(line)


async def run_chat(rt: Runtime, lang: Lang, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    view = TerminalView(stdout)
    person = rt.person("local", getpass.getuser())

    async def send(event: flows.events.Event) -> bool:
        handled = await rt.handle("local", person, event, lang=lang)
        for m in handled.messages:
            view.show(m)
        return not handled.unavailable

    await send(ev.Typed("start"))
    while True:
        print("> ", end="", file=stdout, flush=True)
        line = await asyncio.to_thread(stdin.readline)
        if not line:  # end of input
            print(file=stdout)
            await _pause_if_open(rt, person, send)
            return
        line = line.strip()
        if line.lower() in QUIT:
            await _pause_if_open(rt, person, send)
            return
        if line:
            await send(view.event_for(line))


async def _pause_if_open(rt: Runtime, person: str, send: object) -> None:
    session = await rt.conversations.session_of(person)
    if session is not None and session.state is flows.State.ASKING:
        await send(ev.Pause())  # type: ignore[operator]
