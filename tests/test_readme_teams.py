"""The README's Microsoft Teams set-up, followed as written (issue 24: "a new admin can go from
nothing to a survey in a Teams personal chat by the README alone").

Every code block of the README's Teams section runs in bash, line by line, in a folder of its
own that holds only the project's `.venv`: from writing `.env` to `round open` and the worker.
Only what lies outside this machine is played: the Azure portal (the placeholders get the ids
and the secret a registration gives), Entra and the Teams service (local fakes, tests/entra.py
and tests/teamskit.py, reached where the internet would be), and Teams' side of the story (the
app added to a team, an agent pressing the cards the bot sent). The clock's limits are lifted
(quiet hours, working days, the worker's minute tick) for the worker, as on a weekday
morning. A placeholder
the test does not know, or a command that fails, fails the test: the README and this test
change together."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import zipfile
from pathlib import Path

import httpx
from conftest import free_port, python_env, wait_until_up
from entra import EntraServer, FakeEntra
from readme import WEEKDAY_MORNING, Shell, blocks, clone, statements
from teamskit import APP_ID, TENANT, FakeTeams, FakeTeamsServer, TeamsAgent, activity

SECRET = "Q~value-of-the-new-client-secret"
TEAM = "19:hotline-general@thread.tacv2"
LEADS = "19:hotline-leitung@thread.tacv2"
PERSON = "entra-agent-1"


def test_the_readme_takes_a_teams_admin_from_nothing_to_a_survey_in_a_personal_chat(tmp_path: Path) -> None:
    folder = clone(tmp_path)
    setup = blocks("\n### Set it up", "\n### Try it with a dev tunnel")
    assert len(setup) == 3, "settings and serve; the package; team, round and worker"

    entra = FakeEntra(APP_ID, TENANT, secret=SECRET)
    fake = FakeTeams(
        entra=entra,
        installed={PERSON},
        roster={TEAM: [(f"29:{PERSON}", PERSON)]},
        channels={TEAM: [(TEAM, None), (LEADS, "Leitung")]},
    )
    port = free_port()
    with EntraServer(entra, tmp_path), FakeTeamsServer(fake):
        env = python_env(
            PORT=str(port),
            TEAMS_OPENID_METADATA_URL=fake.openid_url,  # Bot Framework's keys, where the fake serves them
            **entra.env(),
        )
        shell = Shell(
            folder,
            env,
            {
                "<Microsoft App ID>": APP_ID,
                "<App Tenant ID>": TENANT,
                "<client secret Value>": SECRET,
                "<a long random string>": secrets.token_urlsafe(32),
            },
        )
        try:
            follow(shell, setup, fake, port)
        finally:
            shell.stop()
    assert entra.refused == [], "nothing but Entra's login host was asked, and it refused nothing"
    logs = "".join(p.read_text() for p in folder.glob("*.log"))
    assert SECRET not in logs and PERSON not in logs


def follow(shell: Shell, blocks: list[str], fake: FakeTeams, port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    # 2. settings, checked, and the bot
    for line in statements(blocks[0]):
        if line.endswith("ruhepuls serve"):
            shell.start(line, "serve")
            wait_until_up(f"{base}/healthz", shell.folder / "serve.log", seconds=60)
        else:
            said = shell.run(line)
            if line.endswith("ruhepuls check"):
                assert "teams: on" in said, said
            if line.endswith("ruhepuls doctor"):
                assert "a Teams token is acquired" in said, said
    # 3. the package, uploaded in the admin center; the app added to the team
    for line in statements(blocks[1]):
        assert "wrote ruhepuls-teams.zip" in shell.run(line)
    with zipfile.ZipFile(shell.folder / "ruhepuls-teams.zip") as package:
        manifest = json.loads(package.read("manifest.json"))
    assert manifest["bots"][0]["botId"] == APP_ID
    added = activity(
        fake,
        "installationUpdate",
        "the-admin",
        personal=False,
        conversation=TEAM,
        action="add",
        channelData={"team": {"id": TEAM, "name": "Hotline Süd"}, "tenant": {"id": TENANT}},
    )
    r = httpx.post(f"{base}/api/messages", json=added, headers={"Authorization": f"Bearer {fake.token()}"})
    assert r.status_code == 200, r.text
    # 4. the team from `teams list`, a round, the worker
    for line in statements(blocks[2]):
        if line.endswith("ruhepuls worker"):  # as on a weekday morning, ticking every second
            shell.start(line, "worker", **WEEKDAY_MORNING)
            continue
        said = shell.run(line)
        if line.endswith("teams list"):
            shell.values["<the team's --channel>"] = re.search(r"Hotline Süd: --channel (\S+)", said)[1]  # type: ignore[index]
            shell.values["<a channel's --lead-channel>"] = re.search(r"Leitung: --lead-channel (\S+)", said)[
                1
            ]  # type: ignore[index]
    asyncio.run(take_the_survey(base, fake, shell.folder / "worker.log"))


async def take_the_survey(base: str, fake: FakeTeams, log: Path) -> None:
    async with httpx.AsyncClient(timeout=15) as http:
        agent = TeamsAgent(http, base, fake, PERSON)
        try:
            await agent.settled(0, seconds=60)
        except AssertionError:
            raise AssertionError(f"no invitation arrived\n{log.read_text()}") from None
        assert "Starten" in [a["title"] for a in agent.actions()], agent.card
        await agent.press("Starten")
        assert "Frage 1 von 12" in agent.text()
        for label in ["immer", "nie", "nie", "nie"] * 3:
            await agent.press(label)
        assert "Konflikt ohne Rückendeckung" in agent.text(), agent.text()
    assert all(fake.entra.verifies(s.authorization.removeprefix("Bearer ")) for s in fake.sent)
