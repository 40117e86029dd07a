"""A lead's actions in Slack: "Choose a measure" under a weekly summary opens a modal; saving
it records the measure (checked as every measure text is) and tells the lead channel."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from flows.errors import TeamError

from ..measures import Measures
from ..runtime import Runtime
from ..texts import say
from .client import call
from .delivery import Delivery, Op
from .render import MEASURE_OPEN, MEASURE_VIEW, REPORT_LINK, measure_modal


def register_lead_actions(app: AsyncApp, rt: Runtime, delivery: Delivery) -> None:
    measures = Measures(rt)

    @app.action(MEASURE_OPEN)
    async def on_measure_open(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """A lead clicked "Choose a measure" under a summary: the modal (anyone else: a refusal
        only they see)."""
        await ack()
        user, channel = (body.get("user") or {}).get("id"), (body.get("channel") or {}).get("id")
        trigger, team_id = body.get("trigger_id"), action.get("value")
        if not all(isinstance(x, str) for x in (user, trigger, team_id)):
            return
        try:
            team = await measures.team_for(f"slack:{user}", str(team_id))
        except TeamError as exc:
            if isinstance(channel, str):
                await call(
                    client,
                    "chat_postEphemeral",
                    channel=channel,
                    user=user,
                    text=say(exc.key, rt.settings.language),
                )
            return
        choices = [(ref, measures.label(ref, team.language)) for ref in await measures.options(team.id)]
        await call(
            client, "views_open", trigger_id=trigger, view=measure_modal(team.id, choices, team.language)
        )

    @app.action(REPORT_LINK)
    async def on_report_link(ack: AsyncAck) -> None:
        await ack()  # a link button: Slack opens the page itself

    @app.view(MEASURE_VIEW)
    async def on_measure_save(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user, workspace = (body.get("user") or {}).get("id"), (body.get("team") or {}).get("id")
        values = (view.get("state") or {}).get("values") or {}

        def field(block: str) -> str | None:
            v = (values.get(block) or {}).get(block) or {}
            picked = v.get("selected_option") or {}
            out = picked.get("value") if isinstance(picked, dict) and picked else v.get("value")
            return out.strip() if isinstance(out, str) and out.strip() else None

        team_id = view.get("private_metadata")
        if not (isinstance(user, str) and isinstance(workspace, str) and isinstance(team_id, str)):
            await ack()
            return
        lang = rt.settings.language
        try:  # the team first: what is wrong with the form is said in its language
            lang = (await measures.team_for(f"slack:{user}", team_id)).language
            team, m = await measures.choose(
                f"slack:{user}",
                team_id,
                path=field("path"),
                text=field("own"),
                role=field("role") or "",
                check=field("check") or "4w",
                due=field("due") or "4w",
            )
        except TeamError as exc:
            block = {"measure_bad_role": "role", "measure_need_what": "own"}.get(exc.key, "own")
            await ack(response_action="errors", errors={block: say(exc.key, lang, **exc.params)})
            return
        await ack()
        if team.lead_channel:
            person = rt.person("slack", f"{workspace}:{user}")
            await delivery.send(
                client,
                workspace,
                person,
                [Op("post", team.lead_channel, {"text": measures.saved(m, team, lang)})],
            )
