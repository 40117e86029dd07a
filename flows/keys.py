"""Every Redis key name Ruhepuls uses, in one place.

All keys of one scope share a hash tag `{scope}`, so that a transition script touching a
session, its team's counters and its round's done tokens runs on Redis Cluster too. A scope is a
team id, or `solo` for people outside any team. No key carries a plain platform user id: people
appear only as a keyed hash (HMAC-SHA256 with the server secret), which cannot be reversed
without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Literal

PREFIX = "rp"
SOLO = "solo"
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def text(raw: object) -> str:
    """A key, field or value as Redis hands it back (bytes, or str where a client decodes)."""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def pseudonym(secret: bytes, platform: str, user_id: str) -> str:
    """A stable keyed hash of a platform user; 32 hex characters."""
    mac = hmac.new(secret, f"{platform}\x1f{user_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _tag(scope: str) -> str:
    if not _SAFE.match(scope):
        raise ValueError("scope must be 1-64 characters of A-Z a-z 0-9 _ . -")
    return f"{PREFIX}:{{{scope}}}"


def session(scope: str, person: str) -> str:
    """Hash with `v` (version), while a survey is in progress `d` (the session), and `e:<id>`
    for each platform event already applied (dedup of re-deliveries)."""
    return f"{_tag(scope)}:s:{person}"


def counters(scope: str) -> str:
    """Hash of a team's aggregate counters not yet published: field `<round>:<week>|<name>`
    per cell and counter (see classifier.aggregate), and `<round>|n` per round (people with a
    result, compared with k once the round has closed)."""
    return f"{_tag(scope)}:agg"


def cell_field(round_id: str, window: str, name: str) -> str:
    """One counter of one cell: `<round>:<week>|<name>`."""
    return f"{round_id}:{window}|{name}"


def cell_fields(round_id: str, window: str, counters: Mapping[str, int]) -> dict[str, int]:
    """A cell's counters as hash fields."""
    return {cell_field(round_id, window, name): inc for name, inc in counters.items()}


def parse_cell_field(field: str) -> tuple[str, str] | None:
    """(`<round>:<week>`, counter name) of a cell field; None for a per-round total."""
    window, sep, name = field.partition("|")
    if not sep or ":" not in window:
        return None
    return window, name


def round_total_field(round_id: str) -> str:
    return f"{round_id}|n"


def history(scope: str) -> str:
    """List of the team's published summaries (bands in words per week), for trend and chart."""
    return f"{_tag(scope)}:history"


def published(scope: str) -> str:
    """List of the team's summaries as posted (text, bands, what was said of its measures), for
    the team report: only what reached the lead channel."""
    return f"{_tag(scope)}:published"


def measures(scope: str) -> str:
    """Hash of the team's record of measures: id -> the measure (JSON, no person in it)."""
    return f"{_tag(scope)}:measures"


def stufenplan(scope: str) -> str:
    """String (JSON): the team's Stufenplan, its version and dates (classifier.stufenplan)."""
    return f"{PREFIX}:{{{scope}}}:stufenplan"


def measure_draft(person: str) -> str:
    """A lead's measure being chosen in a guided chat dialog (Telegram), a few minutes."""
    return f"{PREFIX}:mdraft:{person}"


def publication(scope: str, week: str) -> str:
    """Hash of one weekly post: status and the rendered payload."""
    return f"{_tag(scope)}:pub:{week}"


def report_run(scope: str, week: str) -> str:
    """A unit's weekly run: `running` while a worker holds it, `done` once everything is posted."""
    return f"{_tag(scope)}:run:{week}"


def plan(scope: str, week: str) -> str:
    """Set once a unit's plan for the week is frozen (its publications stored)."""
    return f"{_tag(scope)}:plan:{week}"


def plan_lock(scope: str, week: str) -> str:
    """Held while one process freezes a unit's plan for the week."""
    return f"{_tag(scope)}:planning:{week}"


# --- teams and rounds (operational data; never joined with answers) ---------------------------
TEAMS = f"{PREFIX}:teams"
"""Set of team ids."""
AUDIT = f"{PREFIX}:audit"
"""Stream of admin actions: who, what, when; never an answer."""
LATER = f"{PREFIX}:later"
"""Who asked to be invited again later: platform address and pseudonym, scored by when."""
DUE_SHARDS = 16


def due(shard: int) -> str:
    """Sorted set: team ids scored by when each next needs the worker (invite, remind, close),
    one of DUE_SHARDS, each in a slot of its own (`flows.due`)."""
    return f"{PREFIX}:due:{{{shard}}}"


def outgoing(platform: str, queue: str) -> str:
    """List: the cards waiting to be shown to a person (or in a chat), in order (sessions Redis);
    `:lock` beside it names the one process delivering them. Both share their hash tag with the
    set of waiting queues of the same first digit (`outgoing_set`)."""
    return f"{outgoing_set(platform, queue[:1])}:{queue}"


def outgoing_set(platform: str, shard: str) -> str:
    """Set of the queues (pseudonyms) starting with `shard` whose cards wait, so that any
    process can take a queue over."""
    return f"{PREFIX}:{{oq:{platform}:{shard}}}"


def team_pattern(team_id: str) -> str:
    """A SCAN pattern for every key of one team (all carry its hash tag)."""
    return _tag(team_id).replace("{", "\\{").replace("}", "\\}") + ":*"


def team_key_kind(key: str) -> str:
    """The part of a team key after its hash tag, without ids: `counters`, `round`, `pub`, …"""
    rest = key.split("}:", 1)[-1]
    head = rest.split(":", 1)[0]
    return {"agg": "counters", "s": "sessions"}.get(head, head)


def team(team_id: str) -> str:
    """The team's definition (JSON)."""
    return f"{_tag(team_id)}:team"


def round_hash(team_id: str) -> str:
    """Hash of the team's current (or last) round."""
    return f"{_tag(team_id)}:round"


def done(team_id: str, round_id: str) -> str:
    """Set of keyed hashes of people who finished this round (stops double answers)."""
    return f"{_tag(team_id)}:done:{round_id}"


# --- the completion pool (sessions Redis, memory only) and what reaches the data Redis ----------
FOLD = "fold"
"""The pool a closed round's remainder (fewer than k) joins in its parent team."""


def pool(team_id: str, round_id: str) -> str:
    """Hash: the summed counters of a round's completions not yet written (fewer than k people),
    `@w` the week of the latest, `@r` the round; sessions Redis only."""
    return f"{_tag(team_id)}:pool:{round_id}"


def batches(team_id: str) -> str:
    """Set of the ids of full pools (batches) waiting to be written; sessions Redis only."""
    return f"{_tag(team_id)}:batches"


def batch(team_id: str, batch_id: str) -> str:
    """Hash: one full pool on its way to the data Redis (or, `@to`, to the parent's pool)."""
    return f"{_tag(team_id)}:batch:{batch_id}"


def closed(team_id: str, round_id: str) -> str:
    """Set when a round closes, so that a late completion joins no pool; sessions Redis only."""
    return f"{_tag(team_id)}:closed:{round_id}"


def alive(team_id: str, round_id: str) -> str:
    """Set when a round opens: its absence later says the sessions Redis lost its pools."""
    return f"{_tag(team_id)}:alive:{round_id}"


def merged(team_id: str) -> str:
    """Set of the batch ids merged into this team's fold pool (each merged once)."""
    return f"{_tag(team_id)}:merged"


def written(team_id: str) -> str:
    """Set of the batch ids written to the team's counters (each written once); data Redis."""
    return f"{_tag(team_id)}:written"


Kind = Literal["inv", "rem1", "rem2"]
"""What went out: the invitation, or the first or second reminder."""
KINDS: tuple[Kind, ...] = ("inv", "rem1", "rem2")


def sent(team_id: str, round_id: str, kind: Kind, claimed: bool = False) -> str:
    """Set of pseudonyms an invitation or reminder went to (`claimed`: was about to go to)."""
    return f"{_tag(team_id)}:{kind}{'-claimed' if claimed else ''}:{round_id}"


def retries(team_id: str, round_id: str, kind: Kind) -> str:
    """Hash: pseudonym -> `tries:next try (epoch seconds)` for a message that failed to go out
    (sessions Redis: a per-person record, kept in memory only)."""
    return f"{_tag(team_id)}:{kind}-retry:{round_id}"


def quiet(team_id: str, round_id: str) -> str:
    """Set of pseudonyms who asked for no reminder this round (sessions Redis, memory only)."""
    return f"{_tag(team_id)}:quiet:{round_id}"


def send_lock(team_id: str) -> str:
    return f"{_tag(team_id)}:sending"


def members(team_id: str) -> str:
    """Set of platform user ids who joined with the team's join code (Telegram)."""
    return f"{_tag(team_id)}:members"


def limit(platform: str, workspace: str, method: str, chat: str = "") -> str:
    """A rate-limit bucket: platform, workspace, API method and (hashed) chat; no person."""
    return f"{PREFIX}:limit:{platform}:{workspace}:{method}" + (f":{chat}" if chat else "")


def who(person: str) -> str:
    """The team a pseudonymous person belongs to."""
    return f"{PREFIX}:who:{person}"


def join_code(code: str) -> str:
    return f"{PREFIX}:join:{code}"


def reference(platform: str, kind: Literal["person", "team"], hashed: str) -> str:
    """How a platform reaches a person or a team proactively; `hashed` is a keyed hash."""
    return f"{PREFIX}:ref:{platform}:{kind}:{hashed}"
