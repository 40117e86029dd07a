"""`ruhepuls teams package`: the zip an admin uploads, checked field by field against the Teams
manifest schema version it declares (1.17), and the /privacy page it links to."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile

from conftest import REPO, python_env
from PIL import Image

from bot.teams.package import MANIFEST_VERSION, SCHEMA

APP_ID = "00000000-aaaa-4bbb-8ccc-000000000001"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^([0-9]|[1-9][0-9]*)\.([0-9]|[1-9][0-9]*)\.([0-9]|[1-9][0-9]*)$")


def test_the_package_validates_field_by_field(tmp_path) -> None:
    out = tmp_path / "app.zip"
    env = python_env(TEAMS_APP_ID=APP_ID, TEAMS_APP_PASSWORD="x", RUHEPULS_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "bot", "teams", "package", "--url", "https://bot.example.org",
                           "--out", str(out)], env=env, cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    z = zipfile.ZipFile(out)
    assert sorted(z.namelist()) == ["color.png", "en-us.json", "manifest.json", "outline.png"]
    m = json.loads(z.read("manifest.json"))
    # required properties of schema 1.17, and their constraints
    assert m["$schema"] == SCHEMA and m["manifestVersion"] == MANIFEST_VERSION == "1.17"
    for key in (
        "manifestVersion",
        "version",
        "id",
        "developer",
        "name",
        "description",
        "icons",
        "accentColor",
    ):
        assert key in m, key
    assert SEMVER.match(m["version"]) and GUID.match(m["id"])
    dev = m["developer"]
    assert 1 <= len(dev["name"]) <= 32
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert dev[key].startswith("https://") and len(dev[key]) <= 2048
    assert dev["termsOfUseUrl"].endswith("/terms") and dev["privacyUrl"].endswith("/privacy")
    assert 1 <= len(m["name"]["short"]) <= 30 and len(m["name"]["full"]) <= 100
    assert 1 <= len(m["description"]["short"]) <= 80 and 1 <= len(m["description"]["full"]) <= 4000
    assert re.match(r"^#[0-9a-fA-F]{6}$", m["accentColor"])
    (bot,) = m["bots"]
    assert bot["botId"] == APP_ID and set(bot["scopes"]) == {"personal", "team"}
    for cl in bot["commandLists"]:
        assert 1 <= len(cl["commands"]) <= 10 and set(cl["scopes"]) <= {"personal", "team", "groupChat"}
        for c in cl["commands"]:
            assert 1 <= len(c["title"]) <= 32 and len(c["description"]) <= 128
    assert set(m["permissions"]) <= {"identity", "messageTeamMembers"}
    assert m["validDomains"] == ["bot.example.org"]
    info = m["localizationInfo"]
    assert info["defaultLanguageTag"] == "de-de"
    (extra,) = info["additionalLanguages"]
    loc = json.loads(z.read(extra["file"]))
    assert extra["languageTag"] == "en-us"
    assert len(loc["name.short"]) <= 30 and len(loc["name.full"]) <= 100
    assert len(loc["description.short"]) <= 80 and len(loc["description.full"]) <= 4000
    assert "questions" in loc["description.short"] and "Fragen" in m["description"]["short"]
    color = Image.open(io.BytesIO(z.read(m["icons"]["color"])))
    outline = Image.open(io.BytesIO(z.read(m["icons"]["outline"])))
    assert color.size == (192, 192) and outline.size == (32, 32)
    rgba = outline.convert("RGBA")
    pixels = [rgba.getpixel((x, y)) for x in range(32) for y in range(32)]
    pixels = [p for p in pixels if p[3] > 0]
    assert pixels and all(p[:3] == (255, 255, 255) for p in pixels), "outline: white on transparent"
    assert outline.convert("RGBA").getpixel((0, 0))[3] == 0


def test_package_refuses_what_teams_would_refuse(tmp_path) -> None:
    env = python_env(TEAMS_APP_ID="not-a-guid", RUHEPULS_DATA_DIR=str(tmp_path))
    cmd = [
        sys.executable,
        "-m",
        "bot",
        "teams",
        "package",
        "--url",
        "https://x.example",
        "--out",
        str(tmp_path / "a.zip"),
    ]
    bad = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and "GUID" in bad.stderr
    env["TEAMS_APP_ID"] = APP_ID
    bad = subprocess.run([*cmd[:-4], "--url", "http://x.example", "--out", str(tmp_path / "a.zip")], env=env,
                         cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert bad.returncode != 0 and "https" in bad.stderr
    long_name = subprocess.run(
        [*cmd, "--developer", "A" * 33], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert long_name.returncode != 0 and "32 characters" in long_name.stderr
    assert not (tmp_path / "a.zip").exists(), "no invalid manifest written"
