"""`ruhepuls teams package`: the zip an admin uploads, checked field by field against the Teams
manifest schema version it declares (1.17), and the /privacy page it links to."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

from conftest import REPO, python_env
from jsonschema import Draft4Validator
from PIL import Image

from bot.msteams.package import MANIFEST_VERSION, SCHEMA

APP_ID = "00000000-aaaa-4bbb-8ccc-000000000001"


def schema_errors(document: dict[str, object], name: str) -> list[str]:
    schema = json.loads((REPO / "bot" / "msteams" / "schema" / name).read_text("utf-8"))
    return [f"{list(e.absolute_path)}: {e.message}" for e in Draft4Validator(schema).iter_errors(document)]


def test_the_schemas_kept_are_microsofts_and_catch_what_teams_refuses() -> None:
    """The schema files must be able to fail a manifest: an over-long developer name and a
    command list of eleven commands are errors, as Teams would refuse them."""
    from bot.msteams.package import manifest

    m = manifest(APP_ID, "https://bot.example.org", "A" * 33, "1.0.0")
    m["bots"][0]["commandLists"][0]["commands"] *= 4
    errors = schema_errors(m, "MicrosoftTeams.schema.json")
    assert any("developer', 'name'" in e for e in errors) and any("commands'" in e for e in errors), errors


def test_the_package_validates_field_by_field(tmp_path) -> None:
    out = tmp_path / "app.zip"
    env = python_env(TEAMS_APP_ID=APP_ID, TEAMS_APP_PASSWORD="x", RUHEPULS_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "teams",
            "package",
            "--url",
            "https://bot.example.org",
            "--out",
            str(out),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    z = zipfile.ZipFile(out)
    assert sorted(z.namelist()) == ["color.png", "en-us.json", "manifest.json", "outline.png"]
    m = json.loads(z.read("manifest.json"))
    # Microsoft's published schemas (kept in the repository), not constraints copied by hand
    assert m["$schema"] == SCHEMA and m["manifestVersion"] == MANIFEST_VERSION == "1.17"
    assert not schema_errors(m, "MicrosoftTeams.schema.json")
    dev = m["developer"]
    assert dev["termsOfUseUrl"].endswith("/terms") and dev["privacyUrl"].endswith("/privacy")
    (bot,) = m["bots"]
    assert bot["botId"] == APP_ID == m["id"] and set(bot["scopes"]) == {"personal", "team"}
    assert m["validDomains"] == ["bot.example.org"]
    info = m["localizationInfo"]
    assert info["defaultLanguageTag"] == "de-de"
    (extra,) = info["additionalLanguages"]
    loc = json.loads(z.read(extra["file"]))
    assert extra["languageTag"] == "en-us"
    assert not schema_errors(loc, "MicrosoftTeams.Localization.schema.json")
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
    bad = subprocess.run(
        [*cmd[:-4], "--url", "http://x.example", "--out", str(tmp_path / "a.zip")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "https" in bad.stderr
    long_name = subprocess.run(
        [*cmd, "--developer", "A" * 33], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert long_name.returncode != 0 and "32 characters" in long_name.stderr
    long_url = subprocess.run(
        [*cmd[:-4], "--url", "https://x.example/" + "p" * 2040, "--out", str(tmp_path / "a.zip")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert long_url.returncode != 0 and "developer.privacyUrl: longer than 2048 characters" in long_url.stderr
    assert not (tmp_path / "a.zip").exists(), "no invalid manifest written"
