"""Telegram: choosing a measure from the weekly summary, as a short guided dialog.

The summary in the lead group carries a button (`ms:<team>`). A lead who presses it continues in
their private chat with the bot, four steps with buttons: a suggestion (or own words), a role
(or another one), by when, when to check. What a lead types comes as a reply to the bot's prompt
(ForceReply), so only replies are looked at here and a typed survey answer costs nothing
extra. Anyone else gets a refusal only they see (the button's answer). The dialog's state lives
a few minutes under the lead's pseudonym (`flows.measures`); the confirmation goes to the lead
group.
"""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup

from classifier import Lang
from classifier.measures import CHECKS, DUES, OWN_TEXT, ROLE
from flows.errors import TeamError

from ..measures import Measures
from ..runtime import Runtime
from ..texts import say

PREFIXES = ("ms:", "mp:", "mr:", "md:", "mc:")
TYPED = {
    # step -> (the draft field, its length, what to say when it is off, the next step)
    "own": ("text", OWN_TEXT, "measure_need_what", "role"),
    "role": ("role", ROLE, "measure_bad_role", "due"),
}


def summary_keyboard(team_id: str, lang: Lang, report_url: str | None = None) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(say("measure_button", lang), callback_data=f"ms:{team_id}")]]
    if report_url:
        rows.append([InlineKeyboardButton(say("report_button", lang), url=report_url)])
    return InlineKeyboardMarkup(rows)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lang(draft: dict[str, str]) -> Lang:
    return "en" if draft.get("lang") == "en" else "de"


def _buttons(pairs: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)] for label, data in pairs])


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
            labels = [self.measures.label(ref, team.language) for ref in refs]
            text = "\n".join(
                [say("measure_pick", team.language), *(f"{n}. {t}" for n, t in enumerate(labels, 1))]
            )
            pairs = [
                (f"{n}. {_short(t)}", f"mp:{ref}")
                for n, (ref, t) in enumerate(zip(refs, labels, strict=True), 1)
            ]
            await send(user.id, text, _buttons([*pairs, (say("measure_own", team.language), "mp:own")]))
            return
        await query.answer()
        draft = await store.draft(person)
        if not draft:
            await send(user.id, say("measure_gone", self.rt.settings.language), None)
            return
        lang = _lang(draft)
        step, value = draft.get("step"), data[3:]
        if data.startswith("mp:") and step == "what":
            if value == "own":
                await store.keep_draft(person, {**draft, "step": "own"})
                await send(user.id, say("measure_own_prompt", lang), ForceReply())
            else:
                await store.keep_draft(person, {**draft, "path": value, "step": "role"})
                await self._ask_role(user.id, lang, send)
        elif data.startswith("mr:") and step == "role":
            roles = self._roles(lang)
            if value == "own":
                await send(user.id, say("measure_role_prompt", lang), ForceReply())
            elif value.isdigit() and int(value) < len(roles):
                await store.keep_draft(person, {**draft, "role": roles[int(value)], "step": "due"})
                await self._ask_due(user.id, lang, send)
        elif data.startswith("md:") and step == "due" and value in DUES:
            await store.keep_draft(person, {**draft, "due": value, "step": "check"})
            await self._ask_check(user.id, lang, send)
        elif data.startswith("mc:") and step == "check" and value in CHECKS:
            await self._save(actor, person, {**draft, "check": value}, user.id, send)

    async def typed(self, user_id: int, text: str, send: Any) -> bool:
        """A reply in the private chat: True when it answered a prompt of a lead's dialog."""
        person = self.rt.person("telegram", str(user_id))
        draft = await self.measures.store.draft(person)
        if draft.get("step") not in TYPED:
            return False
        lang = _lang(draft)
        name, (shortest, longest), off, then = TYPED[draft["step"]]
        if not shortest <= len(text.strip()) <= longest:
            await send(user_id, say(off, lang), ForceReply())
            return True
        await self.measures.store.keep_draft(person, {**draft, name: text.strip(), "step": then})
        await (self._ask_role if then == "role" else self._ask_due)(user_id, lang, send)
        return True

    async def _ask_role(self, chat: int, lang: Lang, send: Any) -> None:
        pairs = [(r, f"mr:{n}") for n, r in enumerate(self._roles(lang))]
        await send(
            chat, say("measure_role", lang), _buttons([*pairs, (say("measure_role_other", lang), "mr:own")])
        )

    async def _ask_due(self, chat: int, lang: Lang, send: Any) -> None:
        await send(
            chat,
            say("measure_due", lang),
            _buttons([(say(f"measure_due_{d}", lang), f"md:{d}") for d in DUES]),
        )

    async def _ask_check(self, chat: int, lang: Lang, send: Any) -> None:
        await send(
            chat,
            say("measure_check", lang),
            _buttons([(say(f"measure_check_{c}", lang), f"mc:{c}") for c in CHECKS]),
        )

    async def _save(self, actor: str, person: str, draft: dict[str, str], chat: int, send: Any) -> None:
        lang = _lang(draft)
        try:
            team, m = await self.measures.choose(
                actor,
                draft.get("team", ""),
                path=draft.get("path"),
                text=draft.get("text"),
                role=draft.get("role", ""),
                check=draft.get("check", "4w"),
                due=draft.get("due", "4w"),
            )
        except TeamError as exc:
            await send(chat, say(exc.key, lang, **exc.params), None)
            return
        await self.measures.store.drop_draft(person)
        saved = self.measures.saved(m, team, lang)
        await send(chat, saved, None)
        if team.lead_channel:
            await send(int(team.lead_channel), saved, None)
