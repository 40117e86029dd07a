"""`ruhepuls doctor` against a good setup and against each bad one it claims to catch."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync
from conftest import REPO, free_port, python_env

from bot.embedded_redis import redis_binary


def doctor(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        env=python_env(**env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def persisting_redis(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "60",
            "1",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            redis_sync.Redis(port=port).ping()
            break
        except redis_sync.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def test_a_good_setup_passes(tmp_path: Path, redis_url: str, persisting_redis: str) -> None:
    embedded = doctor(RUHEPULS_DATA_DIR=str(tmp_path / "data"))
    assert embedded.returncode == 0, embedded.stdout + embedded.stderr
    assert "surveys in progress stay in memory" in embedded.stdout
    split = doctor(
        REDIS_URL=persisting_redis,
        RUHEPULS_SESSION_REDIS_URL=redis_url,
        RUHEPULS_SECRET="s" * 32,
        HOST="0.0.0.0",
        RUHEPULS_DATA_DIR=str(tmp_path),
    )
    assert split.returncode == 0, split.stdout
    assert "PROBLEM" not in split.stdout
    assert "the sessions Redis has no replica" in split.stdout, "how to keep pools through a restart"


def test_each_bad_setup_is_named_with_its_fix(tmp_path: Path, redis_url: str, persisting_redis: str) -> None:
    volatile = doctor(REDIS_URL=redis_url, RUHEPULS_DATA_DIR=str(tmp_path))
    assert volatile.returncode != 0 and "keeps nothing on disk" in volatile.stdout
    shared = doctor(REDIS_URL=persisting_redis, RUHEPULS_DATA_DIR=str(tmp_path))
    assert shared.returncode != 0 and "answers in progress reach" in shared.stdout
    assert "RUHEPULS_SESSION_REDIS_URL" in shared.stdout
    reversed_ = doctor(
        REDIS_URL=redis_url, RUHEPULS_SESSION_REDIS_URL=persisting_redis, RUHEPULS_DATA_DIR=str(tmp_path)
    )
    assert reversed_.returncode != 0 and "the sessions Redis writes to disk" in reversed_.stdout
    public = doctor(
        REDIS_URL=persisting_redis,
        RUHEPULS_SESSION_REDIS_URL=redis_url,
        HOST="0.0.0.0",
        RUHEPULS_DATA_DIR=str(tmp_path),
    )
    assert public.returncode != 0 and "RUHEPULS_SECRET is not set" in public.stdout
    redis_sync.Redis.from_url(persisting_redis).config_set("maxmemory-policy", "allkeys-lru")
    evicting = doctor(
        REDIS_URL=persisting_redis,
        RUHEPULS_SESSION_REDIS_URL=redis_url,
        RUHEPULS_SECRET="x" * 32,
        RUHEPULS_DATA_DIR=str(tmp_path),
    )
    assert evicting.returncode != 0 and "allkeys-lru may evict" in evicting.stdout
    dead = doctor(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", RUHEPULS_DATA_DIR=str(tmp_path))
    assert dead.returncode != 0 and "does not answer" in dead.stdout + dead.stderr


def test_each_platform_is_checked_and_says_how_to_fix_it(tmp_path: Path, redis_url: str) -> None:
    from fakes import FakeServer, FakeSlack, FakeTelegram
    from teamskit import APP_ID

    slack, telegram = FakeSlack(), FakeTelegram()
    with FakeServer(slack, "/api") as s_api, FakeServer(telegram, "/bot") as t_api:
        base = {
            "REDIS_URL": redis_url,
            "RUHEPULS_SECRET": "d" * 32,
            "RUHEPULS_DATA_DIR": str(tmp_path),
            "PYTHONPATH": str(REPO / "tests"),
            "SLACK_BOT_TOKEN": "xoxb-doctor",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": f"{s_api.url}/api/",
            "TELEGRAM_BOT_TOKEN": "42:doctor-token",
            "TELEGRAM_WEBHOOK_SECRET": "hook-secret",
            "TELEGRAM_API_URL": f"{t_api.url}/bot",
            "TEAMS_APP_ID": APP_ID,
            "TEAMS_TOKEN_PROVIDER": "teamskit:bot_token",
        }
        telegram.webhook["url"] = "https://bot.example.org/telegram/webhook"
        good = doctor(**base)
        assert "Slack accepts SLACK_BOT_TOKEN" in good.stdout and "every scope" in good.stdout
        assert "Telegram accepts" in good.stdout and "webhook is registered" in good.stdout
        assert "a Teams token is acquired" in good.stdout and "the clock agrees" in good.stdout
        assert good.stdout.count("PROBLEM") == 1 and "keeps nothing on disk" in good.stdout, (
            good.stdout
        )  # the test Redis

        slack.scopes = "chat:write,commands,im:history,im:write,users:read"  # what doctor used to know
        telegram.webhook.update(url="", last_error_message="Connection refused")
        bad = doctor(**{**base, "TEAMS_TOKEN_PROVIDER": "teamskit:no_token", "RUHEPULS_QUIET_HOURS": "23-5"})
        assert bad.returncode != 0
        assert "lacks the scopes channels:read, files:write, groups:read" in bad.stdout, (
            "the manifest's eight"
        )
        assert "no Telegram webhook is registered" in bad.stdout and "set-webhook" in bad.stdout
        assert (
            "no Teams token could be acquired (ValueError)" in bad.stdout
            and "Invalid client" not in bad.stdout
        )
        assert "invitations may go out at night" in bad.stdout
        slack.fail["auth.test"] = "invalid_auth"
        refused = doctor(**base)
        assert "Slack refuses SLACK_BOT_TOKEN (invalid_auth)" in refused.stdout and refused.returncode != 0
        assert "xoxb-doctor" not in refused.stdout + refused.stderr and "doctor-token" not in refused.stdout


class SkewedClock:
    """Redis on a port of its own, but its TIME runs ten minutes ahead: a proxy that forwards
    every command to the real server and answers TIME itself (as a Redis on a machine without
    NTP would)."""

    TIME = b"*1\r\n$4\r\nTIME\r\n"

    def __init__(self, upstream_port: int, ahead: float = 600) -> None:
        self.upstream, self.ahead = upstream_port, ahead
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        while data := client.recv(65536):
            if data == self.TIME:
                now = time.time() + self.ahead
                s, us = str(int(now)).encode(), str(int(now % 1 * 1e6)).encode()
                client.sendall(b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(s), s, len(us), us))
            else:
                upstream.sendall(data)
        upstream.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        dst.close()

    def close(self) -> None:
        self.listener.close()


def test_a_skewed_clock_is_named(tmp_path: Path, persisting_redis: str, redis_url: str) -> None:
    skewed = SkewedClock(int(persisting_redis.rsplit(":", 1)[1].split("/")[0]))
    try:
        env = dict(
            RUHEPULS_SESSION_REDIS_URL=redis_url, RUHEPULS_SECRET="c" * 32, RUHEPULS_DATA_DIR=str(tmp_path)
        )
        bad = doctor(REDIS_URL=f"redis://127.0.0.1:{skewed.port}/0", **env)
        assert bad.returncode != 0
        assert "clock differs from Redis's by 600 s" in bad.stdout and "NTP" in bad.stdout
        good = doctor(REDIS_URL=persisting_redis, **env)
        assert good.returncode == 0, good.stdout
        assert "the clock agrees with Redis's" in good.stdout
    finally:
        skewed.close()
