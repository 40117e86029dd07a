"""The chart in a weekly summary: the team's band per load type over the published weeks.
Bands only (kaum / teilweise / deutlich), never counts or percentages."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from classifier import Band, LoadType, Questionnaire  # noqa: E402

LEVEL = {Band.KAUM: 0, Band.TEILWEISE: 1, Band.DEUTLICH: 2}
LABELS = {"de": ("kaum", "teilweise", "deutlich"), "en": ("hardly", "partly", "clearly")}
TITLE = {"de": "Muster im Team über die Wochen", "en": "Team patterns over the weeks"}


def band_chart(q: Questionnaire, history: Sequence[tuple[str, Mapping[str, str]]], lang: str) -> bytes:
    """PNG of bands per type over weeks; `history` is (week, {type: band}) oldest first."""
    lang = "en" if lang == "en" else "de"
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    weeks = [w for w, _ in history]
    for n, t in enumerate(LoadType):
        offset = (n - 1.5) * 0.06  # keep equal bands of different types apart
        ys = [LEVEL[Band(b[t])] + offset if t in b else None for _, b in history]
        points = [(x, y) for x, y in enumerate(ys) if y is not None]
        if points:
            xs, vs = zip(*points, strict=True)
            ax.plot(xs, vs, marker="o", label=q.types[t].name(lang))
    ax.set_yticks([0, 1, 2], LABELS[lang])
    ax.set_ylim(-0.3, 2.3)
    ax.set_xticks(range(len(weeks)), weeks, fontsize=8)
    ax.set_title(TITLE[lang], fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
