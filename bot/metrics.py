"""Metrics in Prometheus format (prometheus-client), the same for web and worker.

With `PROMETHEUS_MULTIPROC_DIR` set (an empty folder, the same for every process on a machine,
emptied at each deploy) the web app's `GET /metrics` adds up all of its processes and the
workers'; without it each process reports its own. No label ever names a person, a user id, a
team's answers or anything finer than a platform, a method, a status or an event kind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client import multiprocess as _multiprocess

EVENTS = Counter("ruhepuls_events", "Inbound survey events", ["platform", "kind"])
RESULTS_WRITTEN = Counter(
    "ruhepuls_results_written", "Results written to the data Redis, in sums of at least k (never one by one)"
)
RESULTS_DROPPED = Counter(
    "ruhepuls_results_dropped", "Results fewer than k left at a round's close with no parent group to join"
)
POOLS_LOST = Counter(
    "ruhepuls_pools_lost", "Rounds closed whose pool the sessions Redis had lost in a restart"
)
UNAVAILABLE = Counter("ruhepuls_store_unavailable", "Events answered 'briefly unavailable'", ["platform"])
API_CALLS = Counter(
    "ruhepuls_platform_calls", "Calls to a platform's API by outcome", ["platform", "method", "status"]
)
INVITATIONS = Counter("ruhepuls_invitations", "Invitations and reminders", ["platform", "kind", "outcome"])
SUMMARIES = Counter("ruhepuls_summaries", "Weekly summaries", ["outcome"])
REDIS_SECONDS = Histogram(
    "ruhepuls_event_seconds",
    "Time to run one event through the store (Redis round trips included)",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
QUEUE_DEPTH = Gauge("ruhepuls_queue_depth", "Jobs waiting in the worker queue", multiprocess_mode="max")
DUE_SUMMARIES = Gauge("ruhepuls_due_summaries", "Summary units due at the last tick", multiprocess_mode="max")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def kind_of(event: object) -> str:
    """An event's kind as a label: its class name, lower case (never its content)."""
    return type(event).__name__.lower()


@contextmanager
def timed() -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        REDIS_SECONDS.observe(time.perf_counter() - start)


def registry() -> CollectorRegistry:
    """Every process's metrics (multiprocess mode), or this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        _multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
        return combined
    return REGISTRY


def scrape() -> bytes:
    """The exposition text."""
    return generate_latest(registry())


def serve(port: int, host: str) -> Callable[[], None] | None:
    """Expose the metrics on a port of their own (`RUHEPULS_METRICS_PORT`), for web and worker.
    Returns how to stop it, or None when another process on this machine already serves that
    port (with `PROMETHEUS_MULTIPROC_DIR` it reports every process, so one is enough)."""
    try:
        server, _ = start_http_server(port, addr=host, registry=registry())
    except OSError:
        return None
    return server.shutdown
