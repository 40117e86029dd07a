"""The README's Telegram set-up, followed as written: its code blocks run in bash, line by line,
in a folder that holds only the project's `.venv`, from writing `.env` to the worker, and an
agent who joins by the link `team add` printed and answers the invitation to a result.

Only what lies outside this machine is played: @BotFather (the placeholder gets a token) and the
Telegram Bot API (a local fake, reached where the internet would be, that feeds the bot's long
polling). The webhook block is not run (it needs a public URL; tests/test_telegram.py serves a
webhook). The worker's clock limits are lifted, as on a weekday morning."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from conftest import free_port, python_env, wait_until_up
from fakes import FakeServer, FakeTelegram
from readme import WEEKDAY_MORNING, Shell, blocks, clone, statements
from tgkit import TelegramAgent

TOKEN = "123456:ABC-token-from-botfather"
ANSWERS = ["immer", "nie", "nie", "nie"] * 3


class PollingAgent(TelegramAgent):
    """A person whose updates reach the bot through its long polling of the fake Bot API."""

    def put(self, update: dict[str, Any], seconds: float = 20) -> None:
        before = len(self.fake.calls)
        with self.fake._lock:
            self.fake.updates.append(update)
        deadline = time.monotonic() + seconds
        while not any(str(c.params.get("chat_id")) == str(self.user_id) for c in self.fake.calls[before:]):
            assert time.monotonic() < deadline, "the bot did not answer"
            time.sleep(0.02)
        seen = -1
        while seen != len(self.fake.calls):  # its edits and follow-ups of the same turn
            seen = len(self.fake.calls)
            time.sleep(0.3)
        self.sync()

    def type(self, text: str) -> None:
        self.put(self.message_update(text))

    def press(self, label: str, message_id: int | None = None) -> None:
        self.put(self.click_update(label, message_id))

    def with_button(self, label: str) -> list[int]:
        return [mid for mid in sorted(self.screen) if any(b["text"] == label for b in self.buttons(mid))]

    def wait_for(self, label: str, times: int, log: Path, seconds: float = 60) -> int:
        """The newest message with that button, once `times` messages have it."""
        deadline = time.monotonic() + seconds
        while len(self.with_button(label)) < times:
            assert time.monotonic() < deadline, f"no button {label!r}\n{log.read_text()}"
            time.sleep(0.1)
            self.sync()
        return self.with_button(label)[-1]


def test_the_readme_takes_a_telegram_admin_from_a_token_to_a_survey(tmp_path: Path) -> None:
    folder = clone(tmp_path)
    steps = blocks("\n## Telegram", "\nTyped answers and remarks are deleted")
    assert len(steps) == 3, "settings and serve; the webhook; team, round and worker"
    fake = FakeTelegram()
    port = free_port()
    with FakeServer(fake, "/bot") as api:
        env = python_env(PORT=str(port), TELEGRAM_API_URL=f"{api.url}/bot")  # the Bot API, where the fake is
        shell = Shell(folder, env, {"<the token from @BotFather>": TOKEN})
        try:
            for line in statements(steps[0]):
                if line.endswith("ruhepuls serve"):
                    shell.start(line, "serve")
                    wait_until_up(f"http://127.0.0.1:{port}/healthz", folder / "serve.log", seconds=60)
                elif line.endswith("ruhepuls check"):
                    assert "telegram: on" in shell.run(line)
                else:
                    shell.run(line)
            agent = PollingAgent(None, "", fake)  # type: ignore[arg-type]
            for line in statements(steps[2]):
                if line.endswith("ruhepuls worker"):
                    shell.start(line, "worker", **WEEKDAY_MORNING)
                    continue
                said = shell.run(line)
                if "team add" in line:
                    link = re.search(r"https://t\.me/(\S+)\?start=(\S+)", said)
                    assert link is not None, said
                    assert link[1] == fake.me["username"], "the bot's own name, asked of Telegram"
                    asked = sum(c.method == "getMe" for c in fake.calls)
                    links = shell.run(".venv/bin/ruhepuls team link hotline --personal 3")  # as step 4 says
                    assert links.count(f"https://t.me/{fake.me['username']}?start=") == 3, links
                    assert sum(c.method == "getMe" for c in fake.calls) == asked + 1, "the name asked once"
                    agent.type(f"/start {link[2]}")  # the member opens the link and presses Start
                    assert any("Hotline" in agent.text(m) for m in agent.screen), agent.screen
            assert len(agent.with_button("Starten")) == 1, "joining showed the intro"
            invitation = agent.wait_for("Starten", 2, folder / "worker.log")  # the worker's invitation
            agent.press("Starten", invitation)
            assert "Frage 1 von 12" in agent.text(invitation), agent.text(invitation)
            for label in ANSWERS:
                agent.press(label, invitation)
            assert "Konflikt ohne Rückendeckung" in agent.text(invitation), agent.text(invitation)
        finally:
            shell.stop()
    logs = "".join(p.read_text() for p in folder.glob("*.log"))
    assert TOKEN not in logs and "ABC-token" not in logs
