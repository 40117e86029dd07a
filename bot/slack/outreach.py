"""Slack's proactive side: team members from the channel, invitations as DMs carrying an
opaque tag in their metadata (so a worker that died mid-send can look them up), summaries to
the lead channel. Every Web API call goes through the shared limiter."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows import messages as msg
from flows.limits import Limiter
from flows.teams import Team

from ..platform import Delivery, Member, Retry
from ..report_link import summary_link
from ..runtime import Runtime
from .render import summary_blocks

log = logging.getLogger("ruhepuls.outreach")

PERMANENT_SLACK = {
    "channel_not_found",
    "user_not_found",
    "cannot_dm_bot",
    "user_disabled",
    "account_inactive",
    "not_in_channel",
    "is_archived",
    "messages_tab_disabled",
}


class SlackOutreach:
    in_flight = 8  # Slack says whether a message arrived (the DM history): a crash costs nothing
    EVENT_TYPE = "ruhepuls"

    def __init__(self, rt: Runtime, client: AsyncWebClient) -> None:
        self.rt, self.client = rt, client
        self._identity: tuple[str, str] | None = None
        self._dm: dict[str, str] = {}
        self.limiter = Limiter(rt.sessions, rt.secret)

    async def _call(self, method: str, chat: str | None = None, **kwargs: Any) -> Any:
        from .delivery import call_limited

        workspace, _ = await self._me()
        return await call_limited(self.limiter, self.client, workspace, method, chat, **kwargs)

    async def _channel(self, user: str) -> str:
        if user not in self._dm:
            opened = await self._call("conversations.open", users=user)
            self._dm[user] = opened["channel"]["id"]
        return self._dm[user]

    async def _me(self) -> tuple[str, str]:
        if self._identity is None:
            auth = await self.client.auth_test()
            self._identity = (str(auth["team_id"]), str(auth["user_id"]))
        return self._identity

    async def members(self, team: Team) -> list[Member]:
        if not team.channel:
            return []
        workspace, bot_user = await self._me()
        found: list[Member] = []
        cursor = None
        while True:
            page = await self._call("conversations.members", channel=team.channel, limit=500, cursor=cursor)
            uid: object
            for uid in page.get("members", []):
                if isinstance(uid, str) and uid != bot_user:
                    found.append(Member(uid, self.rt.person("slack", f"{workspace}:{uid}")))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery:
        from .render import payload

        try:
            block_json, fallback = payload(menu)
            posted = await self._call(  # to the user id: Slack opens the DM, no conversations.open
                "chat.postMessage",
                member.address,
                channel=member.address,
                blocks=block_json,
                text=fallback,
                metadata={"event_type": self.EVENT_TYPE, "event_payload": {"tag": tag}},
            )
            if isinstance(posted.get("channel"), str):
                self._dm[member.address] = posted["channel"]
            return "sent"
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown")
            log.warning("slack invitation failed: %s", error)
            return "gone" if error in PERMANENT_SLACK else Retry(str(error))
        except Exception as exc:
            log.warning("slack invitation failed: %s", type(exc).__name__)
            return Retry(type(exc).__name__)

    async def delivered(self, member: Member, tag: str) -> bool:
        try:
            channel = await self._channel(member.address)
            history = await self._call(
                "conversations.history", channel=channel, limit=20, include_all_metadata=True
            )
        except Exception as exc:
            log.warning("slack history failed: %s", type(exc).__name__)
            return False
        m: object
        for m in history.get("messages", []):
            meta: dict[str, Any] = (m.get("metadata") if isinstance(m, dict) else None) or {}
            if (
                meta.get("event_type") == self.EVENT_TYPE
                and (meta.get("event_payload") or {}).get("tag") == tag
            ):
                return True
        return False

    async def post_summary(self, team: Team, text: str, chart: bytes | None) -> bool:
        """The text, then the chart. Once the text is posted the summary counts as posted: a
        chart Slack refuses is said in the log and the audit log, never a reason to post the
        text again on the next tick."""
        assert team.lead_channel
        try:
            await self._call(
                "chat.postMessage",
                team.lead_channel,
                channel=team.lead_channel,
                text=text,
                blocks=summary_blocks(
                    text, team.id, team.language, await summary_link(self.rt, team.id, team.language)
                ),
            )
        except SlackApiError as exc:
            log.warning("slack summary failed: %s", exc.response.get("error", "unknown"))
            return False
        except Exception as exc:
            log.warning("slack summary failed: %s", type(exc).__name__)
            return False
        if chart:
            try:
                await self._upload(team.lead_channel, chart)
            except Exception as exc:
                code = (
                    exc.response.get("error", "unknown")
                    if isinstance(exc, SlackApiError)
                    else type(exc).__name__
                )
                log.warning("slack summary chart failed: %s", code)
                await self.rt.teams.audit(
                    "system", "summary chart failed", team.id, datetime.now(UTC), f"slack {code}"
                )
        return True

    async def _upload(self, channel: str, chart: bytes) -> None:
        """Slack's external upload in its three steps, the two Web API calls through the shared
        limiter (Tier 4, with the 429s waited out there) like every other call."""
        import aiohttp

        slot = await self._call("files.getUploadURLExternal", filename="ruhepuls.png", length=len(chart))
        timeout = aiohttp.ClientTimeout(total=15)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(slot["upload_url"], data=chart) as sent,
        ):
            sent.raise_for_status()
        await self._call(
            "files.completeUploadExternal",
            files=[{"id": slot["file_id"], "title": "Ruhepuls"}],
            channel_id=channel,
        )

    async def tidy(self) -> None:
        return None
