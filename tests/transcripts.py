"""One person's side of a conversation, the same on every platform: what they do (open the
chat, type, press a button by its label) and what they see (the texts the bot showed since
their last step, the buttons of the newest message). `tests/test_transcripts.py` runs the same
conversations over each platform's real web app through these, as aiogram runs one storage
suite over every backend; each platform's own suite keeps only what is that platform's own."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from slackkit import SlackAgent
from teamskit import TeamsAgent
from tgkit import TelegramAgent


class Chat(Protocol):
    async def open(self) -> None:
        """First contact: the person writes to the bot (Teams: after installing the app)."""
        ...

    async def say(self, text: str) -> None: ...
    async def press(self, label: str) -> None: ...

    def seen(self) -> str:
        """Every text the bot showed since the person's last step, oldest first."""
        ...

    def screen(self) -> str:
        """The newest message on the screen."""
        ...

    def labels(self) -> list[str]:
        """The buttons of the newest message."""
        ...


class SlackChat:
    def __init__(self, agent: SlackAgent) -> None:
        self.agent, self._since = agent, 0

    async def open(self) -> None:
        await self.say("hallo")

    async def say(self, text: str) -> None:
        self._since = len(self.agent.fake.calls)
        assert (await self.agent.say(text)).status_code == 200
        await self.agent.quiet(
            for_seconds=1.2, at_most=5
        )  # a second post waits for Slack's per-channel second
        self.agent.sync()

    async def press(self, label: str) -> None:
        self._since = len(self.agent.fake.calls)
        assert (await self.agent.click(label)).status_code == 200

    def seen(self) -> str:
        shown = ("chat.postMessage", "chat.update", "respond")
        calls = [c for c in self.agent.fake.calls[self._since :] if c.method in shown and c.result.get("ok")]
        return "\n".join(_slack_text(c.params.get("blocks") or []) for c in calls)

    def screen(self) -> str:
        return self.agent.text() if self.agent.messages else ""

    def labels(self) -> list[str]:
        return [b["text"]["text"] for b in self.agent.buttons()] if self.agent.messages else []


def _slack_text(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for b in blocks:
        if isinstance(b.get("text"), dict):
            parts.append(b["text"]["text"])
        for e in b.get("elements", []):
            text = e.get("text")
            parts.append(text if isinstance(text, str) else text["text"] if isinstance(text, dict) else "")
    return "\n".join(parts)


class TelegramChat:
    def __init__(self, agent: TelegramAgent) -> None:
        self.agent, self._since = agent, 0

    async def open(self) -> None:
        await self.say("/start")

    async def say(self, text: str) -> None:
        self._since = len(self.agent.fake.calls)
        assert (await self.agent.say(text)).status_code == 200

    async def press(self, label: str) -> None:
        self._since = len(self.agent.fake.calls)
        assert (await self.agent.click(label)).status_code == 200

    def seen(self) -> str:
        me = str(self.agent.user_id)
        return "\n".join(
            str(c.params.get("text", ""))
            for c in self.agent.fake.calls[self._since :]
            if c.method in ("sendMessage", "editMessageText") and str(c.params.get("chat_id")) == me
        )

    def screen(self) -> str:
        return self.agent.text() if self.agent.screen else ""

    def labels(self) -> list[str]:
        return [b["text"] for b in self.agent.buttons()] if self.agent.screen else []


class TeamsChat:
    def __init__(self, agent: TeamsAgent) -> None:
        self.agent, self._since, self._answer = agent, 0, ""

    async def open(self) -> None:
        assert (await self.agent.install()).status_code == 200
        await self.say("hallo")

    async def say(self, text: str) -> None:
        self._since, self._answer = len(self.agent.fake.posts(self.agent.conversation)), ""
        assert (await self.agent.say(text)).status_code == 200
        await self._quiet()

    async def press(self, label: str) -> None:
        self._since = len(self.agent.fake.posts(self.agent.conversation))
        await self.agent.press(label)
        self._answer = self.agent.text()  # the card that replaces the pressed one, in the response
        await self._quiet()

    async def _quiet(self) -> None:
        count, since = len(self.agent.fake.posts(self.agent.conversation)), time.monotonic()
        while time.monotonic() - since < 0.3:
            await asyncio.sleep(0.02)
            if (now := len(self.agent.fake.posts(self.agent.conversation))) != count:
                count, since = now, time.monotonic()
        posts = self.agent.fake.posts(self.agent.conversation)
        if len(posts) > self._since:
            self.agent.card = posts[-1].body["attachments"][0]["content"]
            self.agent.card_id = posts[-1].body["id"]

    def seen(self) -> str:
        cards = [
            a["content"]
            for s in self.agent.fake.posts(self.agent.conversation)[self._since :]
            for a in s.body.get("attachments", [])
        ]
        return "\n".join([self._answer, *(self.agent.text(c) for c in cards)]).strip()

    def screen(self) -> str:
        return self.agent.text()

    def labels(self) -> list[str]:
        return [a["title"] for a in self.agent.actions()]
