"""What every command needs: settings, a Redis connection (embedded if REDIS_URL is unset) and
the conversation service; closed again in reverse order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from saq.queue.redis import RedisQueue

import classifier
import flows
from classifier import Lang
from classifier.text import TextCatalog
from flows import texts
from flows.measures import MeasureStore
from flows.publications import PublicationStore
from flows.snoozes import Snoozes
from flows.teams import Round, TeamStore

from .embedded_redis import EmbeddedRedis
from .settings import Settings

log = logging.getLogger("ruhepuls")

QUEUE = "ruhepuls"
QUEUE_TIMEOUT = 10.0
"""saq's queue blocks on Redis for a while by design: its client may wait this long."""


class QueueNeedsPlainRedis(RuntimeError):
    """saq's queue does not run on Redis Cluster: it needs RUHEPULS_QUEUE_URL."""


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    conversations: flows.Conversations
    secret: bytes

    teams: TeamStore
    queue: RedisQueue
    publications: PublicationStore
    sessions: Redis
    """Where surveys in progress live (the same server as `redis` unless configured apart)."""
    snoozes: Snoozes

    async def enqueue_invitations(self, team_id: str) -> None:
        """Ask the worker to send a team's invitations now (a job key keeps it to one job)."""
        await self.queue.enqueue("team", team_id=team_id, key=f"team:{team_id}", **TEAM_JOB)

    async def handle(
        self,
        platform: str,
        person: str,
        event: flows.events.Event,
        *,
        event_id: str | None = None,
        lang: Lang = "de",
        reach: tuple[str, str] | None = None,
        watch: str | None = None,
    ) -> flows.Handled:
        """`conversations.handle`, counted for the metrics by platform and event kind. When the
        survey store cannot be reached nothing changed, and what to say is the one notice that
        it is briefly unavailable (`unavailable`: to be delivered without asking Redis)."""
        from . import metrics

        metrics.EVENTS.labels(platform, metrics.kind_of(event)).inc()
        try:
            with metrics.timed():
                return await self.conversations.handle(
                    person, event, event_id=event_id, lang=lang, reach=reach, watch=watch
                )  # completions are not counted live: see metrics.RESULTS_WRITTEN
        except flows.FlowError as exc:
            metrics.UNAVAILABLE.labels(platform).inc()
            log.warning("survey store unavailable: %s", type(exc).__name__)
            text = self.conversations.config.texts.unavailable(lang)
            return flows.Handled((flows.messages.Notice(text),), unavailable=True)

    async def close_round(self, team_id: str, actor: str, now: datetime) -> Round | None:
        """Close a team's open round (see TeamStore.close_round), audited with what became of
        results that never made a group of k (numbers only), counted for the metrics."""
        from . import metrics

        closed = await self.teams.close_round(team_id)
        detail = "-"
        if closed is not None:
            detail = (
                f"{closed.id} to_parent={closed.to_parent} dropped={closed.dropped} lost={int(closed.lost)}"
            )
            metrics.RESULTS_DROPPED.inc(closed.dropped)
            if closed.lost:
                metrics.POOLS_LOST.inc()
        await self.teams.audit(actor, "round close", team_id, now, detail)
        return closed

    def person(self, platform: str, user_id: str) -> str:
        """A platform user's pseudonym; the user id itself is never stored with a survey."""
        return flows.pseudonym(self.secret, platform, user_id)


TEAM_JOB: dict[str, int] = {"timeout": 900, "retries": 2, "heartbeat": 15}
"""A team's job: one per team (its key), retried after a failure, and swept within about 15 s
when the worker running it died (the job says it is alive every 5 s), so a crash holds up that
team for seconds, not for the job's timeout."""


def preflight(extra: Iterable[TextCatalog] = ()) -> list[str]:
    """Load every file a conversation, a summary or the data sheet reads at run time, so that
    an installation missing one fails at start (and in `ruhepuls check`), not at the first
    message. Raises classifier.QuestionnaireError naming the file."""
    from classifier.summary_text import summary_texts

    from .privacy import privacy_texts
    from .texts import bot_texts, report_texts

    q = classifier.default()
    loaded = [
        texts.texts(),
        summary_texts(),
        bot_texts(),
        privacy_texts(),
        report_texts(),
        *extra,
    ]
    scripts = flows.store.script_sources()
    return [
        f"questionnaire {q.version}: {len(q.items)} items, languages {', '.join(q.languages)}",
        f"texts: {', '.join(type(t).__name__ for t in loaded)}",
        f"redis scripts: {', '.join(sorted(scripts))}",
    ]


def flow_config(settings: Settings) -> flows.Config:
    return flows.Config(
        questionnaire=classifier.default(),
        texts=texts.texts(),
        min_group_size=settings.min_group_size,
        session_ttl_days=settings.session_ttl_days,
        contacts=settings.support_contacts,
        offer=settings.support_offer,
        intro_note=settings.intro_note,
    )


def _resilience(timeout: float = 0.8) -> dict[str, Any]:
    """A client whose pooled connections survive a Redis restart or failover unnoticed, and whose
    every wait is bounded: a command that meets a stale connection, or no answer within
    `timeout` seconds (a hung or failed-over server), is retried once on a fresh connection
    (after Sentinel was asked again). At most about 2 × timeout + 0.1 s: a click is answered
    inside Slack's 3 s whatever Redis does. Every write Ruhepuls sends is safe to repeat: the
    transition and pool scripts check their event id, version and done token, so a retry after
    a lost reply changes nothing twice."""
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": min(timeout, 0.5),
        "retry": Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.1), retries=1),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


MAX_CONNECTIONS = 256
"""Connections one process keeps to one Redis. Beyond them a command waits for a free one
(at most its timeout, so a click still answers inside Slack's 3 s) instead of failing: a worker serving many teams side by side, each
with several sends in flight, asks for more than redis-py's default 100 at a Monday's peak."""


def connect(url: str, timeout: float = 0.8) -> Redis:
    from redis.asyncio import BlockingConnectionPool

    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=timeout, **_resilience(timeout)
    )
    client = Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # closed with the client, as from_url's would be
    return client


def connect_sentinel(sentinels: list[tuple[str, int]], master: str, timeout: float = 0.8) -> Redis:
    """The current master of `master` as the Sentinels name it; after a failover the next
    command asks them again (the retry above covers the moment in between)."""
    from redis.asyncio.sentinel import Sentinel

    sentinel = Sentinel(sentinels, socket_timeout=min(timeout, 0.5), socket_connect_timeout=0.5)  # type: ignore[no-untyped-call,unused-ignore]
    client: Redis = sentinel.master_for(master, max_connections=MAX_CONNECTIONS * 4, **_resilience(timeout))
    return client


def connect_cluster(url: str, timeout: float = 0.8) -> Redis:
    """A Redis Cluster client. Every multi-key script and transaction Ruhepuls runs stays in one
    hash slot (a team's keys share its `{team}` tag; everything else touches one key), so the
    same code runs on one Redis and on a cluster."""
    from redis.asyncio.cluster import RedisCluster

    resilience = _resilience(timeout)
    cluster = RedisCluster.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=min(timeout, 0.5), retry=resilience["retry"]
    )
    return cast(Redis, cluster)  # the commands Ruhepuls uses are the same on both


async def is_cluster(url: str) -> bool:
    """Does the Redis at `url` run in cluster mode? (Unreachable at start: taken as plain, so the
    web app still answers "briefly unavailable"; set REDIS_CLUSTER to say it.)"""
    probe = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        info = await probe.info("cluster")
        return bool(info.get("cluster_enabled"))
    except (RedisConnectionError, RedisTimeoutError, OSError):
        return False
    finally:
        await probe.aclose()


@contextlib.asynccontextmanager
async def runtime(settings: Settings, clock: Callable[[], datetime] | None = None) -> AsyncIterator[Runtime]:
    """Connect (starting the embedded Redis if REDIS_URL is unset); `clock` is for tests."""
    embedded: list[EmbeddedRedis] = []
    url, sessions_url = settings.redis_url, settings.session_redis_url
    if not settings.external_redis:
        embedded = [EmbeddedRedis(settings.data_dir), EmbeddedRedis(settings.data_dir, volatile=True)]
        url, sessions_url = (e.start() for e in embedded)
    cluster = False
    if settings.sentinels:
        redis = connect_sentinel(settings.sentinels, settings.redis_sentinel_master, settings.redis_timeout)
    else:
        assert url is not None
        cluster = settings.redis_cluster if settings.redis_cluster is not None else await is_cluster(url)
        redis = (
            connect_cluster(url, settings.redis_timeout) if cluster else connect(url, settings.redis_timeout)
        )
    sessions = redis
    if settings.session_sentinel_list and settings.external_redis:  # its own, through Sentinel
        sessions = connect_sentinel(
            settings.session_sentinel_list, settings.session_sentinel_master, settings.redis_timeout
        )
    elif sessions_url:  # a server of its own for surveys in progress: a plain Redis or a Cluster
        sessions = (
            connect_cluster(sessions_url, settings.redis_timeout)
            if await is_cluster(sessions_url)
            else connect(sessions_url, settings.redis_timeout)
        )
    if cluster and not settings.queue_url:
        await redis.aclose()
        raise QueueNeedsPlainRedis(
            "the data Redis is a cluster and saq needs a plain Redis for its queue: set RUHEPULS_QUEUE_URL"
        )
    # saq's queue waits in blocking commands: a client of its own with a generous timeout
    if settings.queue_url:
        queue_redis = connect(settings.queue_url, QUEUE_TIMEOUT)
    elif settings.sentinels:
        queue_redis = connect_sentinel(settings.sentinels, settings.redis_sentinel_master, QUEUE_TIMEOUT)
    else:
        assert url is not None
        queue_redis = connect(url, QUEUE_TIMEOUT)
    secret = settings.secret_bytes()
    try:
        cfg = flow_config(settings)
        store = flows.RedisStore(
            sessions,
            items=len(cfg.questionnaire.items),
            ttl_seconds=settings.session_ttl_seconds,
            data=redis,
            event_secret=secret,
            pool_size=settings.min_group_size,
        )
        from . import metrics

        store.pools.on_written = metrics.RESULTS_WRITTEN.inc
        teams = TeamStore(redis, secret, store.pools)
        snoozes = Snoozes(sessions)  # follows one person's activity: memory only
        conversations = flows.Conversations(
            store, cfg, clock, teams=teams, snoozes=snoozes, measures=MeasureStore(redis)
        )
        queue = RedisQueue(queue_redis, name=QUEUE)
        yield Runtime(
            settings,
            redis,
            conversations,
            secret,
            teams,
            queue,
            PublicationStore(redis),
            sessions,
            snoozes,
        )
    finally:
        await redis.aclose()
        if sessions is not redis:
            await sessions.aclose()
        if queue_redis is not redis:
            await queue_redis.aclose()
        for e in embedded:
            e.stop()
