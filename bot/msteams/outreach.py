"""Teams' proactive side: a team's members from its roster (read through the SDK when
invitations go out), invitations as cards in each member's personal chat, the weekly summary as
a card with its chart in the lead channel.

Only service URLs stored from verified activities are used (`flows.references`). A member
without a stored personal chat gets one created (which Teams allows only where the app is
installed for them); a 403 or 404 marks them unreachable: counted for the admin, never named.
Calls go through the shared limiter: every call per app and tenant, messages also per
conversation, as Teams limits a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from flows import messages as msg
from flows.limits import Limiter, Rate
from flows.references import References
from flows.teams import Team

from ..measures import Measures
from ..platform import Delivery, Member, Retry, TeamWaits
from ..report_link import summary_link
from ..runtime import Runtime
from .connector import Unreachable, call
from .render import card, measure_form, report_button, summary_card
from .sdk import Sdk
from .settings import TeamsSettings

log = logging.getLogger("ruhepuls.outreach")
T = TypeVar("T")

PER_CONVERSATION = Rate(2, burst=7)
"""Teams allows a bot about 7 messages a second, 60 in 30 seconds, per conversation."""
PER_APP_TENANT = Rate(50, burst=50)
"""Teams' global limit: 50 requests a second per app and tenant, over every call (messages,
new personal chats, roster pages)."""


CARD_BYTES = 27_000
"""A summary card with its chart is sent only below this size (Teams' limit is about 28 KB)."""


class NotInstalled(TeamWaits):
    """The app is not (or no longer) installed in the team: its roster cannot be read."""


class TeamsOutreach:
    in_flight = 1  # Teams cannot say whether a message arrived

    def __init__(self, rt: Runtime, sdk: Sdk) -> None:
        self.rt, self.sdk = rt, sdk
        self.refs = References(rt.redis, rt.secret, "teams")
        self.limiter = Limiter(rt.sessions, rt.secret)
        self.app_id = str(rt.settings.section(TeamsSettings).app_id)

    def _paced(
        self, conversation: str | None, tenant: str, make: Callable[[], Awaitable[T]]
    ) -> Callable[[], Awaitable[T]]:
        """`make`, each attempt (a retry after a 429 too) waiting its turn first: Teams limits a
        bot per app *and tenant* over every call (messages, new personal chats, roster pages),
        and its messages per conversation."""
        scope = f"{self.app_id}.{tenant}" if tenant else self.app_id
        buckets = [(self.limiter.bucket("teams", scope, "send"), PER_APP_TENANT)]
        if conversation is not None:
            buckets.append((self.limiter.bucket("teams", scope, "send", conversation), PER_CONVERSATION))

        async def attempt() -> T:
            await asyncio.sleep(max([await self.limiter.reserve(b, rate) for b, rate in buckets]))
            return await make()

        return attempt

    async def members(self, team: Team) -> list[Member]:
        if not team.channel:
            return []
        ref = await self.refs.get("team", team.channel)
        if ref is None:  # uninstalled since: not "nobody to invite", so the round's sending waits
            raise NotInstalled()
        conversations = self.sdk.api(ref["svc"]).conversations
        found: list[Member] = []
        token: str | None = None
        channel = team.channel
        while True:
            fetch = partial(conversations.get_paged_members, channel, 500, token)
            page = await call("roster", self._paced(None, ref.get("tenant", ""), fetch))
            for m in page.members:
                user = m.aad_object_id or m.id
                if user and m.id:
                    found.append(Member(f"{user}|{m.id}|{team.channel}", self.rt.person("teams", user)))
            token = page.continuation_token
            if not token:
                return found

    async def _personal(self, channel: str, user: str, account: str) -> tuple[str, str, str]:
        """The member's personal chat (conversation id, service URL, tenant): stored, or created."""
        ref = await self.refs.get("person", user)
        if ref is not None:
            return ref["conv"], ref["svc"], ref.get("tenant", "")
        from microsoft_teams.api.clients.conversation import CreateConversationParams
        from microsoft_teams.api.models import Account

        team_ref = await self.refs.get("team", channel)
        if team_ref is None:
            raise Unreachable(404)
        tenant = team_ref.get("tenant") or None
        params = CreateConversationParams(
            members=[Account(id=account)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        api = self.sdk.api(team_ref["svc"])
        fields = {"svc": team_ref["svc"], "tenant": team_ref.get("tenant", "")}
        open_chat = partial(api.conversations.create, params)
        created = await call("open chat", self._paced(None, fields["tenant"], open_chat))
        fields["conv"] = created.id
        await self.refs.save("person", user, fields)
        return created.id, team_ref["svc"], fields["tenant"]

    async def _send(self, service_url: str, conversation: str, m: msg.Message, tenant: str) -> None:
        from microsoft_teams.api.activities import MessageActivityInput

        conversations = self.sdk.api(service_url).conversations
        activity = MessageActivityInput().add_card(card(m))
        await call(
            "send",
            self._paced(conversation, tenant, lambda: conversations.create_activity(conversation, activity)),
        )

    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery:
        user, account, channel = (member.address.split("|", 2) + ["", ""])[:3]
        try:
            conversation, service_url, tenant = await self._personal(channel, user, account)
            await self._send(service_url, conversation, menu, tenant)
            return "sent"
        except Unreachable:
            return "gone"
        except Exception as exc:  # given up after retries, network: the next tick tries again
            log.warning("teams invitation failed: %s", type(exc).__name__)
            return Retry(type(exc).__name__)

    async def delivered(self, member: Member, tag: str) -> bool | None:
        return None  # a bot cannot read its chats' history

    async def post_summary(self, team: Team, text: str, chart: bytes | None) -> bool:
        from microsoft_teams.api.activities import MessageActivityInput

        assert team.lead_channel
        ref = await self.refs.get("team", team.lead_channel) or await self.refs.get(
            "team", team.channel or ""
        )
        if ref is None:
            log.warning("teams summary not posted: the app is not installed in the lead channel's team")
            return False
        conversations, channel = self.sdk.api(ref["svc"]).conversations, team.lead_channel
        measures = Measures(self.rt)
        choices = [(ref, measures.label(ref, team.language)) for ref in await measures.options(team.id)]
        form = measure_form(team.id, choices, team.language)
        report = report_button(await summary_link(self.rt, team.id, team.language), team.language)
        if chart is not None:
            from ..chart import shrink

            chart = await shrink(chart)

        def activity(with_chart: bool) -> MessageActivityInput:
            return MessageActivityInput().add_card(
                summary_card(text, chart if with_chart else None, form, report)
            )

        # sized before sending: Teams refuses messages from about 28 KB (413 MessageSizeTooBig)
        first = activity(True)
        with_chart = chart is not None and len(first.model_dump_json(by_alias=True)) <= CARD_BYTES
        try:
            tenant = ref.get("tenant", "")
            try:
                send = partial(conversations.create_activity, channel, activity(with_chart))
                await call("summary", self._paced(channel, tenant, send))
            except Unreachable as exc:
                if exc.status != 413 or not with_chart:
                    raise
                log.warning("teams summary too large: sent again without the chart")
                plain = partial(conversations.create_activity, channel, activity(False))
                await call("summary", self._paced(channel, tenant, plain))
            return True
        except Unreachable as exc:  # refused for good: said to the admin, never re-sent every tick
            log.warning("teams summary refused: %d", exc.status)
            await self.rt.teams.audit(
                "system", "summary refused", team.id, datetime.now(UTC), f"teams {exc.status}"
            )
            return True
        except Exception as exc:
            log.warning("teams summary failed: %s", type(exc).__name__)
            return False

    async def tidy(self) -> None:
        return None
