"""Disclosure control through the real engine, the real completion script in a real Redis, and
the real weekly run and preview: the cases a curious lead, admin or group of colleagues would
try, and a property over random teams, answers, skips, completion times and missed runs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import classifier
from bot.measures import Measures
from bot.runtime import Runtime, runtime
from bot.settings import Settings
from bot.weekly import _chart_series, preview, run_due
from classifier import LoadType, Outcome, classify
from flows import State, keys
from flows import events as ev
from flows.publications import HistoryEntry
from flows.schedule import iso_week
from flows.teams import Team

Q = classifier.default()
OPENED = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday of 2026-W48, 08:00 in Berlin
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def report_time(week: int) -> datetime:
    """Monday 10:30 in Berlin, `week` weeks after the round opened (the report is due at 9)."""
    return OPENED + week * WEEK + timedelta(hours=2, minutes=30)


ALL = {i.id: 4 for i in Q.items}
LOW = {i.id: 1 for i in Q.items}
SKIP_ALL: dict[str, int | None] = {i.id: None for i in Q.items}


@dataclass
class World:
    rt: Runtime
    posts: list[tuple[str, str]] = field(default_factory=list)
    counter: int = 0

    async def poster(self, team: Team, text: str, chart: bytes | None) -> bool:
        self.posts.append((team.id, text))
        return True

    async def team(self, team_id: str, parent: str | None = None) -> None:
        await self.rt.teams.save_team(
            Team(
                id=team_id,
                name=team_id.title(),
                platform="slack",
                channel="C",
                lead_channel=f"L{team_id}",
                parent=parent,
            )
        )
        if await self.rt.teams.current_round(team_id) is None:
            await self.rt.teams.open_round(team_id, OPENED, OPENED + 10 * WEEK)

    async def finish(
        self, team_id: str, answers: dict[str, int | None], at: datetime, view: str | None = None
    ) -> bool:
        """One new member of the team takes the whole survey at `at`, and answers the extra
        question on the team's measure with `view` if it is asked. True when it was asked."""
        self.counter += 1
        person = self.rt.person("slack", f"T1:U{self.counter:05d}")
        await self.rt.teams.members.place([person], team_id)
        self.rt.conversations._clock = lambda: at
        await self.rt.conversations.handle(person, ev.Start("de"))
        for item in Q.items:
            await self.rt.conversations.handle(person, ev.Answer(item.id, answers.get(item.id)))
        session = await self.rt.conversations.session_of(person)
        if session is None or session.state is not State.FOLLOWUP:
            return False
        await self.rt.conversations.handle(person, ev.CheckBack(view))  # type: ignore[arg-type]
        return True

    async def run(self, now: datetime) -> None:
        await run_due(self.rt, now, self.poster)

    def last_post(self, team_id: str) -> str:
        return [t for team, t in self.posts if team == team_id][-1]


@pytest.fixture
async def world(redis_url: str, redis) -> AsyncIterator[World]:
    async with runtime(Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="e2e")) as rt:
        yield World(rt)


async def test_one_answerer_among_four_who_skip_publishes_nothing(world: World) -> None:
    await world.team("support")
    await world.finish("support", ALL, OPENED + DAY)
    for _ in range(4):
        await world.finish("support", SKIP_ALL, OPENED + DAY)
    await world.run(report_time(1))
    text = world.last_post("support")
    assert "noch nicht genug" in text
    for t in LoadType:
        assert Q.types[t].name("de") not in text
    await world.rt.teams.close_round("support")
    from bot.admin import Admin

    assert "nicht genug" in await Admin(world.rt).run("cli:x", "round status support", "de")


async def test_small_teams_reach_their_parent_only_as_one_sum_of_k_after_their_rounds_close(
    world: World,
) -> None:
    await world.team("dept")
    for team_id, n in (("small", 2), ("tiny", 3), ("mid", 6)):
        await world.team(team_id, parent="dept")
        for _ in range(n):
            await world.finish(team_id, ALL if team_id != "mid" else LOW, OPENED + DAY)
    for team_id in ("small", "tiny", "mid", "dept"):
        fields = [f.decode() for f in await world.rt.redis.hkeys(keys.counters(team_id))]
        n = sum(
            int(v)
            for f, v in (await world.rt.redis.hgetall(keys.counters(team_id))).items()
            if f.decode().endswith(":2026-W48|n")
        )
        assert n in (0, 5), f"{team_id}: {n} people written"
        assert team_id == "mid" or not fields, f"{team_id} wrote fewer than k"
    await world.run(report_time(1))
    assert "Gemeinsame Auswertung" not in world.last_post("dept") and "noch nicht genug" in world.last_post(
        "dept"
    )
    small_first = world.last_post("small")
    for team_id in ("small", "tiny"):  # their rounds end: 2 + 3 results join dept's pool, one sum of 5
        await world.rt.teams.close_round(team_id)
    await world.run(report_time(2))
    second = world.last_post("dept")
    assert "deutlich ausgeprägt" in second, "the five of small and tiny, as dept's own summary"
    same = [p.split("\n", 1)[1] for p in (small_first, world.last_post("small"))]
    assert same[0] == same[1], "a small team's lead reads the same lines every week"
    cells = await published_cells(world.rt, ["dept", "small", "tiny", "mid"], ["2026-W49", "2026-W50"])
    assert len(cells) == len(set(cells)), "a cell was published twice"


async def test_previews_after_a_missed_run_show_the_one_frozen_plan(world: World) -> None:
    await world.team("support")
    for _ in range(5):
        await world.finish("support", ALL, OPENED + DAY)
    wednesday = report_time(1) + 2 * DAY  # no worker ran on Monday
    before = await preview(world.rt, "support", wednesday)
    assert before is not None and "deutlich ausgeprägt" in before
    await world.finish("support", LOW, wednesday + timedelta(hours=1))  # one more, in week 49
    again = await preview(world.rt, "support", wednesday + timedelta(hours=2))
    assert again == before, "the preview never recomputes over closed cells"
    await world.run(wednesday + timedelta(hours=3))  # the missed run is caught up on the next tick
    assert world.last_post("support") == before
    await world.run(wednesday + timedelta(hours=4))
    assert len(world.posts) == 1, "one post per week"
    later = await preview(world.rt, "support", report_time(2) + 2 * DAY)
    assert later is not None and "noch nicht genug" in later, "next week stands on its own cells"


async def test_moving_a_team_between_parents_never_publishes_fewer_than_k(world: World) -> None:
    await world.team("a")
    await world.team("b")
    for team_id, parent, n in (("x", "a", 2), ("y", "a", 6), ("w", "b", 3)):
        await world.team(team_id, parent=parent)
        for _ in range(n):
            await world.finish(team_id, LOW, OPENED + DAY)
    x = await world.rt.teams.team("x")
    assert x is not None
    await world.rt.teams.save_team(x.model_copy(update={"parent": "b"}))  # an admin moves x to b
    for team_id in ("x", "w"):
        await world.rt.teams.close_round(team_id)  # x's 2 and w's 3: one sum of 5 in b
    await world.run(report_time(1))
    assert "kaum ausgeprägt" in world.last_post("b")
    for team_id in ("a", "b", "x", "y", "w"):  # every cell ever written holds k or more
        raw = await world.rt.redis.hgetall(keys.counters(team_id))
        sizes = [int(v) for f, v in raw.items() if (keys.parse_cell_field(f.decode()) or ("", ""))[1] == "n"]
        assert all(n >= 5 for n in sizes), (team_id, sizes)
    cells = await published_cells(world.rt, ["a", "b", "x", "y", "w"], ["2026-W49"])
    assert len(cells) == len(set(cells)) and {c[0] for c in cells} == {"b", "y"}


def test_chart_history_only_between_groups_of_ten() -> None:
    history = [
        HistoryEntry("2026-W47", {"A": "kaum", "B": "kaum"}, frozenset({"A"})),
        HistoryEntry("2026-W48", {"A": "teilweise", "B": "kaum"}, frozenset()),
    ]
    series = _chart_series(history, "2026-W49", {"A": "deutlich", "B": "kaum"}, frozenset({"A", "B"}))
    assert series == [("2026-W47", {"A": "kaum"}), ("2026-W49", {"A": "deutlich", "B": "kaum"})]
    small_now = _chart_series(history, "2026-W49", {"A": "deutlich"}, frozenset())
    assert small_now == [("2026-W49", {"A": "deutlich"})]


async def published_cells(rt: Runtime, team_ids: list[str], weeks: list[str]) -> list[tuple[str, str]]:
    out = []
    for week in weeks:
        for pub in (await rt.publications.publications(team_ids, week)).values():
            out += [(owner, w) for owner, windows in pub.cells.items() for w in windows]
    return out


def cells_of(cells: list[tuple[str, str]], team_id: str) -> list[tuple[str, str]]:
    return [c for c in cells if c[0] == team_id]


# --- the property ---------------------------------------------------------------------------------
TREES = [
    {"a": None},
    {"a": None, "b": None},
    {"dept": None, "a": "dept", "b": "dept", "c": "dept"},
    {"dept": None, "a": "dept", "b": "dept"},
]
answer = st.one_of(st.none(), st.integers(0, 4))
surveys = st.fixed_dictionaries({i.id: answer for i in Q.items})
views = st.sampled_from(["worse", "same", "some", "clear", "dk", None])


@st.composite
def histories(
    draw: st.DrawFn,
) -> tuple[
    dict[str, str | None],
    list[list[tuple[str, dict[str, int | None], int, str | None]]],
    list[str],
    int | None,
]:
    tree = draw(st.sampled_from(TREES))
    weeks = draw(st.integers(2, 4))
    completions = []
    for _ in range(weeks):
        week = []
        for team_id in tree:
            for _ in range(draw(st.integers(0, 7))):
                week.append((team_id, draw(surveys), draw(st.integers(0, 4)), draw(views)))
        completions.append(week)
    actions = draw(
        st.lists(
            st.sampled_from(["run", "preview", "both", "missed", "late"]), min_size=weeks, max_size=weeks
        )
    )
    k_exhaustion = draw(st.sampled_from([None, 7]))
    return tree, completions, actions, k_exhaustion


@given(histories())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_publication_holds_k_per_statement_and_uses_each_cell_once(redis_url: str, history) -> None:
    asyncio.run(_property(redis_url, *history))


async def _property(redis_url: str, tree, completions, actions, k_exhaustion) -> None:
    s = Settings(REDIS_URL=redis_url, RUHEPULS_SECRET="prop", RUHEPULS_MIN_GROUP_SIZE_EXHAUSTION=k_exhaustion)
    async with runtime(s) as rt:
        await rt.redis.flushdb()
        world = World(rt)
        for team_id, parent in sorted(tree.items(), key=lambda kv: kv[1] is not None):
            await world.team(team_id, parent)
            await Measures(rt, clock=lambda: OPENED - WEEK).choose(
                "cli:x", team_id, path="C.0", role="Teamleitung", check="next"
            )
        truth: dict[tuple[str, str], list[dict[str, int | None]]] = {}
        said: dict[tuple[str, str], list[str | None]] = {}  # the views given to the extra question
        pools: dict[str, list[tuple[dict[str, int | None], str | None]]] = {}  # waiting for k
        previews: list[tuple[str, str, str]] = []
        weeks_seen: set[str] = set()
        k = s.min_group_size
        for n, (week, action) in enumerate(zip(completions, actions, strict=True)):
            for team_id, answers, day, view in week:
                at = OPENED + n * WEEK + day * DAY + timedelta(hours=3)
                asked = await world.finish(team_id, answers, at, view)
                rnd = await rt.teams.current_round(team_id)
                assert rnd is not None
                with_result = classify(Q, answers).outcome is not Outcome.NO_RESULT
                assert asked == with_result, "the extra question comes exactly after a survey with a result"
                if not with_result:
                    continue
                pool = pools.setdefault(team_id, [])
                pool.append((answers, view))
                if len(pool) >= k:  # the k-th result writes the pool, in the week of the k-th
                    cell = (team_id, f"{rnd.id}:{iso_week(at)}")
                    truth.setdefault(cell, []).extend(a for a, _ in pool)
                    said.setdefault(cell, []).extend(v for _, v in pool)
                    pool.clear()
            now = report_time(n + 1) + (2 * DAY if action == "late" else timedelta(0))
            weeks_seen.add(iso_week(now))
            if action in ("preview", "both"):
                for team_id in tree:
                    text = await preview(rt, team_id, now)
                    assert text is not None
                    previews.append((team_id, iso_week(now), text))
            if action in ("run", "both", "late"):
                await world.run(now)
        final = report_time(len(completions) + 1)
        weeks_seen.add(iso_week(final))
        await world.run(final)

        exhausted = Q.item(Q.signpost.exhaustion_item).type
        need = {t: (max(k, k_exhaustion or k) if t is exhausted else k) for t in LoadType}
        used: list[tuple[str, str]] = []
        for week in sorted(weeks_seen):
            pubs = await rt.publications.publications(list(tree), week)
            for p in pubs.values():
                cells = [(owner, w) for owner, windows in p.cells.items() for w in windows]
                used += cells
                group = [a for c in cells for a in truth.get(c, [])]
                check_statements(p.text, group, need, k, bool(p.bands))
                own = [v for c in cells if c[0] == p.team for v in said.get(c, [])]  # only they were asked it
                check_view(p.text, own, k)
        for team_id, week, text in previews:  # a preview is exactly the frozen publication
            assert (await rt.publications.publications([team_id], week))[team_id].text == text
        stored = {
            (t, p.text)
            for w in weeks_seen
            for t, p in (await rt.publications.publications(list(tree), w)).items()
        }
        assert set(world.posts) <= stored, "a post differs from its frozen publication"
        assert len(used) == len(set(used)), "a cell was published twice"
        for owner, window in used:  # and no published cell is left in any counters hash
            fields = [f.decode() for f in await rt.redis.hkeys(keys.counters(owner))]
            assert not any(f.startswith(window + "|") for f in fields)
        for team_id in tree:  # every cell ever written holds at least k people
            raw = await rt.redis.hgetall(keys.counters(team_id))
            sizes = [
                int(v) for f, v in raw.items() if (keys.parse_cell_field(f.decode()) or ("", ""))[1] == "n"
            ]
            assert all(size >= k for size in sizes), sizes
        published = {c for c in used}
        for cell in truth:  # every cell is either published once or still pending, never lost
            fields = [f.decode() for f in await rt.redis.hkeys(keys.counters(cell[0]))]
            pending = any(f.startswith(cell[1] + "|") for f in fields)
            with_result = any(classify(Q, a).outcome is not Outcome.NO_RESULT for a in truth[cell])
            assert (cell in published) or pending or not with_result


def check_view(text: str, views: list[str | None], k: int) -> None:
    """The team's view of its measure is said only from k who gave one, and says the majority."""
    opinions = [v for v in views if v not in (None, "dk")]
    if "Sicht des Teams: noch nicht genug" in text:
        assert len(opinions) < k
    verdict = re.search(
        r"Sicht des Teams: (überwiegend eine Verbesserung|überwiegend keine Veränderung|"
        r"überwiegend eine Verschlechterung|geteilt)",
        text,
    )
    if verdict is None:
        return
    assert len(opinions) >= k, f"the view of a measure on {len(opinions)} people"
    better = sum(v in ("some", "clear") for v in opinions)
    if "Verbesserung" in verdict.group(1):
        assert 2 * better > len(opinions)
    elif "keine Veränderung" in verdict.group(1):
        assert 2 * opinions.count("same") > len(opinions)
    elif "Verschlechterung" in verdict.group(1):
        assert 2 * opinions.count("worse") > len(opinions)


def check_statements(
    text: str, group: list[dict[str, int | None]], need: dict[LoadType, int], k: int, has_bands: bool
) -> None:
    """Every statement in a published text is backed by enough people who answered what it is
    about; the group is computed from the raw answers, not from our counters."""
    results = [a for a in group if classify(Q, a).outcome is not Outcome.NO_RESULT]
    if not has_bands:
        assert "Muster im Team:\n" not in text
        return
    assert len(results) >= k
    for t in LoadType:
        name = Q.types[t].name("de")
        answered = [a for a in results if sum(a[i.id] is not None for i in Q.items_of(t)) >= 2]
        row = re.search(rf"• {re.escape(name)}: ([^\n]*)", text)
        if row:
            assert len(answered) >= need[t], f"band of {t} on {len(answered)} people"
            clear = sum(classify(Q, a).bands[t] is classifier.Band.DEUTLICH for a in answered)
            if "bei einigen" in row.group(1) or "bei vielen" in row.group(1):
                assert len(answered) >= 10 and clear >= 3 and len(answered) - clear >= 3
            if "Bericht)" in row.group(1):
                assert len(answered) >= 10
        room = Q.influence_item(t)
        both = [
            a
            for a in results  # who answered what a cause line and a tension field rest on
            if a[Q.systemic_item(t).id] is not None and (room is None or a[room.id] is not None)
        ]
        tension = re.search(r"Spannungsfelder[^:]*: ([^\n]*)", text)
        if tension and name in tension.group(1):
            assert room is not None, f"a tension field for {t}, which asks nothing about room"
            assert len(both) >= need[t], f"tension of {t} on {len(both)} people"
        if re.search(rf"• {re.escape(name)}: Das Team sieht die Ursache", text):
            assert len(both) >= need[t], f"the cause of {t} on {len(both)} people"
