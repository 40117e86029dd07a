"""The chart in a weekly summary: the team's band per load type over the published weeks.
Bands only (kaum / teilweise / deutlich), never counts or percentages.

Drawing a figure costs about a hundred milliseconds, most of it text (title, legend, labels).
The summaries of thousands of teams share one drawn background per language; per team only the
lines and the week labels are drawn onto it, and the pixels go to PNG directly.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

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
_CANVASES: dict[tuple[int, str], _Canvas] = {}


def _canvas(q: Questionnaire, lang: Lang) -> _Canvas:
    key = (id(q), lang)
    if key not in _CANVASES:
        _CANVASES[key] = _draw(q, lang)
    return _CANVASES[key]


def _draw(q: Questionnaire, lang: Lang) -> _Canvas:
    fig = Figure(figsize=(7, 3.2), dpi=80)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.14, 0.14, 0.52, 0.76))
    lines = [ax.plot([], [], marker="o", label=q.types[t].name(lang), animated=True)[0] for t in LoadType]
    t = summary_texts()
    ax.set_yticks([0, 1, 2], [t(f"chart_{b}", lang) for b in LEVEL])
    ax.set_ylim(-0.3, 2.3)
    ax.set_title(t("chart_title", lang), fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.xaxis.set_animated(True)
    canvas.draw()  # type: ignore[no-untyped-call]
    return fig, canvas, lines, canvas.copy_from_bbox(fig.bbox)  # type: ignore[no-untyped-call]


def band_chart(q: Questionnaire, history: Sequence[tuple[str, Mapping[str, str]]], lang: Lang) -> bytes:
    """PNG of bands per type over weeks; `history` is (week, {type: band}) oldest first."""
    fig, canvas, lines, background = _canvas(q, lang)
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
