"""Shared fixtures: a real redis-server started for the test session (or REDIS_URL), and
helpers to build conversations against it."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis

import flows
from bot.embedded_redis import redis_binary
from flows.teams import Team, TeamStore

# The Teams SDK and pydantic-settings read these; a developer's shell must not leak into tests.
for _name in ("CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "SERVICE_URL"):
    os.environ.pop(_name, None)

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)

PURE = frozenset(
    {
        "test_disclosure",
        "test_retry",
        "test_measure_rule",
        "test_questionnaire",
        "test_reads",
        "test_result",
        "test_scoring",
        "test_sentences",
    }
)
"""Modules of pure tests (the classifier and the engine's words): no server, no socket, seconds
for all of them (`pytest -m pure`); every other test is `e2e`."""
LOAD = frozenset({"test_burst"})
"""Modules of load tests (many people at once against the enforced limits), also `e2e`:
`pytest -m "not load"` leaves them out."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        name = module.__name__.rsplit(".", 1)[-1] if module is not None else ""
        item.add_marker(pytest.mark.pure if name in PURE else pytest.mark.e2e)
        if name in LOAD:
            item.add_marker(pytest.mark.load)


def _on_this_machine(host: object) -> bool:
    import ipaddress

    if host in (None, "", "localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fails a test that reaches an address off this machine (the fakes are all local), and a
    pure test that opens any connection at all. Covers this process; the servers a test starts
    get only local addresses from it."""
    pure = request.node.get_closest_marker("pure") is not None
    reached: list[str] = []
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def allowed(sock: socket.socket, address: Any) -> bool:
        if pure:
            reached.append(f"{address!r} (a pure test opens no connection)")
            return False
        if sock.family == getattr(socket, "AF_UNIX", None) or _on_this_machine(address[0]):
            return True
        reached.append(repr(address))
        return False

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if not allowed(sock, address):
            raise ConnectionRefusedError(f"tests stay on this machine: {address!r}")
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        if not allowed(sock, address):
            return 111  # ECONNREFUSED
        return connect_ex(sock, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _on_this_machine(host.decode() if isinstance(host, bytes) else host):
            reached.append(f"DNS {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "tests stay on this machine")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield
    assert not reached, f"the test reached beyond this machine: {reached}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the whole test run: REDIS_URL if given (each pytest-xdist worker in a
    database of its own: gw0 in the given one, gw1 in the next), else our own redis-server."""
    given = os.environ.get("REDIS_URL")
    if given:
        n = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
        parts = urlsplit(given)
        db = int(parts.path.strip("/") or 0) + n
        yield urlunsplit(parts._replace(path=f"/{db}")) if n else given
        return
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def config() -> flows.Config:
    return flows.Config()


@pytest.fixture
def store(redis: Redis, config: flows.Config) -> flows.RedisStore:
    return flows.RedisStore(redis, items=len(config.questionnaire.items), ttl_seconds=7 * 86_400)


@pytest.fixture
def teams(redis: Redis) -> TeamStore:
    return TeamStore(redis)


@pytest.fixture
def conversations(store: flows.RedisStore, config: flows.Config, teams: TeamStore) -> flows.Conversations:
    return flows.Conversations(store, config, clock=lambda: NOW, teams=teams)


async def team_with_round(teams: TeamStore, team_id: str, people: list[str]) -> str:
    """A Slack team whose (pseudonymous) people are placed in it, with an open round."""
    await teams.save_team(Team(id=team_id, name=team_id, platform="slack", channel="C1"))
    await teams.members.place(people, team_id)
    r = await teams.open_round(team_id, NOW - timedelta(days=1), NOW + timedelta(days=13))
    return r.id


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a `ruhepuls` subprocess: ours, minus anything platform-related."""
    from bot.platform import platforms

    ours = {
        alias
        for p in platforms().values()
        for f in p.settings.model_fields.values()
        if isinstance(alias := f.validation_alias, str)
    }
    env = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith(("RUHEPULS_", "REDIS_"))}
    env.update(extra)
    return env


def has_redis_binary() -> bool:
    try:
        redis_binary()
    except RuntimeError:
        return shutil.which("redis-server") is not None
    return True


REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def ruhepuls_process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """`python -m bot ARGS` as a process of its own, its output in `log`; ended at the end."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=env,
            cwd=REPO,
            text=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def listening(port: int, seconds: float = 10) -> None:
    """Wait until something accepts connections on a port of 127.0.0.1."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.05)


@contextlib.contextmanager
def redis_process(args: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A redis-server with `args`, listening on `port`, ended at the end."""
    proc = subprocess.Popen([redis_binary(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listening(port)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_until_up(url: str, log: Path | None = None, seconds: float = 30) -> None:
    """Poll a URL until it answers 200 (a served /healthz, a fake's /_calls)."""
    import httpx

    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text() if log else f"{url} did not come up"
        time.sleep(0.05)


class Clock:
    """A clock a test sets by hand (`runtime(settings, clock=Clock(moment))`)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake_slack() -> Iterator[Any]:
    """The local fake Slack Web API, a team channel CTEAM without members (modules that need
    another fake define their own)."""
    from fakes import FakeServer, FakeSlack

    with FakeServer(FakeSlack(channel_members={"CTEAM": []}), "/api") as server:
        yield server


def _pure_only(config: pytest.Config) -> bool:
    markexpr = config.option.markexpr or ""
    return markexpr == "pure" or "not e2e" in markexpr


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: for the end-to-end tests, which mostly wait on sockets, twice the cores (at
    least four); for the pure tests alone, which only compute, one process per core."""
    cores = os.cpu_count() or 1
    return cores if _pure_only(config) else max(4, 2 * cores)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Selecting the pure tests alone does not import the end-to-end modules at all (their
    imports take longer than the pure tests run)."""
    if _pure_only(config) and collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return True if collection_path.stem not in PURE else None
    return None


@contextlib.contextmanager
def monitored(ports: list[int]) -> Iterator[list[str]]:
    """Every command the clients send to the Redis servers on `ports` while open (MONITOR; what
    a Lua script runs inside is left out), one line each."""
    import threading

    lines: list[str] = []
    done = threading.Event()
    socks = []
    for port in ports:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"MONITOR\r\n")
        sock.settimeout(0.2)
        socks.append(sock)

    def read(sock: socket.socket) -> None:
        buf = b""
        while not done.is_set():
            try:
                buf += sock.recv(65536)
            except TimeoutError:
                continue
            *whole, buf = buf.split(b"\r\n")
            lines.extend(ln.decode(errors="replace") for ln in whole if b" lua]" not in ln)

    readers = [threading.Thread(target=read, args=(sock,), daemon=True) for sock in socks]
    for t in readers:
        t.start()
    try:
        yield lines
    finally:
        time.sleep(0.3)  # what is on the wire reaches the reader
        done.set()
        for t in readers:
            t.join()
        for sock in socks:
            sock.close()
