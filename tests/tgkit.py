"""Test helpers for Telegram: updates shaped like Telegram's, and an agent who presses the
buttons the bot actually sent."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
from fakes import FakeTelegram

WEBHOOK_SECRET = "tg-secret_1"
_update_ids = itertools.count(1)


class TelegramAgent:
    def __init__(self, http: httpx.AsyncClient, base: str, fake: FakeTelegram, user_id: int = 4242) -> None:
        self.http, self.base, self.fake, self.user_id = http, base, fake, user_id
        self.screen: dict[int, dict[str, Any]] = {}  # message_id -> {"text", "reply_markup"}
        self._seen = 0

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": "Kim"}

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": "Kim", "language_code": "de"}

    def sync(self) -> list[str]:
        new = self.fake.calls[self._seen :]
        self._seen = len(self.fake.calls)
        for call in new:
            p, r = call.params, call.result
            if str(p.get("chat_id")) != str(self.user_id) or not r.get("ok"):
                continue
            if call.method in ("sendMessage", "editMessageText"):
                self.screen[r["result"]["message_id"]] = {
                    "text": p.get("text", ""),
                    "reply_markup": p.get("reply_markup"),
                }
            elif call.method == "deleteMessage":
                self.screen.pop(int(p["message_id"]), None)
        return [c.method for c in new if c.method != "getMe"]

    @property
    def last_id(self) -> int:
        return max(self.screen)

    def text(self, message_id: int | None = None) -> str:
        return str(self.screen[message_id or self.last_id]["text"])

    def buttons(self, message_id: int | None = None) -> list[dict[str, Any]]:
        markup = self.screen[message_id or self.last_id]["reply_markup"] or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    async def send(self, update: dict[str, Any], secret: str | None = WEBHOOK_SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        r = await self.http.post(f"{self.base}/telegram/webhook", content=json.dumps(update), headers=headers)
        self.sync()
        return r

    def message_update(
        self, text: str, chat: dict[str, Any] | None = None, key: str = "message"
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "message_id": next(_update_ids) + 10_000,
            "date": 1_700_000_000,
            "chat": chat or self.chat,
            "from": self.user,
            "text": text,
        }
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": next(_update_ids), key: msg}

    async def say(self, text: str, reply_to: int | None = None) -> httpx.Response:
        """Type a message; `reply_to` makes it a reply to that message of the bot's."""
        update = self.message_update(text)
        if reply_to is not None:
            update["message"]["reply_to_message"] = {
                "message_id": reply_to,
                "date": 1_700_000_000,
                "chat": self.chat,
                "from": self.fake.me,
                "text": self.text(reply_to),
            }
        return await self.send(update)

    def click_update(
        self, label: str, message_id: int | None = None, data: str | None = None
    ) -> dict[str, Any]:
        mid = message_id or self.last_id
        if data is None:
            data = next(b["callback_data"] for b in self.buttons(mid) if b["text"] == label)
        return {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": f"cq{next(_update_ids)}",
                "from": self.user,
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": mid,
                    "date": 1_700_000_000,
                    "chat": self.chat,
                    "from": self.fake.me,
                    "text": self.text(mid),
                },
            },
        }

    async def click(self, label: str, message_id: int | None = None) -> httpx.Response:
        return await self.send(self.click_update(label, message_id))
