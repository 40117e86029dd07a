"""`ruhepuls doctor` against a good setup and against each bad one it claims to catch."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync
from conftest import REPO, free_port, python_env

from bot.embedded_redis import redis_binary


def doctor(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "doctor"], env=python_env(**env), cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.fixture
def persisting_redis(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "60", "1",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
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
    split = doctor(REDIS_URL=persisting_redis, RUHEPULS_SESSION_REDIS_URL=redis_url, RUHEPULS_SECRET="s" * 32,
                   HOST="0.0.0.0", RUHEPULS_DATA_DIR=str(tmp_path))  # fmt: skip
    assert split.returncode == 0, split.stdout
    assert "PROBLEM" not in split.stdout


def test_each_bad_setup_is_named_with_its_fix(tmp_path: Path, redis_url: str, persisting_redis: str) -> None:
    volatile = doctor(REDIS_URL=redis_url, RUHEPULS_DATA_DIR=str(tmp_path))
    assert volatile.returncode != 0 and "keeps nothing on disk" in volatile.stdout
    shared = doctor(REDIS_URL=persisting_redis, RUHEPULS_DATA_DIR=str(tmp_path))
    assert shared.returncode != 0 and "answers in progress reach" in shared.stdout
    assert "RUHEPULS_SESSION_REDIS_URL" in shared.stdout
    reversed_ = doctor(REDIS_URL=redis_url, RUHEPULS_SESSION_REDIS_URL=persisting_redis,
                       RUHEPULS_DATA_DIR=str(tmp_path))  # fmt: skip
    assert reversed_.returncode != 0 and "the sessions Redis writes to disk" in reversed_.stdout
    public = doctor(REDIS_URL=persisting_redis, RUHEPULS_SESSION_REDIS_URL=redis_url, HOST="0.0.0.0",
                    RUHEPULS_DATA_DIR=str(tmp_path))  # fmt: skip
    assert public.returncode != 0 and "RUHEPULS_SECRET is not set" in public.stdout
    redis_sync.Redis.from_url(persisting_redis).config_set("maxmemory-policy", "allkeys-lru")
    evicting = doctor(REDIS_URL=persisting_redis, RUHEPULS_SESSION_REDIS_URL=redis_url, RUHEPULS_SECRET="x" * 32,
                      RUHEPULS_DATA_DIR=str(tmp_path))  # fmt: skip
    assert evicting.returncode != 0 and "allkeys-lru may evict" in evicting.stdout
    dead = doctor(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", RUHEPULS_DATA_DIR=str(tmp_path))
    assert dead.returncode != 0 and "does not answer" in dead.stdout + dead.stderr
