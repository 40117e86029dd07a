"""Anonymity at rest: what the data Redis persists, read back from its files.

The data Redis writes its append-only file after every write (`appendfsync always`) and a
snapshot is taken after every single completion; the sessions Redis persists nothing. A curious
operator holding the files, the server secret and the member list tries what issue 22 did: read
one person's block out of the AOF, subtract two snapshots, find a done token or a pseudonym. Every
persisted state must differ from every other by a sum of at least k completions, and nothing on
disk may name a person or tie one to a round.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as redis_sync
from conftest import free_port, redis_process

import classifier
from bot.admin import Admin
from bot.runtime import Runtime, runtime
from bot.settings import Settings
from flows import events as ev
from flows import keys
from flows.teams import Team, done_token

Q = classifier.default()
K = 5
OPENED = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
SECRET = "at-rest-secret"


@dataclass
class Servers:
    data_url: str
    sessions_url: str
    data_dir: Path
    sessions_port: int
    sessions_args: list[str]
    snapshots: list[Path] = field(default_factory=list)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    data_dir, sessions_dir = tmp_path / "data", tmp_path / "sessions"
    data_dir.mkdir()
    sessions_dir.mkdir()
    dp, sp = free_port(), free_port()
    data_args = [
        "--port",
        str(dp),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--aof-use-rdb-preamble",
        "no",
        "--rdbcompression",
        "no",
    ]
    sessions_args = [
        "--port",
        str(sp),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(sessions_dir),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    with redis_process(data_args, dp), redis_process(sessions_args, sp):
        yield Servers(f"redis://127.0.0.1:{dp}/0", f"redis://127.0.0.1:{sp}/0", data_dir, sp, sessions_args)


@pytest.fixture
async def rt(servers: Servers) -> AsyncIterator[Runtime]:
    settings = Settings(
        REDIS_URL=servers.data_url,
        RUHEPULS_SESSION_REDIS_URL=servers.sessions_url,
        RUHEPULS_SECRET=SECRET,
        RUHEPULS_ADMINS="slack:UADMIN",
    )
    async with runtime(settings) as r:
        yield r


def snapshot(servers: Servers) -> None:
    """SAVE on the data Redis and keep a copy of the file it wrote."""
    client = redis_sync.Redis.from_url(servers.data_url)
    client.save()
    client.close()
    copy = servers.data_dir.parent / f"snap-{len(servers.snapshots):03d}.rdb"
    shutil.copy(servers.data_dir / "dump.rdb", copy)
    servers.snapshots.append(copy)


def aof_bytes(servers: Servers) -> bytes:
    """Every append-only file the data Redis wrote (Redis 7 keeps a directory of them)."""
    files = sorted(p for p in servers.data_dir.rglob("*") if p.is_file() and "aof" in p.name)
    assert files, "the data Redis wrote no AOF"
    return b"".join(p.read_bytes() for p in files)


def resp_commands(raw: bytes) -> list[list[bytes]]:
    """The commands of an AOF (RESP arrays of bulk strings)."""
    out, i = [], 0
    while i < len(raw):
        assert raw[i : i + 1] == b"*", raw[i : i + 40]
        end = raw.index(b"\r\n", i)
        count, i = int(raw[i + 1 : end]), end + 2
        cmd = []
        for _ in range(count):
            end = raw.index(b"\r\n", i)
            size = int(raw[i + 1 : end])
            cmd.append(raw[end + 2 : end + 2 + size])
            i = end + 2 + size + 2
        out.append(cmd)
    return out


def is_cell_total(field: bytes) -> bool:
    parsed = keys.parse_cell_field(field.decode())
    return parsed is not None and parsed[1] == "n"


def people_in_counters(client: redis_sync.Redis) -> int:
    """People with a result, over every cell of every team's counters."""
    total = 0
    for key in client.scan_iter(match="rp:*:agg"):
        for name, value in client.hgetall(key).items():
            parsed = keys.parse_cell_field(name.decode())
            if parsed is not None and parsed[1] == "n":
                total += int(value)
    return total


def state_of(snapshot_file: Path) -> tuple[int, list[str]]:
    """Load a snapshot into a fresh redis-server: people counted, and every key name."""
    port = free_port()
    args = [
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(snapshot_file.parent),
        "--dbfilename",
        snapshot_file.name,
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    with redis_process(args, port):
        client = redis_sync.Redis(port=port)
        try:
            return people_in_counters(client), [k.decode() for k in client.keys("*")]
        finally:
            client.close()


async def finish(rt: Runtime, team_id: str, user: str, value: int) -> str:
    person = rt.person("slack", user)
    if await rt.teams.members.team_of(person) != team_id:
        await rt.teams.members.place([person], team_id)
    await rt.handle("slack", person, ev.Start("de"))
    for item in Q.items:
        await rt.handle("slack", person, ev.Answer(item.id, value))
    return person


async def test_nothing_persisted_differs_by_fewer_than_k_completions(rt: Runtime, servers: Servers) -> None:
    await rt.teams.save_team(Team(id="ops", name="Ops", platform="slack", channel="C1"))
    await rt.teams.save_team(Team(id="tiny", name="Tiny", platform="slack", channel="C2", parent="ops"))
    await rt.teams.save_team(Team(id="tiny2", name="Tiny 2", platform="slack", channel="C4", parent="ops"))
    await rt.teams.save_team(Team(id="alone", name="Alone", platform="slack", channel="C3"))
    keys_by_team = {}
    for team_id in ("ops", "tiny", "tiny2", "alone"):
        await rt.teams.open_round(team_id, OPENED, OPENED + timedelta(days=14))
        keys_by_team[team_id] = await rt.teams.open_round_key(team_id)
    plan = [("ops", 12), ("tiny", 3), ("tiny2", 2), ("alone", 2)]
    members = {t: [f"T9:U{t.upper()}{n:03d}" for n in range(count)] for t, count in plan}
    for team_id, users in members.items():  # who belongs where: what inviting them records
        await rt.teams.members.place([rt.person("slack", u) for u in users], team_id)
    declines = rt.person("slack", "T9:UQUIET")  # asks for no reminder ("not this time")
    await rt.teams.members.place([declines], "ops")
    snapshot(servers)
    setup = len(aof_bytes(servers))
    done_tokens: list[str] = []
    pseudonyms: list[str] = [declines]
    await rt.conversations.handle(declines, ev.NotThisTime(), event_id="quiet-1")
    assert await rt.teams.sends.unsent("ops", keys_by_team["ops"][0], "rem1", [declines]) == [False]  # type: ignore[index]
    for team_id, users in members.items():
        rnd = keys_by_team[team_id]
        assert rnd is not None
        for n, user in enumerate(users):
            person = await finish(rt, team_id, user, 1 + n % 4)
            pseudonyms.append(person)
            done_tokens.append(done_token(rt.secret, rnd[1], person))
            snapshot(servers)
    closed = {t: await rt.teams.close_round(t) for t, _ in plan}
    snapshot(servers)

    # the snapshots: consecutive states differ by no person or by k and more
    counted = [state_of(s) for s in servers.snapshots]
    people = [n for n, _ in counted]
    steps = [b - a for a, b in zip(people, people[1:], strict=False)]
    assert all(step == 0 or step >= K for step in steps), steps
    assert people[-1] == 10 + 5, "ops: two sums of five; tiny's 3 and tiny2's 2 as one sum in ops' fold"
    for _, names in counted:
        assert not [
            n for n in names if ":done:" in n or n.startswith(("rp:later", "rp:expiring", "rp:limit"))
        ]

    # the AOF: every write that raises people raises them by k or more, in one transaction
    commands = resp_commands(aof_bytes(servers))
    raised: list[int] = []
    block: list[list[bytes]] | None = None  # inside MULTI … EXEC: one script's writes
    for cmd in commands:
        name = cmd[0].upper()
        if name == b"MULTI":
            block = []
            continue
        if block is not None and name != b"EXEC":
            block.append(cmd)
            continue
        writes, block = (block if name == b"EXEC" else [cmd]), None
        n = sum(int(c[3]) for c in writes if c[0].upper() == b"HINCRBY" and is_cell_total(c[2]))
        if n:
            raised.append(n)
    assert raised and all(n >= K for n in raised), raised
    # nothing the surveys wrote names a person: no pseudonym, platform id or done token in the
    # AOF after the members were placed, no done token anywhere, and the keys that carry a
    # pseudonym (membership, written when people are invited) the same in every snapshot
    during = aof_bytes(servers)[setup:]
    everything = aof_bytes(servers) + b"".join(s.read_bytes() for s in servers.snapshots)
    users = [u for us in members.values() for u in us]
    for secret_thing in (*pseudonyms, *users):
        assert secret_thing.encode() not in during, "the surveys wrote a person to the data server"
    for token in done_tokens:
        assert token.encode() not in everything, "a done token is on the data server's disk"
    for name in (b":done:", b"rp:later", b"rp:expiring", b"rp:limit"):
        assert name not in everything
    personal = [{n for n in names if any(p in n for p in pseudonyms)} for _, names in counted]
    assert all(p == personal[0] for p in personal) and len(personal[0]) == len(pseudonyms)

    # what closing did, as the admin is told it (numbers only)
    assert closed["tiny"] is not None and closed["tiny"].to_parent == 3
    assert closed["ops"] is not None and closed["ops"].dropped == 2
    assert closed["alone"] is not None and closed["alone"].dropped == 2
    status = await Admin(rt).run("slack:UADMIN", "round status alone", "de")
    assert "2 Ergebnisse wurden nicht gespeichert" in status
    assert "gemeinsamen Auswertung von ops" in await Admin(rt).run("slack:UADMIN", "round status tiny", "de")


async def test_a_restarted_sessions_redis_is_said_at_close(rt: Runtime, servers: Servers) -> None:
    await rt.teams.save_team(Team(id="ops", name="Ops", platform="slack", channel="C1"))
    await rt.teams.open_round("ops", OPENED, OPENED + timedelta(days=14))
    await finish(rt, "ops", "T9:UA", 2)
    client = redis_sync.Redis.from_url(servers.sessions_url)
    try:
        client.shutdown(nosave=True)
    except redis_sync.ConnectionError:
        pass
    with redis_process(servers.sessions_args, servers.sessions_port):
        closed = await rt.teams.close_round("ops")
        assert closed is not None and closed.lost
        status = await Admin(rt).run("slack:UADMIN", "round status ops", "en")
        assert "sessions Redis restarted during the round" in status and "at most 4" in status


async def test_admins_and_leads_learn_nothing_from_any_command_while_people_take_part(
    rt: Runtime, servers: Servers
) -> None:
    """Every chat command an admin or a lead has, answered before anyone took part, while one
    person is half-way, after one finished and after k finished: the same words each time. Only
    the round's end may tell whether k took part."""
    import re

    from bot.measures import Measures

    await rt.teams.save_team(
        Team(id="ops", name="Ops", platform="slack", channel="C1", leads=("slack:ULEAD",))
    )
    await Measures(rt, clock=lambda: OPENED - timedelta(days=7)).choose(
        "slack:ULEAD", "ops", path="A.0", role="Teamleitung"
    )
    now = OPENED + timedelta(days=2)
    admin = Admin(rt, clock=lambda: now)
    await admin.run("slack:UADMIN", "round open ops 14", "de")
    commands = ["team list", "round status ops", "summary ops", "measures ops", "report ops"]
    actors = ["slack:UADMIN", "slack:ULEAD"]
    url = re.compile(r"https?://\S+")

    async def everything() -> list[str]:
        return [url.sub("<link>", await admin.run(a, c, "de")) for a in actors for c in commands]

    seen = await everything()
    half = rt.person("slack", "T9:UHALF")
    await rt.teams.members.place([half], "ops")
    await rt.handle("slack", half, ev.Start("de"))
    for item in Q.items[:6]:
        await rt.handle("slack", half, ev.Answer(item.id, 3))
    assert await everything() == seen, "someone half-way shows"
    await finish(rt, "ops", "T9:UONE", 4)
    assert await everything() == seen, "one person finishing shows"
    for n in range(4):
        await finish(rt, "ops", f"T9:UMORE{n}", 1)
    assert await everything() == seen, "k people finishing shows during the round"
    audit = " ".join(str(e) for e in await rt.teams.audit_log())
    assert "UONE" not in audit and half not in audit
