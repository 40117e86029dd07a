"""The local chat, driven end to end as a subprocess (`python -m bot chat`), against the test
Redis and against the embedded one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, python_env


def chat(stdin: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
    )  # fmt: skip


@pytest.fixture
def env(redis_url: str, tmp_path: Path, redis) -> dict[str, str]:
    return python_env(
        REDIS_URL=redis_url, RUHEPULS_DATA_DIR=str(tmp_path / "data"), RUHEPULS_LOG_LEVEL="DEBUG",
        RUHEPULS_SECRET="chat-test-secret", USER="agent-kim", LOGNAME="agent-kim",
    )  # fmt: skip


def test_whole_survey_in_german(env) -> None:
    out = chat("1\n" + "4\n0\n0\n0\n" * 3 + "\n", env)
    assert out.returncode == 0, out.stderr
    assert "Frage 1 von 12" in out.stdout and "Frage 12 von 12" in out.stdout
    assert "Ihr Ergebnis" in out.stdout
    assert "Konflikt ohne Rückendeckung" in out.stdout
    assert "nirgends gespeichert" in out.stdout
    # the privacy promise: nothing personal in the log
    for secret in ("agent-kim", "Konflikt ohne", "Ihr Ergebnis", "chat-test-secret"):
        assert secret not in out.stderr


def test_pause_and_resume_across_runs_in_english(env) -> None:
    first = chat("1\n3\n2\nquit\n", env, "--lang", "en")
    assert "Question 3 of 12" in first.stdout and "Paused" in first.stdout
    second = chat("continue\nback\n1\n" + "1\n" * 9 + "s\n", env, "--lang", "en")
    assert second.returncode == 0, second.stderr
    assert second.stdout.index("Question 3 of 12") < second.stdout.index("Question 2 of 12")
    assert "Your result" in second.stdout
    third = chat("", env, "--lang", "en")
    assert "Hello, this is Ruhepuls" in third.stdout  # finished: a fresh intro, nothing left


def test_unknown_input_gets_a_hint_not_an_error(env) -> None:
    out = chat("1\nbanana\n7\n", env, "--lang", "en")
    assert out.returncode == 0
    assert out.stdout.count("Sorry, I didn't get that") == 2
    assert "Traceback" not in out.stderr


def test_embedded_redis_persists_and_leaves_no_orphan(tmp_path: Path) -> None:
    data = tmp_path / "embedded"
    env = python_env(RUHEPULS_DATA_DIR=str(data), USER="agent-lee", LOGNAME="agent-lee")
    first = chat("1\n2\n", env)
    assert first.returncode == 0, first.stderr
    assert (data / "secret").exists() and oct((data / "secret").stat().st_mode)[-3:] == "600"
    assert not _servers_for(data), "redis-server still running after exit"
    second = chat("weiter\n", env)
    assert "Frage 2 von 12" in second.stdout  # the answer survived the restart
    assert not _servers_for(data)


def _servers_for(data: Path) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "redis-server" in cmd and str(data.resolve()) in cmd:
            found.append(cmd)
    return found
