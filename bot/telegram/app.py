"""Telegram adapter: updates in (webhook or polling), survey events to `flows`, messages out.

python-telegram-bot parses updates and calls the Bot API; the conversation state lives in Redis
(no ConversationHandler, no PTB persistence). A click answers its callback query first, then
edits the same message in place. The survey runs in private chats only.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from flows import events as ev
from flows import messages as msg

from ..admin import Admin
from ..outbox import Card, Outbox
from ..runtime import Runtime
from ..texts import say
from .calls import RetryLater, call
from .measure import PREFIXES, MeasureDialog
from .render import render
from .residue import ExpiringMessages
from .settings import TelegramSettings

TgApp = Application[Any, Any, Any, Any, Any, Any]

log = logging.getLogger("ruhepuls.telegram")


class TelegramConversation:
    def __init__(self, rt: Runtime, app: TgApp) -> None:
        self.rt, self.app = rt, app
        self.outbox = Outbox("telegram", self._show, rt.sessions)
        self.expiring = ExpiringMessages(rt.sessions)

    def person(self, user_id: int) -> str:
        return self.rt.person("telegram", str(user_id))

    async def handle(
        self,
        user_id: int,
        chat_id: int,
        event: ev.Event,
        event_id: str | None,
        clicked: Message | None = None,
    ) -> None:
        lang = self.rt.settings.language
        person = self.person(user_id)
        handled = await self.rt.handle(
            "telegram",
            person,
            event,
            event_id=event_id,
            lang=lang,
            reach=("telegram", str(chat_id)),
            watch=self.outbox.watch_key(person),
        )
        if handled.unavailable:  # said as a message of its own: the pressed question stays
            await self.deliver(person, chat_id, handled.messages, local=True)
            return
        await self.deliver(person, chat_id, handled.messages, clicked, waiting=handled.waiting)

    async def deliver(
        self,
        person: str,
        chat_id: int,
        messages: tuple[msg.Message, ...],
        clicked: Message | None = None,
        *,
        local: bool = False,
        waiting: bool | None = None,
    ) -> None:
        """Show the messages in order: at once, inside the request, unless Telegram asks to wait
        or earlier cards still wait; then they go to the person's queue (bot.outbox: on the
        sessions Redis, so a restart or another process delivers them). `waiting`: whether the
        person's queue existed, as read with the transition (None: ask)."""
        cards = _cards(chat_id, messages, clicked)
        if not cards:
            return
        if await self.outbox.busy(person, local=local, known=waiting):
            await self.outbox.put(person, cards, local=local)
            return
        for n, card in enumerate(cards):
            try:
                await self._run(card, inline=True)
            except RetryLater as later:
                rest = [{**cards[n], "at": time.time() + later.seconds}, *cards[n + 1 :]]
                await self.outbox.put(person, rest, local=local)
                return

    async def _show(self, card: Card) -> None:
        await self._run(card, inline=False)

    async def _run(self, card: Card, *, inline: bool) -> None:
        bot, chat = self.app.bot, int(card["chat"])
        if card["k"] == "delete":
            await call(
                lambda: bot.delete_message(chat, int(card["mid"])), "deleteMessage", inline=inline, defer=True
            )
            return
        markup = InlineKeyboardMarkup.de_json(card["kb"], bot) if card.get("kb") else None
        if card["k"] == "edit":
            shown = await call(
                lambda: bot.edit_message_text(
                    card["text"],
                    chat_id=chat,
                    message_id=int(card["mid"]),
                    reply_markup=markup,
                    parse_mode=ParseMode.HTML,
                ),
                "editMessageText",
                inline=inline,
                defer=True,
            )
        else:
            shown = await call(
                lambda: bot.send_message(chat, card["text"], reply_markup=markup, parse_mode=ParseMode.HTML),
                "sendMessage",
                inline=inline,
                defer=True,
            )
        if card.get("result") and shown:  # a result: Telegram keeps it only while a bot may delete it
            await self.expiring.add(chat, int(card.get("mid") or shown.message_id))


def _cards(chat_id: int, messages: tuple[msg.Message, ...], clicked: Message | None) -> list[Card]:
    """What to show, as cards a queue can keep: the first message replaces the clicked one."""
    cards: list[Card] = []
    mid = clicked.message_id if clicked is not None else None
    for m in messages:
        if isinstance(m, msg.Delete):
            if mid is not None:
                cards.append({"k": "delete", "chat": chat_id, "mid": mid})
            mid = None
            continue
        text, keyboard = render(m)
        card: Card = {
            "k": "edit" if mid is not None else "send",
            "chat": chat_id,
            "text": text,
            "kb": keyboard.to_dict() if keyboard is not None else None,
        }
        if mid is not None:
            card["mid"] = mid
        if isinstance(m, msg.Result):
            card["result"] = True
        cards.append(card)
        mid = None
    return cards


def build_telegram_app(rt: Runtime, *, polling: bool = False) -> TgApp:
    s, tg = rt.settings, rt.settings.section(TelegramSettings)
    assert tg.bot_token is not None
    builder = Application.builder().token(tg.bot_token.get_secret_value()).base_url(tg.api_url)
    if not polling:
        builder = builder.updater(None)
    app = builder.build()
    convo = TelegramConversation(rt, app)
    app.bot_data["outbox"] = convo.outbox  # drained before the app shuts down
    admin = Admin(rt)
    dialog = MeasureDialog(rt)

    async def send(chat: int, text: str, markup: Any) -> None:
        await call(lambda: app.bot.send_message(chat, text, reply_markup=markup), "sendMessage")

    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE

    def _ids(update: Update) -> tuple[int, int] | None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot:
            return None
        return user.id, chat.id

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE, *, text: str | None = None) -> None:
        ids = _ids(update)
        if ids is None or update.message is None:
            return
        prompted = update.message.reply_to_message is not None  # only a reply can answer a lead's prompt
        if text is None and prompted and await dialog.typed(ids[0], update.message.text or "", send):
            return  # a lead's words for a measure (never an answer to the survey)
        event: ev.Event = ev.Typed(text if text is not None else (update.message.text or ""))
        await convo.handle(ids[0], ids[1], event, f"u{update.update_id}")
        if text is None:  # a typed answer or remark stays in nobody's history
            delete = partial(app.bot.delete_message, ids[1], update.message.message_id)
            await call(delete, "deleteMessage")

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        ids = _ids(update)
        if ids and context.args:  # a deep link t.me/<bot>?start=<join code>
            person = convo.person(ids[0])
            ttl = (s.round_days + s.session_ttl_days) * 86_400
            team = await rt.teams.members.join(context.args[0], str(ids[0]), person, ttl)
            rt.conversations.forget(person)
            note = say("joined", s.language, team=team.name) if team else say("bad_code", s.language)
            await call(lambda: app.bot.send_message(ids[1], note), "sendMessage")
        await on_text(update, context, text="start")

    async def on_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        ids, message = _ids(update), update.message
        if ids is None or message is None or not message.text:
            return
        first, _, rest = message.text.lstrip("/").partition(" ")
        text = f"{first.split('@', 1)[0]} {rest}".strip()  # "/round@bot open x" -> "round open x"
        reply = await admin.run(f"telegram:{ids[0]}", text, s.language)
        await call(lambda: app.bot.send_message(ids[1], reply), "sendMessage")

    async def on_plan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/stufenplan TEAM …` is a lead writing the plan; `/stufenplan` alone, anyone reading it."""
        if context.args:
            await on_admin(update, context)
        elif (ids := _ids(update)) is not None:
            await convo.handle(ids[0], ids[1], ev.Plan(), f"u{update.update_id}")

    async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        ids = _ids(update)
        if ids:
            await convo.handle(ids[0], ids[1], ev.Help(), f"u{update.update_id}")

    async def on_pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        ids = _ids(update)
        if ids:
            await convo.handle(ids[0], ids[1], ev.Pause(), f"u{update.update_id}")

    async def on_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        ids = _ids(update)
        if ids is None:
            return
        wanted = (context.args or [""])[0].lower()
        if wanted not in ("de", "en"):
            current = await convo.rt.conversations.current_language(convo.person(ids[0]), s.language)
            wanted = "en" if current == "de" else "de"
        await convo.handle(ids[0], ids[1], ev.Language(wanted), f"u{update.update_id}")  # type: ignore[arg-type]

    async def on_click(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        if isinstance(query.data, str) and query.data.startswith(PREFIXES):
            await dialog.click(query, send)  # a lead's measure, from the summary in the lead group
            return
        await call(query.answer, "answerCallbackQuery")  # first, so the spinner stops at once
        event = ev.decode(query.data)
        message = query.message if isinstance(query.message, Message) else None
        if (
            event is None
            or message is None
            or message.chat.type != ChatType.PRIVATE
            or query.from_user.is_bot
        ):
            return
        await convo.handle(query.from_user.id, message.chat.id, event, f"c{query.id}", clicked=message)

    async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None and update.message is not None and update.message.text:
            await call(lambda: app.bot.send_message(chat.id, say("private_only", s.language)), "sendMessage")

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error("telegram handler failed: %s", type(error).__name__)

    app.add_handler(CommandHandler("start", on_start, filters=private))
    app.add_handler(CommandHandler(["help", "hilfe"], on_help, filters=private))
    app.add_handler(CommandHandler("stufenplan", on_plan, filters=private))
    app.add_handler(CommandHandler("pause", on_pause, filters=private))
    app.add_handler(
        CommandHandler(["round", "team", "measure", "measures", "report"], on_admin, filters=private)
    )
    app.add_handler(CommandHandler(["language", "sprache"], on_language, filters=private))
    app.add_handler(MessageHandler(private & filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_click))
    app.add_handler(
        MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.COMMAND, in_group)
    )
    app.add_error_handler(on_error)
    return app
