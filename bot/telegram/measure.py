"""Telegram: choosing a measure from the weekly summary, as a short guided dialog.

The summary in the lead group carries a button (`ms:<team>`). A lead who presses it continues in
their private chat with the bot, three steps with buttons: a suggestion (or own words, typed),
a role (or typed), when to check. Anyone else gets a refusal only they see (the button's
answer). The dialog's state lives a few minutes under the lead's pseudonym (`flows.measures`);
the confirmation goes to the lead group.
"""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from classifier import Lang
from flows.teams import TeamError

from ..measures import CHECKS, Measures
from ..runtime import Runtime
from ..texts import say

PREFIXES = ("ms:", "mp:", "mr:", "mc:")


def summary_keyboard(team_id: str, lang: Lang, report_url: str | None = None) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(say("measure_button", lang), callback_data=f"ms:{team_id}")]]
    if report_url:
        rows.append([InlineKeyboardButton(say("report_button", lang), url=report_url)])
    return InlineKeyboardMarkup(rows)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class MeasureDialog:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.measures = Measures(rt)

    def _roles(self, lang: Lang) -> list[str]:
        return say("measure_roles", lang).split("|")

    async def click(self, query: CallbackQuery, send: Any) -> None:
        """A button of the dialog (or the summary's). `send(chat_id, text, markup)` posts."""
        data, user = str(query.data or ""), query.from_user
        actor, person = f"telegram:{user.id}", self.rt.person("telegram", str(user.id))
        store = self.measures.store
        if data.startswith("ms:"):
            try:
                team = await self.measures.team_for(actor, data[3:])
            except TeamError as exc:
                await query.answer(say(exc.key, self.rt.settings.language), show_alert=True)
                return
            await query.answer()
            await store.keep_draft(person, {"team": team.id, "step": "what", "lang": team.language})
            refs = await self.measures.options(team.id)
            lines = [say("measure_pick", team.language)]
            lines += [f"{n}. {self.measures.label(ref, team.language)}" for n, ref in enumerate(refs, 1)]
            rows = [[InlineKeyboardButton(f"{n}. {_short(self.measures.label(ref, team.language))}",
                                          callback_data=f"mp:{ref}")] for n, ref in enumerate(refs, 1)]  # fmt: skip
            rows.append([InlineKeyboardButton(say("measure_own", team.language), callback_data="mp:own")])
            await send(user.id, "\n".join(lines), InlineKeyboardMarkup(rows))
            return
        await query.answer()
        draft = await store.draft(person)
        lang: Lang = "en" if draft.get("lang") == "en" else "de"
        if not draft:
            await send(user.id, say("measure_gone", self.rt.settings.language), None)
            return
        if data.startswith("mp:") and draft.get("step") == "what":
            if data == "mp:own":
                await store.keep_draft(person, {**draft, "step": "own"})
                await send(user.id, say("measure_own_prompt", lang), None)
                return
            await store.keep_draft(person, {**draft, "path": data[3:], "step": "role"})
            await self._ask_role(user.id, lang, send)
        elif data.startswith("mr:") and draft.get("step") == "role" and data[3:].isdigit():
            roles = self._roles(lang)
            if int(data[3:]) < len(roles):
                await store.keep_draft(person, {**draft, "role": roles[int(data[3:])], "step": "check"})
                await self._ask_check(user.id, lang, send)
        elif data.startswith("mc:") and draft.get("step") == "check" and data[3:] in CHECKS:
            await self._save(actor, person, {**draft, "check": data[3:]}, user.id, send)

    async def typed(self, user_id: int, text: str, send: Any) -> bool:
        """Typed text in the private chat: True when it belonged to a lead's dialog."""
        person = self.rt.person("telegram", str(user_id))
        draft = await self.measures.store.draft(person)
        lang: Lang = "en" if draft.get("lang") == "en" else "de"
        if draft.get("step") == "own":
            if not 3 <= len(text.strip()) <= 280:
                await send(user_id, say("measure_need_what", lang), None)
                return True
            await self.measures.store.keep_draft(person, {**draft, "text": text.strip(), "step": "role"})
            await self._ask_role(user_id, lang, send)
            return True
        if draft.get("step") == "role":
            if not 2 <= len(text.strip()) <= 80:
                await send(user_id, say("measure_bad_role", lang), None)
                return True
            await self.measures.store.keep_draft(person, {**draft, "role": text.strip(), "step": "check"})
            await self._ask_check(user_id, lang, send)
            return True
        return False

    async def _ask_role(self, chat: int, lang: Lang, send: Any) -> None:
        rows = [[InlineKeyboardButton(r, callback_data=f"mr:{n}")] for n, r in enumerate(self._roles(lang))]
        await send(chat, say("measure_role", lang), InlineKeyboardMarkup(rows))

    async def _ask_check(self, chat: int, lang: Lang, send: Any) -> None:
        rows = [
            [InlineKeyboardButton(say(f"measure_check_{c}", lang), callback_data=f"mc:{c}")] for c in CHECKS
        ]
        await send(chat, say("measure_check", lang), InlineKeyboardMarkup(rows))

    async def _save(self, actor: str, person: str, draft: dict[str, str], chat: int, send: Any) -> None:
        lang: Lang = "en" if draft.get("lang") == "en" else "de"
        try:
            team = await self.measures.team_for(actor, draft.get("team", ""))
            m = await self.measures.choose(actor, team.id, path=draft.get("path"), text=draft.get("text"),
                                           role=draft.get("role", ""), check=draft.get("check", "next"))  # fmt: skip
        except TeamError as exc:
            await send(chat, say(exc.key, lang, **exc.params), None)
            return
        await self.measures.store.drop_draft(person)
        saved = self.measures.saved(m, team, lang)
        await send(chat, saved, None)
        if team.lead_channel:
            await send(int(team.lead_channel), saved, None)
