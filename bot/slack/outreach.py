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
from flows.teams import Team

from ..platform import Delivery, Member, Retry
from ..report_link import summary_link
from ..runtime import Runtime
from .delivery import call_limited, pacing
from .installs import Seat, Workspaces, address, parts
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


class NotInstalled(Exception):
    """The app is not (or no longer) installed in the team's workspace."""


class SlackOutreach:
    in_flight = 8  # Slack says whether a message arrived (the DM history): a crash costs nothing
    EVENT_TYPE = "ruhepuls"

    def __init__(self, rt: Runtime, clients: AsyncWebClient | Workspaces) -> None:
        self.rt = rt
        self.clients = clients if isinstance(clients, Workspaces) else Workspaces(clients)
        self._dm: dict[str, str] = {}
        self.pacing = pacing(rt)

    async def _seat(self, workspace: str | None) -> Seat:
        seat = await self.clients.seat(workspace)
        if seat is None:
            raise NotInstalled
        return seat

    async def _call(self, workspace: str | None, method: str, chat: str | None = None, **kwargs: Any) -> Any:
        """A Web API call with the workspace's token, through the workspace's limits."""
        seat = await self._seat(workspace)
        return await call_limited(self.pacing, seat.client, seat.workspace, method, chat, **kwargs)

    async def _channel(self, workspace: str | None, user: str) -> str:
        if user not in self._dm:
            opened = await self._call(workspace, "conversations.open", users=user)
            self._dm[user] = opened["channel"]["id"]
        return self._dm[user]

    async def members(self, team: Team) -> list[Member]:
        if not team.channel:
            return []
        seat = await self._seat(team.workspace)
        found: list[Member] = []
        cursor = None
        while True:
            page = await self._call(
                team.workspace, "conversations.members", channel=team.channel, limit=500, cursor=cursor
            )
            uid: object
            for uid in page.get("members", []):
                if isinstance(uid, str) and uid != seat.bot_user:
                    person = self.rt.person("slack", f"{seat.workspace}:{uid}")
                    found.append(Member(address(seat.workspace, uid), person))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found

    async def send(self, member: Member, menu: msg.Menu, tag: str) -> Delivery:
        from .render import payload

        workspace, user = parts(member.address)
        try:
            block_json, fallback = payload(menu)
            posted = await self._call(  # to the user id: Slack opens the DM, no conversations.open
                workspace,
                "chat.postMessage",
                user,
                channel=user,
                blocks=block_json,
                text=fallback,
                metadata={"event_type": self.EVENT_TYPE, "event_payload": {"tag": tag}},
            )
            if isinstance(posted.get("channel"), str):
                self._dm[user] = posted["channel"]
            return "sent"
        except NotInstalled:
            log.warning("slack invitation failed: the app is not installed in the workspace")
            return "gone"
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown")
            log.warning("slack invitation failed: %s", error)
            return "gone" if error in PERMANENT_SLACK else Retry(str(error))
        except Exception as exc:
            log.warning("slack invitation failed: %s", type(exc).__name__)
            return Retry(type(exc).__name__)

    async def delivered(self, member: Member, tag: str) -> bool:
        workspace, user = parts(member.address)
        try:
            channel = await self._channel(workspace, user)
            history = await self._call(
                workspace, "conversations.history", channel=channel, limit=20, include_all_metadata=True
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
                team.workspace,
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
                await self._upload(team.workspace, team.lead_channel, chart)
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

    async def _upload(self, workspace: str | None, channel: str, chart: bytes) -> None:
        """Slack's external upload in its three steps, the two Web API calls through the shared
        limiter (Tier 4, with the 429s waited out there) like every other call."""
        import aiohttp

        slot = await self._call(
            workspace, "files.getUploadURLExternal", filename="ruhepuls.png", length=len(chart)
        )
        timeout = aiohttp.ClientTimeout(total=15)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.post(slot["upload_url"], data=chart) as sent,
        ):
            sent.raise_for_status()
        await self._call(
            workspace,
            "files.completeUploadExternal",
            files=[{"id": slot["file_id"], "title": "Ruhepuls"}],
            channel_id=channel,
        )

    async def tidy(self) -> None:
        return None
