"""The team report for the risk-assessment file: `ruhepuls report` writes it as a PDF, and the
web app shows the same report as a read-only page behind a signed link that expires.

It is made only of what was already published: the summaries as they were posted (the team's
`published` record), the bands they showed, what they said of the team's measures, and the
measures' own record (what, since when, which role, status). Nothing is computed from counters
here, so nothing below k can appear.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import matplotlib

if TYPE_CHECKING:
    from fpdf import FPDF

matplotlib.use("Agg")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from classifier import Band, Lang, LoadType, Questionnaire, day_text, moment_text  # noqa: E402
from classifier.measures import Measure, Verdict  # noqa: E402
from classifier.stufenplan import Plan  # noqa: E402
from classifier.summary_text import MeasureNote, measure_lines, summary_texts  # noqa: E402
from flows.measures import MeasureStore  # noqa: E402
from flows.plans import PlanStore  # noqa: E402
from flows.schedule import iso_week  # noqa: E402

from .runtime import Runtime  # noqa: E402
from .texts import report_texts as texts  # noqa: E402

LEVEL = {Band.KAUM: 0, Band.TEILWEISE: 1, Band.DEUTLICH: 2}


@dataclass(frozen=True, slots=True)
class Posted:
    week: str
    text: str
    bands: dict[str, str]
    wide: frozenset[str]
    notes: dict[str, dict[str, Any]]
    """Measure id -> what this post said of it (bands before and after, the verdict)."""


@dataclass(frozen=True, slots=True)
class Report:
    team: str
    lang: Lang
    start: date
    end: date
    posts: tuple[Posted, ...]
    measures: tuple[Measure, ...]
    version: str
    k: int
    generated: date
    plan: Plan | None = None
    """The team's Stufenplan (its date and version are on the report)."""


async def gather(
    rt: Runtime, team_id: str, start: date, end: date, lang: Lang | None = None
) -> Report | None:
    """The report of a team for the weeks from `start` to `end`; None when there is no team."""
    team = await rt.teams.team(team_id)
    if team is None:
        return None
    first, last = iso_week(start), iso_week(end)
    posts = []
    for row in await rt.publications.published(team_id):
        if first <= str(row.get("week")) <= last:
            notes = {str(n["id"]): n for n in row.get("measures") or [] if isinstance(n, dict) and "id" in n}
            posts.append(
                Posted(
                    str(row["week"]),
                    str(row["text"]),
                    dict(row.get("bands") or {}),
                    frozenset(row.get("wide") or ()),
                    notes,
                )
            )
    measures = tuple(m for m in await MeasureStore(rt.redis).all(team_id) if m.chosen <= end)
    q = rt.conversations.config.questionnaire
    return Report(
        team.name,
        lang or team.language,
        start,
        end,
        tuple(posts),
        measures,
        q.version,
        rt.settings.min_group_size,
        datetime.now(UTC).date(),
        await PlanStore(rt.redis).get(team_id),
    )


def chart(q: Questionnaire, r: Report, *, narrow: bool = False) -> bytes:
    """PNG: a point for every published band that rests on at least 10 people (a row of points
    is a trend, and a trend rests on 10, as in the weekly chart); a line between consecutive
    ones. Bands of smaller groups stand in the posts' texts only. `narrow`: for a phone (about
    360 CSS pixels wide, drawn at twice that): the legend below the plot, the letters as large
    as the page's small print."""
    if narrow:
        fig = Figure(figsize=(3.6, 4.6), dpi=200)
        ax = fig.add_axes((0.26, 0.42, 0.7, 0.5))
        small, title = 8.5, 9.5
    else:
        fig = Figure(figsize=(7.5, 3.2), dpi=110)
        ax = fig.add_axes((0.15, 0.16, 0.55, 0.72))
        small, title = 7.0, 10.0
    FigureCanvasAgg(fig)
    weeks = [p.week for p in r.posts]
    for n, t in enumerate(LoadType):
        offset = (n - 1.5) * 0.06
        pts = [
            (x, LEVEL[Band(p.bands[t.value])] + offset, True)
            for x, p in enumerate(r.posts)
            if t.value in p.bands and t.value in p.wide
        ]
        (marker,) = ax.plot(
            [x for x, _, _ in pts], [y for _, y, _ in pts], "o", label=q.types[t].name(r.lang)
        )
        for (x0, y0, w0), (x1, y1, w1) in zip(pts, pts[1:], strict=False):
            if w0 and w1 and x1 == x0 + 1:
                ax.plot([x0, x1], [y0, y1], "-", color=marker.get_color())
    for n, m in enumerate(r.measures, 1):  # where a measure began: between the posts before and after
        chosen = iso_week(m.chosen)
        x = next((i for i, p in enumerate(r.posts) if p.week > chosen), None)
        if x is not None:
            ax.axvline(x - 0.5, color="#777", linestyle="--", linewidth=1)
            ax.text(x - 0.45, 2.2, f"M{n}", fontsize=small, color="#555", va="top")
    s = summary_texts()
    ax.set_yticks([0, 1, 2], [s(f"chart_{b}", r.lang) for b in LEVEL], fontsize=small)
    ax.set_ylim(-0.3, 2.3)
    ax.set_xlim(-0.5, max(0.5, len(weeks) - 0.5))
    ax.set_xticks(range(len(weeks)), weeks, fontsize=small, rotation=30 if not narrow else 45)
    if narrow:  # over the whole figure: the plot sits right of the band names
        fig.suptitle(texts()("chart", r.lang), fontsize=title, y=0.985)
    else:
        ax.set_title(texts()("chart", r.lang), fontsize=title)
    if narrow:
        ax.legend(fontsize=small, loc="upper left", bbox_to_anchor=(-0.32, -0.3), frameon=False)
    else:
        ax.legend(fontsize=small, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


E = TypeVar("E", Band, Verdict)


def _parsed(kind: type[E], value: object) -> E | None:
    """A stored enum value read back (None for a missing or unknown one)."""
    try:
        return kind(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _measure_text(q: Questionnaire, r: Report, m: Measure) -> str:
    """A measure and the latest that a published summary said of its effect."""
    said = [p.notes[m.id] for p in r.posts if m.id in p.notes]
    last = said[-1] if said else {}

    note = MeasureNote(
        m,
        _parsed(Band, last.get("before")),
        _parsed(Band, last.get("after")),
        _parsed(Verdict, last.get("verdict")),
    )
    return measure_lines(q, r.lang, [note])[0].removeprefix("• ")


def sections(q: Questionnaire, r: Report) -> list[tuple[str, list[str]]]:
    """The report as (heading, paragraphs), the same for PDF and page."""
    t = texts()
    lang = r.lang
    measures = [f"M{n}: {_measure_text(q, r, m)}" for n, m in enumerate(r.measures, 1)] or [
        t("no_measures", lang)
    ]
    if r.plan is not None:
        p = r.plan
        since, changed = day_text(p.since, lang), day_text(p.changed, lang)
        measures.append(t("plan", lang, version=p.version, since=since, changed=changed))
    posts = [p.text for p in r.posts] or [t("no_summaries", lang)]
    method = [
        t("version", lang, version=r.version),
        t("rule", lang, k=r.k),
        summary_texts()("not_covered", lang),
        t("generated", lang, date=day_text(r.generated, lang)),
    ]
    return [
        (
            "",
            [
                t("period", lang, start=day_text(r.start, lang), end=day_text(r.end, lang)),
                t("purpose", lang),
            ],
        ),
        (t("measures", lang), measures),
        (t("summaries", lang), posts),
        (t("method", lang), method),
    ]


def _font_dir() -> str:
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def document(title: str) -> FPDF:
    """An A4 page in the reports' look (fpdf2, DejaVu Sans from matplotlib's own fonts: umlauts
    and quotes), titled `title`, ready to write on."""
    from fpdf import FPDF

    doc = FPDF(format="A4")
    doc.set_title(title)
    doc.set_creator("Ruhepuls")
    doc.add_font("DejaVu", fname=os.path.join(_font_dir(), "DejaVuSans.ttf"))
    doc.add_font("DejaVu", style="B", fname=os.path.join(_font_dir(), "DejaVuSans-Bold.ttf"))
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    return doc


def pdf(q: Questionnaire, r: Report) -> bytes:
    """The report as a PDF."""
    doc = document(texts()("title", r.lang, team=r.team))
    doc.set_font("DejaVu", "B", 15)
    doc.multi_cell(0, 8, texts()("title", r.lang, team=r.team), new_x="LMARGIN", new_y="NEXT")
    for n, (heading, paragraphs) in enumerate(sections(q, r)):
        if heading:
            doc.ln(3)
            doc.set_font("DejaVu", "B", 12)
            doc.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("DejaVu", "", 9.5)
        for para in paragraphs:
            doc.multi_cell(0, 4.8, para, new_x="LMARGIN", new_y="NEXT")
            doc.ln(2)
        if n == 0 and r.posts:
            doc.image(io.BytesIO(chart(q, r)), w=180)
            doc.set_font("DejaVu", "", 8)
            doc.multi_cell(0, 4, texts()("chart_note", r.lang), new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>
body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:0 auto;padding:1rem;color:#1d2327}}
h1{{font-size:1.4rem}} h2{{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccd}}
.post{{white-space:pre-wrap;border-left:3px solid #9ab;padding-left:.8rem;margin:1rem 0}}
figure{{margin:1rem 0}} img{{max-width:100%;height:auto}} .note{{color:#555;font-size:.85rem}}
@media print{{body{{max-width:none}} .post{{break-inside:avoid}}}}
</style></head><body>
<h1>{title}</h1>
{body}
</body></html>
"""


def page(q: Questionnaire, r: Report, expires: datetime) -> str:
    """The report as one server-rendered page: readable on a phone, printable, no script."""
    t = texts()
    e = html.escape
    parts = []
    for n, (heading, paragraphs) in enumerate(sections(q, r)):
        if heading:
            parts.append(f"<h2>{e(heading)}</h2>")
        css = ' class="post"' if heading == t("summaries", r.lang) and r.posts else ""
        parts += [f"<p{css}>{e(p)}</p>" for p in paragraphs]
        if n == 0 and r.posts:
            png = base64.b64encode(chart(q, r)).decode()
            phone = base64.b64encode(chart(q, r, narrow=True)).decode()
            parts.append(
                f'<figure><picture><source media="(max-width: 600px)" srcset="data:image/png;base64,{phone}">'
                f'<img id="chart" src="data:image/png;base64,{png}" alt="{e(t("chart_alt", r.lang))}"></picture>'
                f'<figcaption class="note">{e(t("chart_note", r.lang))}</figcaption></figure>'
            )
    parts.append(f'<p class="note">{e(t("expires", r.lang, date=f"{moment_text(expires, r.lang)} UTC"))}</p>')
    return _PAGE.format(lang=r.lang, title=e(t("title", r.lang, team=r.team)), body="\n".join(parts))
