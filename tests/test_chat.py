"""The local chat, driven end to end as a subprocess (`python -m bot chat`), against the test
Redis and against the embedded one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis as redis_sync
from conftest import REPO, free_port, python_env, ruhepuls_process, wait_until_up

import flows
from bot.embedded_redis import redis_binary
from flows.teams import Team


def chat(stdin: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )


@pytest.fixture
def env(redis_url: str, tmp_path: Path, redis) -> dict[str, str]:
    return python_env(
        REDIS_URL=redis_url,
        RUHEPULS_DATA_DIR=str(tmp_path / "data"),
        RUHEPULS_LOG_LEVEL="DEBUG",
        RUHEPULS_SECRET="chat-test-secret",
        USER="agent-kim",
        LOGNAME="agent-kim",
    )


def test_whole_survey_in_german(env) -> None:
    out = chat("1\n" + "4\n0\n0\n0\n" * 3 + "1\n2\n" + "\n", env)  # then "what helps", "where to get help"
    assert out.returncode == 0, out.stderr
    assert "Was helfen kann" in out.stdout and "Stufenplan" in out.stdout
    assert "0800 111 0 111" in out.stdout and "Kurzfassung" in out.stdout
    assert "Frage 1 von 12" in out.stdout and "Frage 12 von 12" in out.stdout
    assert "Ihr Ergebnis" in out.stdout
    assert "Konflikt ohne Rückendeckung" in out.stdout
    assert "nirgends gespeichert" in out.stdout.lower()
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


def test_embedded_redis_keeps_answers_off_disk_keeps_teams_and_leaves_no_orphan(tmp_path: Path) -> None:
    data = tmp_path / "embedded"
    key = tmp_path / "config" / "secret"
    env = python_env(
        RUHEPULS_DATA_DIR=str(data), RUHEPULS_SECRET_FILE=str(key), USER="agent-lee", LOGNAME="agent-lee"
    )
    admin = [sys.executable, "-m", "bot", "team"]
    subprocess.run(
        [*admin, "add", "ops", "--name", "Ops", "--platform", "slack", "--channel", "C1"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=60,
    )
    first = chat("1\n3\n4\n", env)
    assert first.returncode == 0, first.stderr
    assert "Frage 3 von 12" in first.stdout
    assert key.exists() and oct(key.stat().st_mode)[-3:] == "600"
    assert not (data / "secret").exists(), "the generated secret lives outside the data directory"
    assert not _servers_for(data), "redis-server still running after exit"
    person = flows.pseudonym(key.read_text().strip().encode(), "local", "agent-lee")
    for path in data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert person.encode() not in content, f"{path.name} names the person"
            assert b"34----------" not in content, f"{path.name} holds answers"
    second = chat("weiter\n", env)
    assert "Frage 3 von 12" not in second.stdout and "Hallo, hier ist Ruhepuls" in second.stdout
    teams = subprocess.run([*admin, "list"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert "ops: Ops (slack)" in teams.stdout, "teams survive a restart"
    assert not _servers_for(data)


def test_an_old_append_only_file_becomes_a_snapshot_without_surveys(tmp_path: Path) -> None:
    data = tmp_path / "old"
    data.mkdir(mode=0o700)
    port = free_port()
    old = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = wait_for_redis(port)
        client.set("rp:{ops}:team", Team(id="ops", name="Ops", platform="slack").model_dump_json())
        client.sadd("rp:teams", "ops")
        client.hset("rp:{ops}:s:abc", mapping={"v": 3, "d": "a|34----------|"})
        client.close()
    finally:
        old.terminate()
        old.wait(timeout=10)
    logs = ("appendonlydir", "appendonly.aof")  # Redis 7 / Redis 6
    assert any((data / name).exists() for name in logs)
    env = python_env(RUHEPULS_DATA_DIR=str(data), RUHEPULS_SECRET="old")
    teams = subprocess.run(
        [sys.executable, "-m", "bot", "team", "list"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "ops: Ops (slack)" in teams.stdout, teams.stderr
    assert not any((data / name).exists() for name in logs), "the old log is deleted"
    assert b"34----------" not in (data / "dump.rdb").read_bytes()


def wait_for_redis(port: int) -> redis_sync.Redis:
    deadline = time.monotonic() + 10
    while True:
        client = redis_sync.Redis(port=port)
        try:
            client.ping()
            return client
        except redis_sync.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


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


def test_the_embedded_servers_outlive_the_process_that_started_them_while_another_uses_them(
    tmp_path: Path,
) -> None:
    """Issue 28: when the process that had started the shared embedded Redis stopped, the other
    lost Redis, and with it every survey in progress."""
    import httpx

    data = tmp_path / "shared"
    ports = [free_port(), free_port()]
    env = python_env(RUHEPULS_DATA_DIR=str(data), RUHEPULS_SECRET_FILE=str(tmp_path / "secret"))
    with ruhepuls_process(["serve"], {**env, "PORT": str(ports[0])}, tmp_path / "a.log") as first:
        wait_until_up(f"http://127.0.0.1:{ports[0]}/healthz", tmp_path / "a.log")
        with ruhepuls_process(["serve"], {**env, "PORT": str(ports[1])}, tmp_path / "b.log"):
            wait_until_up(f"http://127.0.0.1:{ports[1]}/healthz", tmp_path / "b.log")
            first.terminate()  # the one that started the servers goes (a restart, a deploy)
            first.wait(timeout=30)
            assert len(_servers_for(data)) == 2, "both servers still run for the other process"
            assert httpx.get(f"http://127.0.0.1:{ports[1]}/healthz", timeout=5).status_code == 200
    deadline = time.monotonic() + 15
    while _servers_for(data):  # the last one out stops them
        assert time.monotonic() < deadline, "servers left behind"
        time.sleep(0.1)
