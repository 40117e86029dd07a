"""Every kind of Adaptive Card the Microsoft Teams bot sends, read by Microsoft's own Adaptive
Cards library (`adaptivecards` 3.0.6, kept in tests/vendor/adaptivecards) in headless Chromium,
as Teams' renderer reads them: each parses without a warning (no unknown element, action or
property value), validates without a failure at the version it declares (unique input ids,
required properties), and renders. The cards are the ones the bot really sent, collected by
pressing through a survey and from a round and a weekly summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from slackkit import running_app
from teamskit import FakeTeams, FakeTeamsServer, TeamsAgent
from test_teams_rounds import LEADS, TEAM, invite_once, settings_for, summary_ticks

CHROMIUM = __import__("shutil").which("chromium") or __import__("shutil").which("chromium-browser")
LIBRARY = Path(__file__).parent / "vendor" / "adaptivecards" / "adaptivecards.min.js"
TEAMS = {
    "supportsInteractivity": True,
    "fontFamily": "sans-serif",
    "actions": {"maxActions": 6, "actionsOrientation": "Horizontal", "buttonSpacing": 8},
}
"""What of Teams' host config the check depends on: six actions per set, side by side (the
Adaptive Cards repository's samples/HostConfig/microsoft-teams-light.json)."""
PHONE = 320
"""A card's width in Teams on a small phone (px): its buttons must all be seen there, since
Teams' mobile clients hide what does not fit in a row of buttons."""
READ = """([host, width, cards]) => cards.map(([name, json]) => {
    const card = new AdaptiveCards.AdaptiveCard();
    card.hostConfig = new AdaptiveCards.HostConfig(host);
    const context = new AdaptiveCards.SerializationContext();
    card.parse(json, context);
    const said = [];
    for (let i = 0; i < context.eventCount; i++) said.push(context.getEventAt(i).message);
    for (const e of card.validateProperties().validationEvents) said.push(e.message);
    const box = document.createElement("div");
    box.style.width = width + "px";
    document.body.appendChild(box);
    const element = card.render();
    if (element) box.appendChild(element);
    const shown = element ? (element.innerText || "").trim().length : 0;
    const edge = box.getBoundingClientRect().right;
    const hidden = [...box.querySelectorAll("button")]
        .filter(b => b.offsetParent !== null)
        .filter(b => b.getBoundingClientRect().right > edge + 0.5 || b.scrollWidth > b.clientWidth + 1)
        .map(b => b.innerText);
    return [name, said, shown, hidden];
})"""


async def survey_cards(redis_url: str) -> list[tuple[str, dict[str, Any]]]:
    """The cards of one person's survey: intro, help, questions, pause, result and its views."""
    cards: list[tuple[str, dict[str, Any]]] = []
    with FakeTeamsServer(FakeTeams()) as fake:
        async with running_app(settings_for(redis_url, fake)) as base, httpx.AsyncClient(timeout=15) as http:
            agent = TeamsAgent(http, base, fake, "entra-cards")
            await agent.say("hilfe")
            cards.append(("help", agent.card or {}))
            await agent.say("hallo")
            cards.append(("intro", agent.card or {}))
            await agent.press("Starten")
            cards.append(("question", agent.card or {}))
            await agent.press(index=len(agent.actions()) - 1)
            cards.append(("after the last button of a question", agent.card or {}))
            await agent.say("start")
            cards.append(("resumed", agent.card or {}))
            await agent.say("english")
            cards.append(("question in English", agent.card or {}))
            while "of 12" in agent.text():
                await agent.press("often")
            result = agent.card or {}
            cards.append(("result", result))
            for title in titles(agent):
                agent.card = result
                await agent.press(title)
                cards.append((f"result: {title}", agent.card or {}))
    return cards


def titles(agent: TeamsAgent) -> list[str]:
    return [a["title"] for a in agent.actions()]


async def round_cards(redis_url: str) -> list[tuple[str, dict[str, Any]]]:
    """A round's invitation, and an admin's answer in their personal chat."""
    fake = FakeTeams(installed={"entra-inv"}, roster={TEAM: [("29:entra-inv", "entra-inv")]})
    with FakeTeamsServer(fake):
        settings = settings_for(redis_url, fake)
        await invite_once(settings, fake, "cards")
        async with running_app(settings) as base, httpx.AsyncClient() as http:
            await TeamsAgent(http, base, fake, "the-admin").say("round status cards")
    return [("invitation", c) for c in fake.cards("a:chat-entra-inv")] + [
        ("admin reply", c) for c in fake.cards("a:chat-the-admin")
    ]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (Debian: apt install chromium)")
async def test_every_card_the_teams_bot_sends_is_read_by_the_adaptive_cards_library(redis_url, redis) -> None:
    from playwright.async_api import async_playwright

    cards = await survey_cards(redis_url)
    cards += await round_cards(redis_url)
    await redis.flushdb()  # the round's team is not served by the summary's fakes
    summary = FakeTeams()
    await summary_ticks(redis_url, summary, "tcards")
    cards += [("weekly summary", c) for c in summary.cards(LEADS)]
    kinds = {name.split(":")[0] for name, _ in cards}
    assert {"help", "intro", "question", "result", "invitation", "admin reply", "weekly summary"} <= kinds, (
        kinds
    )
    assert len([n for n in kinds if n.startswith("result")]) >= 1 and len(cards) >= 10
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.set_content("<!doctype html><meta charset=utf-8><body></body>")
        await page.add_script_tag(path=str(LIBRARY))
        read = await page.evaluate(READ, [TEAMS, PHONE, [[n, json.loads(json.dumps(c))] for n, c in cards]])
        broken = await page.evaluate(READ, [TEAMS, PHONE, [["broken", broken_card()]]])
        await browser.close()
    problems = {name: said for name, said, _, _ in read if said}
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
    assert all(shown > 0 for _, _, shown, _ in read), "every card renders some text"
    hidden = {name: buttons for name, _, _, buttons in read if buttons}
    assert not hidden, f"buttons a phone would not show: {hidden}"
    assert broken[0][1] and broken[0][3], (
        "the library does find what is wrong with a card, and what overflows"
    )


DE_SCALE = ["nie", "selten", "manchmal", "oft", "immer", "Überspringen"]


def broken_card() -> dict[str, Any]:
    """Two inputs with one id, an element Teams does not know, and the six answers in one row (as
    the bot sent them before): what the check must catch."""
    return {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "Input.Text", "id": "a"},
            {"type": "Input.Text", "id": "a"},
            {"type": "Carousel"},
            {
                "type": "ActionSet",
                "actions": [{"type": "Action.Execute", "title": t, "verb": "rp"} for t in DE_SCALE],
            },
        ],
    }
