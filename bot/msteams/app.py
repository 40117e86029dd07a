"""Microsoft Teams adapter: verified activities in, survey events to `flows`, Adaptive Cards out.

The survey runs in the personal chat with the bot. A press on a card arrives as an
`adaptiveCard/action` invoke; its answer is the next card, which Teams puts in place of the
pressed one, so no answer stands in the chat as a message of its own. Messages that are not the
answer to a press go out after the request, in order per conversation (`Outbox`), and wait out
a 429 there, never in the request. Conversation references are kept from installation events
(`flows.references`), under a keyed hash, with only what sending needs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from flows import Handled
from flows import events as ev
from flows import messages as msg
from flows.errors import TeamError
from flows.references import References
from flows.store import REDIS_DOWN

from ..admin import Admin, is_admin_command
from ..measures import Measures
from ..outbox import Card, Outbox
from ..platform import MALFORMED
from ..runtime import Runtime
from ..texts import say
from . import inbound
from .connector import Unreachable, call
from .endorse import Endorsements, keys_url
from .render import action_of, card, measure_of
from .sdk import Sdk
from .settings import TeamsSettings

log = logging.getLogger("ruhepuls.teams")


class TeamsBot:
    def __init__(self, rt: Runtime, sdk: Sdk) -> None:
        self.rt, self.sdk = rt, sdk
        self.refs = References(rt.redis, rt.secret, "teams")
        self.outbox = Outbox("teams", self._show, rt.sessions)
        self.admin = Admin(rt)
        self.measures = Measures(rt)
        self.validator: Any = None
        self.endorsements: Endorsements | None = None
        if not rt.settings.section(TeamsSettings).allow_unauthenticated:
            from microsoft_teams.apps.auth import InboundActivityTokenValidator

            self.validator = InboundActivityTokenValidator(
                str(rt.settings.section(TeamsSettings).app_id), cloud=sdk.app.cloud
            )
            self.endorsements = Endorsements(keys_url(sdk.app.cloud.openid_metadata_url))
        self._register()

    # --- inbound HTTP ------------------------------------------------------------------------
    async def admit(self, request: Request) -> Response | None:
        """The Bot Framework token (signature, issuer, audience, expiry), checked before the body
        is read; its `serviceurl` claim is held against the body's `serviceUrl` by the SDK. In
        development mode (no token) nothing that came through a proxy or tunnel is admitted."""
        if self.validator is None:
            if any(h in request.headers for h in inbound.FORWARDED):
                log.warning("teams activity refused: development mode takes no forwarded request")
                return JSONResponse({"error": "development mode is local only"}, status_code=403)
            return None
        raw = request.headers.get("authorization", "")
        if not raw.startswith("Bearer ") or len(raw) > 16_384:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            await self.validator.validate_token(raw.removeprefix("Bearer "), None)
        except Exception:  # any reason (signature, issuer, audience, expiry, keys): refused
            log.info("teams activity refused: token not valid")
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return None

    async def receive(self, request: Request, body: bytes) -> Response:
        """POST /api/messages, admitted and its body read (capped)."""
        headers = {"authorization": request.headers.get("authorization", "")}
        try:
            data = json.loads(body)
            checked = inbound.checked(data)
        except MALFORMED:
            log.info("teams activity not understood")
            return JSONResponse({"error": "malformed activity"}, status_code=400)
        if checked is None:  # a kind of activity Ruhepuls does not handle
            return Response(status_code=200)
        if self.endorsements is not None and (
            data.get("channelId") != "msteams"
            or not await self.endorsements.allows(headers["authorization"].removeprefix("Bearer "), "msteams")
        ):
            # a validly signed activity of another Bot Framework channel (webchat, …), or signed
            # by a key not endorsed for Teams, is not Teams
            log.info("activity refused: not from Microsoft Teams")
            return JSONResponse({"error": "not a Teams activity"}, status_code=403)
        if self.validator is None and not inbound.is_loopback(str(data.get("serviceUrl", ""))):
            # unsigned: the bot would send its own token to an address the request chose
            log.warning("teams activity refused: development mode answers only a serviceUrl on this machine")
            return JSONResponse({"error": "development mode is local only"}, status_code=403)
        result = await self.sdk.route({"body": data, "headers": headers})
        status = result["status"]
        if status >= 500:  # the SDK turns a failure into 500: input never gets one from us
            log.error("teams activity failed in the SDK")
            return JSONResponse({"error": "not processed"}, status_code=400)
        if result.get("body") is not None:
            return JSONResponse(result["body"], status_code=status)
        return Response(status_code=status)

    # --- handlers --------------------------------------------------------------------------------
    def _register(self) -> None:
        app = self.sdk.app
        app.on_message(self.on_message)
        app.on_card_action_execute(self.on_press)
        app.on_install_add(self.on_install)
        app.on_install_remove(self.on_uninstall)
        app.on_conversation_update(self.on_conversation_update)

        @app.event("error")
        async def on_error(event: Any) -> None:
            error = getattr(event, "error", None)
            log.error("teams handler failed: %s", type(error).__name__)

    def person(self, user: str) -> str:
        return self.rt.person("teams", user)

    async def remember(self, activity: Any) -> None:
        """Keep where this personal chat or this team is reached (from a verified activity); with
        Redis away the conversation goes on (the next activity stores it)."""
        try:
            await self._remember(activity)
        except REDIS_DOWN as exc:
            log.warning("teams reference not stored: %s", type(exc).__name__)

    async def _remember(self, activity: Any) -> None:
        service_url = activity.service_url
        tenant = (
            getattr(activity.conversation, "tenant_id", None)
            or getattr(getattr(activity.channel_data, "tenant", None), "id", None)
            or ""
        )  # a new personal chat is opened in it: the connector refuses one without a tenant
        if inbound.is_personal(activity):
            user = inbound.user_of(activity)
            if user:
                await self.refs.save(
                    "person", user, {"conv": activity.conversation.id, "svc": service_url, "tenant": tenant}
                )
            return
        team_data = getattr(activity.channel_data, "team", None)
        team = getattr(team_data, "id", None)
        for ident in {activity.conversation.id.split(";", 1)[0], team} - {None}:
            await self.refs.save("team", str(ident), {"svc": service_url, "tenant": tenant})
        if team:  # for `ruhepuls teams list`: which team is which, so nobody copies an id from a link
            channel = getattr(activity.channel_data, "channel", None)
            place = {
                "name": getattr(team_data, "name", None) or "",
                "channel": activity.conversation.id.split(";", 1)[0],
                "channel_name": getattr(channel, "name", None) or "",
            }
            await self.rt.redis.hset(inbound.INSTALLED, str(team), json.dumps(place))

    async def forget(self, activity: Any) -> None:
        if inbound.is_personal(activity):
            user = inbound.user_of(activity)
            if user:
                await self.refs.forget("person", user)
            return
        team = getattr(getattr(activity.channel_data, "team", None), "id", None)
        for ident in {activity.conversation.id.split(";", 1)[0], team} - {None}:
            await self.refs.forget("team", str(ident))
        if team:
            await self.rt.redis.hdel(inbound.INSTALLED, str(team))

    async def on_install(self, ctx: Any) -> None:
        await self.remember(ctx.activity)

    async def on_uninstall(self, ctx: Any) -> None:
        await self.forget(ctx.activity)

    async def on_conversation_update(self, ctx: Any) -> None:
        a = ctx.activity
        bot = a.recipient.id
        if any(m.id == bot for m in (a.members_added or [])):
            await self.remember(a)
        elif any(m.id == bot for m in (a.members_removed or [])):
            await self.forget(a)

    async def on_message(self, ctx: Any) -> None:
        a = ctx.activity
        user = inbound.user_of(a)
        if user is None or getattr(a.from_, "role", None) == "bot":
            return
        lang = self.rt.settings.language
        if not inbound.is_personal(a):
            if inbound.plain(a.text):  # @-mentioned in a channel: the survey and commands are private
                await self._post(ctx, a.conversation.id, [msg.Notice(say("private_only", lang))])
            return
        await self.remember(a)
        text = inbound.plain(a.text)
        if is_admin_command(text):  # the personal chat: only the person who asked sees it
            reply = await self.admin.run(f"teams:{user}", text, lang)
            await self._post(ctx, a.conversation.id, [msg.Notice(reply)])
            return
        handled = await self._handle(user, ev.Typed(text or "start"), f"t{a.id}")
        await self._post(ctx, a.conversation.id, handled.messages, local=handled.unavailable)

    async def on_press(self, ctx: Any) -> Any:
        from microsoft_teams.api.models import AdaptiveCardActionCardResponse

        a = ctx.activity
        user = inbound.user_of(a)
        lang = self.rt.settings.language
        value = a.value.model_dump(by_alias=True) if a.value is not None else None
        form = measure_of(value)
        if user is not None and form is not None:
            return await self.on_measure(ctx, user, form)
        event = ev.decode(action_of(value))
        if user is None or event is None or not inbound.is_personal(a):
            return AdaptiveCardActionCardResponse(value=card(msg.Notice(say("press_not_understood", lang))))
        handled = await self._handle(user, event, f"t{a.id}", again=True)
        messages = list(handled.messages)
        if not messages:  # a late press on a completed survey's card: the card (the result) stays
            from microsoft_teams.api.models import AdaptiveCardActionMessageResponse

            return AdaptiveCardActionMessageResponse(value=say("press_done", lang))
        pressed = a.reply_to_id
        first: msg.Message | None = messages.pop(0) if messages else None
        if isinstance(first, msg.Delete):
            if pressed:
                await self._delete(ctx, a.conversation.id, pressed)
            first = msg.Notice(say("result_removed", lang))
        await self._post(ctx, a.conversation.id, messages, local=handled.unavailable)  # no Delete posted
        return AdaptiveCardActionCardResponse(value=card(first or msg.Notice(say("result_removed", lang))))

    async def on_measure(self, ctx: Any, user: str, form: dict[str, str]) -> Any:
        """A lead saved the measure form under a summary: the answer is a message only they see
        (the summary card stays as it is); the confirmation goes to the channel."""
        from microsoft_teams.api.models import AdaptiveCardActionMessageResponse

        lang = self.rt.settings.language
        try:  # the team first: what is wrong with the form is said in its language
            lang = (await self.measures.team_for(f"teams:{user}", form.get("team", ""))).language
            team, m = await self.measures.choose(
                f"teams:{user}",
                form.get("team", ""),
                path=form.get("path"),
                text=form.get("own"),
                role=form.get("role", ""),
                check=form.get("check", "4w"),
                due=form.get("due", "4w"),
            )
        except TeamError as exc:
            return AdaptiveCardActionMessageResponse(value=say(exc.key, lang, **exc.params))
        saved = self.measures.saved(m, team, lang)
        await self._post(ctx, ctx.activity.conversation.id, [msg.Notice(saved)])
        return AdaptiveCardActionMessageResponse(value=saved)

    async def _handle(self, user: str, event: ev.Event, event_id: str, again: bool = False) -> Handled:
        """Run one event; `again`: a press Teams delivered twice still needs a card in its
        answer, so the event runs once more without its id (a press carries its question, so
        this only shows the current state: it answers nothing twice)."""
        lang = self.rt.settings.language
        person = self.person(user)
        reach = ("teams", f"{user}||")  # the personal chat stored for `user`
        handled = await self.rt.handle("teams", person, event, event_id=event_id, lang=lang, reach=reach)
        if handled.duplicate and again:
            handled = await self.rt.handle("teams", person, event, lang=lang)
        return handled

    def _queue(self, conversation: str) -> str:
        return self.rt.person("teams", f"chat:{conversation}")

    async def _post(
        self,
        ctx: Any,
        conversation: str,
        messages: Sequence[msg.Message],
        *,
        local: bool = False,
    ) -> None:
        """Post the cards after the request, in order per conversation, through a queue that
        survives the process (bot.outbox); `local`: kept in this process (the notice that the
        store is unavailable asks no Redis)."""
        service_url = ctx.activity.service_url
        cards = [
            {"svc": service_url, "c": conversation, "card": _json(card(m))}
            for m in messages
            if not isinstance(m, msg.Delete)
        ]
        await self.outbox.put(self._queue(conversation), cards, local=local)

    async def _delete(self, ctx: Any, conversation: str, activity_id: str) -> None:
        card = {"svc": ctx.activity.service_url, "c": conversation, "delete": activity_id}
        await self.outbox.put(self._queue(conversation), [card])

    async def _show(self, queued: Card) -> None:
        from microsoft_teams.api.activities import MessageActivityInput
        from microsoft_teams.api.models import Attachment

        conversations = self.sdk.api(str(queued["svc"])).conversations
        conversation = str(queued["c"])
        try:
            if "delete" in queued:
                await call(
                    "delete", lambda: conversations.delete_activity(conversation, str(queued["delete"]))
                )
                return
            attachment = Attachment(content_type=ADAPTIVE, content=queued["card"])
            activity = MessageActivityInput().add_attachments(attachment)
            await call("send", lambda: conversations.create_activity(conversation, activity))
        except (Unreachable, TimeoutError):
            pass  # `call` logged it


def _json(c: Any) -> dict[str, Any]:
    """A card as the JSON Teams receives (what a queue keeps)."""
    return dict(c.model_dump(by_alias=True, exclude_none=True, mode="json"))


ADAPTIVE = "application/vnd.microsoft.card.adaptive"
