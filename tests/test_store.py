"""The Redis store and the conversation service against a real redis-server."""

from __future__ import annotations

import asyncio

import pytest
from conftest import NOW, free_port, team_with_round
from redis.asyncio import Redis

import flows
from flows import engine, keys
from flows import events as ev
from flows import messages as msg
from flows.context import Ctx
from flows.teams import TeamStore

SECRET = b"test-secret"
ITEMS = [i.id for i in flows.Config().questionnaire.items]


def ref(user: str = "U1", scope: str = flows.SOLO) -> flows.Ref:
    return flows.Ref(scope, flows.pseudonym(SECRET, "slack", user))


async def started(conv: flows.Conversations, r: flows.Ref) -> None:
    await conv.handle(r.person, ev.Start("de"))


async def test_answers_are_saved_and_survive_a_new_service(conversations, store, config) -> None:
    r = ref()
    await started(conversations, r)
    await conversations.handle(r.person, ev.Answer("a1", 3), event_id="e1")
    again = flows.Conversations(store, config)
    session, version = await again.store.load(r)
    assert session is not None and session.index == 1 and session.answers[0] == "3"
    assert version == 2


async def test_redelivered_event_is_dropped(conversations, store) -> None:
    r = ref()
    await started(conversations, r)
    first = await conversations.handle(r.person, ev.Answer("a1", 3), event_id="evt-1")
    second = await conversations.handle(r.person, ev.Answer("a1", 3), event_id="evt-1")
    assert first.messages and not first.duplicate
    assert second.duplicate and second.messages == ()
    session, _ = await store.load(r)
    assert session is not None and session.index == 1


async def test_concurrent_double_clicks_advance_once(conversations, store) -> None:
    r = ref()
    await started(conversations, r)
    results = await asyncio.gather(
        *(conversations.handle(r.person, ev.Answer("a1", v % 5), event_id=f"click-{v}") for v in range(10))
    )
    session, _ = await store.load(r)
    assert session is not None and session.index == 1
    questions = [m for h in results for m in h.messages if isinstance(m, msg.Question)]
    assert {q.item_id for q in questions} == {"b1"}  # everyone sees the next question


async def test_ttl_is_set_and_refreshed(conversations, redis) -> None:
    r = ref()
    await started(conversations, r)
    key = keys.session(r.scope, r.person)
    ttl = await redis.ttl(key)
    assert 7 * 86_400 - 5 <= ttl <= 7 * 86_400
    await redis.expire(key, 100)
    await conversations.handle(r.person, ev.Answer("a1", 1))
    assert await redis.ttl(key) > 100


async def test_expired_session_starts_fresh(conversations, redis) -> None:
    r = ref()
    await started(conversations, r)
    await conversations.handle(r.person, ev.Answer("a1", 1))
    await redis.delete(keys.session(r.scope, r.person))  # what expiry does
    out = await conversations.handle(r.person, ev.Answer("b1", 1))
    assert isinstance(out.messages[0], msg.Notice)  # "this survey is no longer running"


async def test_completion_keeps_only_counters_in_sums_of_k(conversations, teams, redis) -> None:
    team = "team-7"
    people = [ref(f"U{n}", team) for n in range(6)]
    round_id = await team_with_round(teams, team, [p.person for p in people])
    counters_key = keys.counters(team)
    for n, p in enumerate(people[:5]):
        assert not await redis.exists(counters_key), f"written with {n} people in the pool"
        await started(conversations, p)
        for item in ITEMS:
            await conversations.handle(p.person, ev.Answer(item, 2 if item != "b2" else None))
    raw = {k.decode(): int(v) for k, v in (await redis.hgetall(counters_key)).items()}
    cell = f"{round_id}:2026-W48|"
    counters = {k.removeprefix(cell): v for k, v in raw.items() if k.startswith(cell)}
    assert counters["n"] == 5 and counters["b:A:teilweise"] == 5 and counters["m:A"] == 5 * 12
    assert counters["x:A"] == 5 and counters["xs:A"] == 10  # both of A's tension items answered
    assert raw[f"{round_id}|n"] == 5
    # a second survey in the same round is refused, and counts nothing
    again = await conversations.handle(people[0].person, ev.Start("de"))
    assert "schon teilgenommen" in again.messages[0].text
    await started(conversations, people[5])  # one more: waits in the pool, dropped at close
    for item in ITEMS:
        await conversations.handle(people[5].person, ev.Answer(item, 2))
    assert (await teams.respondents(team, round_id)) == 5
    closed = await teams.close_round(team)
    assert closed is not None and closed.dropped == 1 and not closed.lost
    assert (await teams.respondents(team, round_id)) == 5
    # every key: no user id, no answer outside the counters, no done token left after close
    for key in await redis.keys("*"):
        k = key.decode()
        assert "U0" not in k and "U1" not in k and ":done:" not in k and ":pool:" not in k
        kind = await redis.type(key)
        if k == counters_key or k.startswith(
            ("rp:teams", "rp:who:", f"rp:{{{team}}}:team", f"rp:{{{team}}}:round", f"rp:{{{team}}}:closed:")
        ):
            continue
        if k == keys.written(team):
            assert await redis.scard(key) == 1  # one random batch id: one sum of five
            continue
        if kind == b"hash":
            assert set(await redis.hkeys(key)) <= {b"v", b"f"}, f"{k} still holds session data"
        else:
            assert kind == b"set" and ":e:" in k, k
    assert b"key" not in await redis.hkeys(keys.round_hash(team))


async def test_final_answer_counted_once_under_concurrency(conversations, teams, redis) -> None:
    r = ref("U9", "team-x")
    round_id = await team_with_round(teams, "team-x", [r.person])
    await started(conversations, r)
    for item in ITEMS[:-1]:
        await conversations.handle(r.person, ev.Answer(item, 1))
    results = await asyncio.gather(
        *(conversations.handle(r.person, ev.Answer(ITEMS[-1], 1), event_id=f"last-{n}") for n in range(8))
    )
    assert sum(h.finished for h in results) == 1
    assert int(await redis.hget(keys.pool("team-x", round_id), "n")) == 1


async def test_a_survey_outlasting_its_round_counts_nothing(conversations, teams, redis) -> None:
    r = ref("U5", "team-y")
    await team_with_round(teams, "team-y", [r.person])
    await started(conversations, r)
    for item in ITEMS[:-1]:
        await conversations.handle(r.person, ev.Answer(item, 3))
    await teams.close_round("team-y")
    out = await conversations.handle(r.person, ev.Answer(ITEMS[-1], 3))
    assert out.finished
    assert await redis.keys("rp:{team-y}:agg*") == [] and await redis.keys("rp:{team-y}:done:*") == []
    assert await redis.keys("rp:{team-y}:pool:*") == []


async def test_unreadable_session_is_replaced(conversations, redis) -> None:
    r = ref()
    await redis.hset(keys.session(r.scope, r.person), mapping={"v": 4, "d": "{garbage"})
    out = await conversations.handle(r.person, ev.Start("de"))
    assert isinstance(out.messages[0], msg.Question) and out.messages[0].number == 1


async def test_redis_down_raises_and_loses_nothing(conversations, config, redis_url) -> None:
    r = ref()
    await started(conversations, r)
    await conversations.handle(r.person, ev.Answer("a1", 4))
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    broken = flows.Conversations(flows.RedisStore(dead, items=12, ttl_seconds=60), config)
    with pytest.raises(flows.StoreUnavailable):
        await broken.handle(r.person, ev.Answer("b1", 4))
    await dead.aclose()
    session, _ = await conversations.store.load(r)
    assert session is not None and session.answers[:2] == "4-"


def test_keys_never_hold_a_plain_user_id() -> None:
    p = flows.pseudonym(SECRET, "slack", "U12345")
    assert "U12345" not in keys.session("solo", p) and len(p) == 32
    assert p != flows.pseudonym(b"other", "slack", "U12345")
    assert keys.session("t1", p).startswith("rp:{t1}:") and keys.counters("t1").startswith("rp:{t1}:")
    with pytest.raises(ValueError):
        keys.session("bad scope}", p)


class CountingRedis(Redis):
    """redis-py's client, counting the commands it sends (each is one round trip here)."""

    sent: list[str]

    async def execute_command(self, *args, **options):
        self.sent.append(str(args[0]))
        return await super().execute_command(*args, **options)


async def test_an_answer_costs_one_round_trip(redis_url, config, redis) -> None:
    client = CountingRedis.from_url(redis_url)
    client.sent = []
    teams = TeamStore(client)
    store = flows.RedisStore(client, items=12, ttl_seconds=600)
    conv = flows.Conversations(store, config, teams=teams, round_ttl=60)  # no cache expiry mid-test
    r = ref("U77", "team-rt")
    await team_with_round(teams, "team-rt", [r.person])
    await started(conv, r)
    await conv.handle(r.person, ev.Answer("a1", 2))
    client.sent.clear()
    for n, item in enumerate(ITEMS[1:6]):
        await conv.handle(r.person, ev.Answer(item, 2), event_id=f"rt-{n}")
    assert client.sent == ["EVALSHA"] * 5
    await client.aclose()


async def test_answers_through_two_processes_in_turn_cost_one_round_trip_each(
    redis_url, config, redis
) -> None:
    """Issue 29: clicks spread over several web processes (no sticky sessions) cost one round
    trip each, as in one process: neither process reads the session before an answer."""
    clients, processes = [], []
    for _ in range(2):
        client = CountingRedis.from_url(redis_url)
        client.sent = []
        store = flows.RedisStore(client, items=12, ttl_seconds=600)
        clients.append(client)
        processes.append(flows.Conversations(store, config, teams=TeamStore(client), round_ttl=60))
    r = ref("U79", "team-rr")
    await team_with_round(TeamStore(redis), "team-rr", [r.person])
    for conv in processes:  # each process has met the person's team once (cached for a minute)
        await conv.handle(r.person, ev.Help())
    await started(processes[0], r)
    for client in clients:
        client.sent.clear()
    for n, item in enumerate(ITEMS[:11]):
        handled = await processes[n % 2].handle(r.person, ev.Answer(item, n % 5), event_id=f"rr-{n}")
        (question,) = [m for m in handled.messages if isinstance(m, msg.Question)]
        assert question.item_id == ITEMS[n + 1], "each process shows the next question"
    assert clients[0].sent == ["EVALSHA"] * 6 and clients[1].sent == ["EVALSHA"] * 5
    session, _ = await flows.RedisStore(redis, items=12, ttl_seconds=600).load(r)
    assert session is not None and session.answers == "01234012340-" and session.index == 11
    handled = await processes[1].handle(r.person, ev.Answer(ITEMS[11], 4), event_id="rr-11")
    assert any(isinstance(m, msg.Result) for m in handled.messages), "the last answer finishes"
    for client in clients:
        await client.aclose()


async def test_the_scripts_answer_is_the_engines_in_every_state(store, config, redis) -> None:
    """`RedisStore.record` (transition.lua) writes an answer only where the engine's rule is
    `record`, and then exactly the session the engine makes; everywhere else it changes nothing
    and hands back the session as it is."""
    q = config.questionnaire
    r = ref("URULES")
    key = keys.session(r.scope, r.person)
    recorded = refused = 0
    for state in flows.State:
        for index in (0, 1, 5, 10, 11):
            for version in (q.version, "2020.1", None):
                before = flows.Session(state, "en", index, "4" * index + "-" * (12 - index), "r1", version)
                for clicked in {index, max(0, index - 1), min(11, index + 1)}:
                    for value in (0, 3, None):
                        event = ev.Answer(ITEMS[clicked], value)
                        await redis.delete(key)
                        await redis.hset(key, mapping={"v": 7, "d": before.dumps()})
                        out = await store.record(r, clicked, value, q.version, None)
                        stored = await redis.hget(key, "d")
                        carried = before.carried_over(q.version, q.kept_from(version), tuple(ITEMS))
                        ctx_rule = engine.rule_for(
                            Ctx(config, "en", NOW, "r1", False, None, False, True, None),
                            carried,
                            event,
                        )
                        if out.status == "ok":
                            recorded += 1
                            assert ctx_rule.action.__name__ == "record" and version == q.version
                            step = engine.step(config, before, event, now=NOW, round_id="r1")
                            assert stored.decode() == step.session.dumps()
                            assert out.current == before and out.version == 8
                        else:
                            refused += 1
                            assert out.status == "conflict" and out.version == 7
                            assert stored.decode() == before.dumps(), "nothing changed"
                            assert out.current == before
                            assert ctx_rule.action.__name__ != "record" or version != q.version or index == 11
    assert recorded and refused


async def test_another_process_moving_the_session_is_noticed(conversations, store, config, teams) -> None:
    r = ref("U78")
    await started(conversations, r)
    other = flows.Conversations(store, config, teams=teams)  # a second web process
    await other.handle(r.person, ev.Answer("a1", 1))
    out = await conversations.handle(r.person, ev.Answer("a1", 4))  # stale in this process's cache
    assert out.messages[0].item_id == "b1"
    session, _ = await store.load(r)
    assert session.answers[:2] == "1-"


async def test_a_survey_started_under_the_older_questionnaire_loses_only_its_reworded_answers(
    conversations, store, redis, config
) -> None:
    """Issue 23: a2, d1 and d2 were reworded in 2026.12-2 (d2 now asks about feelings shown, not
    about stepping out). A survey begun before, stored without a version, goes on: answers to
    the unchanged items stay, those to the reworded ones count as not given, and no sentence of
    the result rests on an answer to the older wording."""
    q = config.questionnaire
    assert {i.id for i in q.items if i.since} == {"a2", "d1", "d2"}
    r = ref("UOLD")
    old = "a" + "de" + "08" + "|" + "44444444----" + "|"  # eight answered, the old format
    await redis.hset(keys.session(r.scope, r.person), mapping={"v": 5, "d": old})
    handled = await conversations.handle(r.person, ev.Answer("a3", 4), event_id="old-1")
    assert any(isinstance(m, msg.Question) and m.item_id == "b3" for m in handled.messages)
    session, _ = await store.load(r)
    assert session is not None and session.version == q.version
    kept = dict(zip(ITEMS, session.answers, strict=True))
    assert {i for i, ch in kept.items() if ch == "-"} == {"a2", "d1", "d2", "b3", "c3", "d3"}
    assert kept["a1"] == kept["b1"] == kept["c1"] == kept["b2"] == kept["c2"] == kept["a3"] == "4"
    for item in ("b3", "c3", "d3"):
        handled = await conversations.handle(r.person, ev.Answer(item, 0), event_id=f"old-{item}")
    (result,) = [m for m in handled.messages if isinstance(m, msg.Result)]
    assert "Freundlich" not in " ".join(result.lines), "nothing said of an answer to the old d2"
    raw = await redis.hget(keys.session(r.scope, r.person), "d")
    assert raw is None, "finished: the answers are gone"


def test_sessions_of_either_format_are_read_and_a_bad_version_is_refused() -> None:
    from flows.session import Session, SessionDataError

    assert Session.loads("ade01|3-----------|", 12).version is None
    s = Session.loads("ade01|3-----------|r1|2026.12-2", 12)
    assert s.version == "2026.12-2" and Session.loads(s.dumps(), 12) == s
    for bad in ("ade01|3-----------||x y", "ade01|3-----------||a|b"):
        with pytest.raises(SessionDataError):
            Session.loads(bad, 12)
