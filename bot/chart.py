"""The chart in a weekly summary: the team's band per load type over the published weeks.
Bands only (kaum / teilweise / deutlich), never counts or percentages.

Drawing a figure costs about a hundred milliseconds, most of it text (title, legend, labels).
The summaries of thousands of teams share one drawn background per language; per team only the
lines and the week labels are drawn onto it, and the pixels go to PNG directly. That still
takes 50-90 ms, so the worker never draws on its event loop: `render` and `shrink` hand the
work to a pool of processes (RUHEPULS_CHART_PROCESSES, one per core by default; 0: a thread),
which draws charts for many units side by side while the loop goes on sending.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import gc
import io
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import matplotlib
from PIL import Image

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from classifier import Band, Lang, LoadType, Questionnaire  # noqa: E402
from classifier.summary_text import summary_texts  # noqa: E402

LEVEL = {Band.KAUM: 0, Band.TEILWEISE: 1, Band.DEUTLICH: 2}


_Canvas = tuple[Figure, FigureCanvasAgg, list[Line2D], Any]
_CANVASES: dict[tuple[tuple[str, ...], str], _Canvas] = {}
_DRAWING = threading.Lock()  # one figure per language is shared: one drawing at a time per process
Names = tuple[str, ...]
"""The four load types' names, in LoadType order, in the chart's language."""


def names(q: Questionnaire, lang: Lang) -> Names:
    return tuple(q.types[t].name(lang) for t in LoadType)


def _canvas(legend: Names, lang: Lang) -> _Canvas:
    key = (legend, lang)
    if key not in _CANVASES:
        _CANVASES[key] = _draw(legend, lang)
    return _CANVASES[key]


def _draw(legend: Names, lang: Lang) -> _Canvas:
    fig = Figure(figsize=(7, 3.2), dpi=80)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.14, 0.14, 0.52, 0.76))
    lines = [ax.plot([], [], marker="o", label=name, animated=True)[0] for name in legend]
    t = summary_texts()
    ax.set_yticks([0, 1, 2], [t(f"chart_{b}", lang) for b in LEVEL])
    ax.set_ylim(-0.3, 2.3)
    ax.set_title(t("chart_title", lang), fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.xaxis.set_animated(True)
    canvas.draw()  # type: ignore[no-untyped-call]
    return fig, canvas, lines, canvas.copy_from_bbox(fig.bbox)  # type: ignore[no-untyped-call]


def band_chart(q: Questionnaire, history: Sequence[tuple[str, Mapping[str, str]]], lang: Lang) -> bytes:
    """PNG of bands per type over weeks; `history` is (week, {type: band}) oldest first. Draws
    in the calling thread: in the worker, `render` instead."""
    return draw(names(q, lang), history, lang)


def draw(legend: Names, history: Sequence[tuple[str, Mapping[str, str]]], lang: Lang) -> bytes:
    """`band_chart` from the types' names alone (what a pool process is sent)."""
    with _DRAWING:
        return _drawn(legend, history, lang)


def _drawn(legend: Names, history: Sequence[tuple[str, Mapping[str, str]]], lang: Lang) -> bytes:
    fig, canvas, lines, background = _canvas(legend, lang)
    ax = fig.axes[0]
    canvas.restore_region(background)  # type: ignore[no-untyped-call]
    weeks = [w for w, _ in history]
    for n, (t, line) in enumerate(zip(LoadType, lines, strict=True)):
        offset = (n - 1.5) * 0.06  # keep equal bands of different types apart
        points = [(x, LEVEL[Band(b[t])] + offset) for x, (_, b) in enumerate(history) if t in b]
        line.set_data([p[0] for p in points], [p[1] for p in points])
    ax.set_xlim(-0.5, max(0.5, len(weeks) - 0.5))
    ax.set_xticks(range(len(weeks)), weeks, fontsize=8)
    for artist in (*lines, ax.xaxis):
        ax.draw_artist(artist)
    width, height = canvas.get_width_height()
    pixels = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
    image = Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def compact(png: bytes, colors: int = 16) -> bytes:
    """The same chart in a 16-colour palette: a quarter of the bytes, for channels that limit
    a message's size (Teams: about 28 KB for a whole card)."""
    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB").quantize(colors=colors)
        out = io.BytesIO()
        small.save(out, "PNG", optimize=True)
    return out.getvalue()


T = TypeVar("T")
_POOL: concurrent.futures.Executor | None = None
_POOL_SIZE: int | None = None


def configure(processes: int | None) -> None:
    """How many processes draw charts (None: one per core; 0: a thread of this process)."""
    global _POOL_SIZE
    _POOL_SIZE = processes


def _pool() -> concurrent.futures.Executor:
    global _POOL
    if _POOL is None:
        size = (os.cpu_count() or 1) if _POOL_SIZE is None else _POOL_SIZE
        if size <= 0:
            _POOL = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="chart")
        else:  # forkserver: a clean child, not a fork of a process with an event loop and threads
            _POOL = concurrent.futures.ProcessPoolExecutor(
                size, mp_context=multiprocessing.get_context("forkserver")
            )
    return _POOL


_STOPPED: list[concurrent.futures.Executor] = []
"""Pools stopped without waiting (a worker's end), joined when the interpreter ends."""


@atexit.register
def _at_exit() -> None:
    """Close what is left of the pools while the modules they need are still there (left to
    the garbage collector, a process pool complains on the way out)."""
    global _POOL
    pools, _POOL = [*_STOPPED, *([_POOL] if _POOL is not None else [])], None
    _STOPPED.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)
    del pools
    gc.collect()


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool(), fn, *args)


async def render(q: Questionnaire, history: Sequence[tuple[str, Mapping[str, str]]], lang: Lang) -> bytes:
    """`band_chart`, drawn in the chart pool: the event loop goes on meanwhile."""
    return await _off_loop(draw, names(q, lang), [(w, dict(b)) for w, b in history], lang)


async def shrink(png: bytes) -> bytes:
    """`compact`, in the chart pool."""
    return await _off_loop(compact, png)


def shutdown() -> None:
    """Stop the pool (at the worker's end); the next `render` starts a new one."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=False, cancel_futures=True)
        _STOPPED.append(_POOL)
        _POOL = None
