"""A platform is its folder: a package under bot/ that exposes PLATFORM is found by the registry,
and through it alone by the web app (its routes, a page as well as a webhook), the worker (its
outreach), the CLI (its verbs, its state in `check`), `doctor` (its findings), the data sheet
(what it says of itself, and the Redis keys its keys.yaml declares) and the logs (its secrets and token shapes masked). Nothing else in the tree is edited for it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from conftest import NOW, python_env
from slackkit import running_app

import bot
from bot.logs import Redact
from bot.platform import platforms, secret_values
from bot.runtime import runtime
from bot.settings import Settings
from flows.teams import Team

TOKEN = "echo-k3y0fth1sb0t"

SETTINGS = """
from pydantic import Field, SecretStr

from ..settings import PlatformSettings


class EchoSettings(PlatformSettings):
    token: SecretStr | None = Field(None, validation_alias="ECHO_TOKEN")

    @property
    def enabled(self):
        return self.token is not None

    def off_reason(self):
        return None if self.enabled else "ECHO_TOKEN is not set"
"""

INIT = '''
"""A platform for the test only, found through its folder alone."""

import logging
import re

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse

from ..platform import Check, Member, Platform, webhook
from .settings import EchoSettings

SENT = []


class EchoOutreach:
    in_flight = 1

    def __init__(self, rt):
        self.rt = rt

    async def members(self, team):
        return [Member(f"addr-{n}", self.rt.person("echo", f"u{n}")) for n in range(3)]

    async def send(self, member, menu, tag):
        SENT.append(member.address)
        return "sent"

    async def delivered(self, member, tag):
        return None

    async def post_summary(self, team, text, chart):
        return True

    async def tidy(self):
        return None


class Echo(Platform):
    name = "echo"
    settings = EchoSettings
    token_shapes = (re.compile(r"\\becho-[a-z0-9]{12}"),)

    def findings(self, settings):
        return [Check(False, "echo speaks only backwards", "read it in a mirror")]

    def data_sheet(self, settings, lang):
        return "Echo keeps nothing but an echo." if lang == "en" else "Echo behält nur ein Echo."

    def commands(self, sub):
        verbs = sub.add_parser("echo", help="the echo platform's own verb")
        verbs.add_argument("word")

    def run(self, settings, args):
        token = settings.section(EchoSettings).token.get_secret_value()
        logging.getLogger("ruhepuls").warning("echo with %s and echo-abcdefghijkl", token)
        print(args.word[::-1])

    async def receive(self, rt, stack):
        async def said(request: Request, body: bytes) -> Response:
            return PlainTextResponse(body.decode()[::-1])

        routes = webhook("/echo/hook", said)

        @routes.get("/echo/page")
        async def page() -> Response:
            return PlainTextResponse("a page of its own")

        return routes

    async def reach(self, rt, stack):
        return EchoOutreach(rt)


PLATFORM = Echo()
'''

KEYS = """
- id: echoes
  pattern: '^rp:echo:\\d+$'
  server: sessions
  max_ttl: 60
  holds: { de: "Echo: ein Nachhall je Minute", en: "Echo: one reverberation a minute" }
  lives: { de: "eine Minute", en: "one minute" }
"""

BOOT = "import sys, bot; bot.__path__.append(sys.argv.pop(1)); from bot.cli import main; main()"


@pytest.fixture
def echo_folder(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "__init__.py").write_text(textwrap.dedent(INIT))
    (folder / "settings.py").write_text(textwrap.dedent(SETTINGS))
    (folder / "keys.yaml").write_text(KEYS)
    bot.__path__.append(str(tmp_path))
    platforms.cache_clear()
    try:
        yield tmp_path
    finally:
        bot.__path__.remove(str(tmp_path))
        for name in ("bot.echo", "bot.echo.settings"):
            sys.modules.pop(name, None)
        platforms.cache_clear()


def _ruhepuls(where: Path, *args: str, redis_url: str) -> subprocess.CompletedProcess[str]:
    env = python_env(ECHO_TOKEN=TOKEN, REDIS_URL=redis_url, RUHEPULS_SECRET="platform-test")
    return subprocess.run(
        [sys.executable, "-c", BOOT, str(where), *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_a_new_folder_is_a_platform_with_routes_of_any_method(
    echo_folder: Path, redis_url: str
) -> None:
    assert "echo" in platforms()
    settings = Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="platform-test", ECHO_TOKEN=TOKEN)
    async with running_app(settings) as base, httpx.AsyncClient(timeout=10) as http:
        page = await http.get(f"{base}/echo/page")
        assert page.status_code == 200 and page.text == "a page of its own"
        hook = await http.post(f"{base}/echo/hook", content=b"hallo")
        assert hook.status_code == 200 and hook.text == "ollah"
        big = await http.post(f"{base}/echo/hook", content=b"x" * (1 << 20 | 1))
        assert big.status_code == 413, "the webhook's body cap holds for a new platform too"


async def test_the_worker_reaches_a_new_platforms_members(echo_folder: Path, redis_url: str) -> None:
    from bot.outreach import tick_team
    from bot.worker import outreach_for

    settings = Settings(
        REDIS_URL=redis_url,
        RUHEPULS_SECRET="platform-test",
        ECHO_TOKEN=TOKEN,
        RUHEPULS_QUIET_HOURS="24-0",
        RUHEPULS_WORKDAYS="mon-sun",
    )
    assert "echo" in platforms()
    sent: list[str] = sys.modules["bot.echo"].SENT
    async with runtime(settings) as rt, outreach_for(rt) as reach:
        assert set(reach) == {"echo"}, "enabled by its own settings section, and nothing else"
        await rt.teams.save_team(Team(id="echoes", name="Echoes", platform="echo", channel="E1"))
        await rt.teams.open_round("echoes", NOW - timedelta(days=1), NOW + timedelta(days=13))
        await tick_team(rt, reach, (await rt.teams.team("echoes")), NOW + timedelta(hours=1))  # type: ignore[arg-type]
    assert sorted(sent) == ["addr-0", "addr-1", "addr-2"], "each member invited once, through its outreach"


def test_the_cli_doctor_and_logs_know_a_new_platform_through_its_folder(
    echo_folder: Path, redis_url: str
) -> None:
    settings = Settings(ECHO_TOKEN=TOKEN)
    assert TOKEN in secret_values(settings), "its section's secrets are masked"
    assert Redact().clean("token echo-abcdefghijkl end") == "token *** end", "its token shape is learned"

    check = _ruhepuls(echo_folder, "check", redis_url=redis_url)
    assert check.returncode == 0, check.stderr
    assert "echo: on" in check.stdout
    verb = _ruhepuls(echo_folder, "echo", "hallo", redis_url=redis_url)
    assert verb.returncode == 0, verb.stderr
    assert verb.stdout.strip() == "ollah", "its own CLI verb ran"
    assert "echo with *** and ***" in verb.stderr, verb.stderr
    assert TOKEN not in verb.stderr and "abcdefghijkl" not in verb.stderr
    sheet = _ruhepuls(echo_folder, "privacy", "--lang", "en", redis_url=redis_url)
    assert sheet.returncode == 0, sheet.stderr
    assert "- Echo: one reverberation a minute: one minute." in sheet.stdout, "its keys.yaml is on the list"
    assert "Echo keeps nothing but an echo." in sheet.stdout
    doctor = _ruhepuls(echo_folder, "doctor", redis_url=redis_url)
    assert (
        "PROBLEM  echo speaks only backwards" in doctor.stdout and "fix: read it in a mirror" in doctor.stdout
    )


CORE = sorted(p for p in Path(bot.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("module", CORE, ids=lambda p: p.name)
def test_the_core_imports_no_platform_folder(module: Path) -> None:
    """bot/*.py reach a platform only through bot.platform's registry, never by importing its
    folder (so a folder can be added, or removed, without an edit here)."""
    folders = {p.parent.name for p in Path(bot.__file__).parent.glob("*/__init__.py")}
    source = module.read_text()
    for name in folders:
        for shape in (f"from .{name}", f"bot.{name}", f"from . import {name}"):
            assert shape not in source, f"{module.name} imports the platform folder {name}"


def test_settings_are_read_only_under_their_documented_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell's `LANGUAGE=en_US:en` (set on many desktops), or a generic `CLOUD`, `APP_ID`,
    `BOT_TOKEN`, is not a Ruhepuls setting: read by a field's own name it stopped the bot or
    pointed Teams at another cloud."""
    from bot.msteams.settings import TeamsSettings
    from bot.slack.settings import SlackSettings

    for name, value in {
        "LANGUAGE": "en_US:en",
        "TIMEZONE": "Mars/Base",
        "LOG_LEVEL": "DEBUG",
        "CLOUD": "China",
        "APP_ID": "someone",
        "BOT_TOKEN": "xoxb-other",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RUHEPULS_LANGUAGE", "en")
    settings = Settings()
    assert (settings.language, settings.timezone, settings.log_level) == ("en", "Europe/Berlin", "INFO")
    teams = settings.section(TeamsSettings)
    assert (teams.cloud, teams.app_id) == ("public", None)
    assert settings.section(SlackSettings).bot_token is None
