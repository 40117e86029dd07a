"""The weekly team summary in words (German first, English second). Pure.

It says only what `disclosure.summarize` allows: bands in words, structural tension fields,
from 10 people coarse words on spread and the trend, the matching organisational and team
support paths, and the participation state. Never a number of people, never a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from .disclosure import Cause, TeamSummary
from .measures import Measure, Verdict
from .model import LoadType, Questionnaire
from .scoring import Band
from .text import Lang, Text, TextCatalog, day_text, load_texts


class SummaryTexts(TextCatalog):
    """The summary's texts (classifier/summary.yaml), every one in every language."""

    title: Text
    enough: Text
    not_enough: Text
    folded: Text
    combined: Text
    patterns: Text
    tension: Text
    systemic: Text
    cause_A: Text
    cause_B: Text
    cause_C: Text
    cause_D: Text
    cause_high: Text
    cause_partly: Text
    cause_low: Text
    cause_few: Text
    caution: Text
    paths: Text
    next_steps: Text
    not_covered: Text
    footer: Text
    reading: Text
    no_patterns: Text
    band_kaum: Text
    band_teilweise: Text
    band_deutlich: Text
    spread_einige: Text
    spread_viele: Text
    trend_up: Text
    trend_same: Text
    trend_down: Text
    chart_title: Text
    chart_kaum: Text
    chart_teilweise: Text
    chart_deutlich: Text
    measures: Text
    measure_line: Text
    measure_due: Text
    measure_bands: Text
    measure_bands_none: Text
    measure_view_better: Text
    measure_view_same: Text
    measure_view_worse: Text
    measure_view_mixed: Text
    measure_view_none: Text
    measure_early: Text
    spread_row: Text
    status_planned: Text
    status_running: Text
    status_done: Text
    status_dropped: Text


@cache
def summary_texts() -> SummaryTexts:
    """The shipped summary texts, loaded and validated once."""
    return load_texts(__package__ or "classifier", "summary.yaml", SummaryTexts)


def _t(key: str, lang: Lang, **fmt: object) -> str:
    return summary_texts()(key, lang, **fmt)


@dataclass(frozen=True, slots=True)
class MeasureNote:
    """What a publication says of one measure: only published bands and a verdict under k."""

    measure: Measure
    before: Band | None
    after: Band | None
    verdict: Verdict | None

    def as_record(self) -> dict[str, str | None]:
        return {"id": self.measure.id, "before": self.before, "after": self.after, "verdict": self.verdict}


EARLY_WEEKS = 8
"""A team's view of a measure given sooner than this after it was chosen is an early one."""


def measure_lines(
    q: Questionnaire, lang: Lang, notes: list[MeasureNote], week: str | None = None
) -> list[str]:
    """One paragraph per measure, in words; a view given within EARLY_WEEKS of the measure's
    start (the report `week`) is marked as an early one."""
    out = []
    for n in notes:
        m = n.measure
        due = _t("measure_due", lang, date=day_text(m.due, lang)) if m.due else ""
        parts = [
            _t(
                "measure_line",
                lang,
                what=m.what(q, lang, lead=True).rstrip("."),
                role=m.role,
                since=day_text(m.chosen, lang),
                due=due,
                status=_t(f"status_{m.status}", lang),
            )
        ]
        if m.type is not None:
            name = q.types[m.type].name(lang)
            if n.before is not None and n.after is not None:
                before, after = _t(f"band_{n.before}", lang), _t(f"band_{n.after}", lang)
                parts.append(_t("measure_bands", lang, type=name, before=before, after=after))
            else:
                parts.append(_t("measure_bands_none", lang, type=name))
        parts.append(_t(f"measure_view_{n.verdict}" if n.verdict else "measure_view_none", lang))
        if n.verdict and week and date.fromisoformat(f"{week}-1") < m.chosen + timedelta(weeks=EARLY_WEEKS):
            parts.append(_t("measure_early", lang, weeks=EARLY_WEEKS))
        out.append("• " + " ".join(parts))
    return out


def focus_types(summary: TeamSummary) -> list[LoadType]:
    """The types a summary puts forward: clear bands, tension fields and types that some or many
    show clearly (even where the mean is lower), in type order."""
    return [
        t
        for t in LoadType
        if summary.bands.get(t) is Band.DEUTLICH or t in summary.tension or t in summary.spread
    ]


def render_summary(
    q: Questionnaire,
    lang: Lang,
    *,
    team: str,
    week: str,
    k: int,
    summary: TeamSummary | None,
    folded_into: str | None = None,
    combined: bool = False,
    measures: list[MeasureNote] | None = None,
) -> str:
    """The text of one weekly post."""
    lines = [_t("title", lang, team=team, week=week)]
    if folded_into:
        return "\n\n".join([*lines, _t("folded", lang, parent=folded_into), _t("footer", lang, k=k)])
    if summary is None:
        return "\n\n".join([*lines, _t("not_enough", lang, k=k), _t("footer", lang, k=k)])
    lines.append(_t("enough", lang))
    if combined:
        lines.append(_t("combined", lang))
    rows = []
    for t in LoadType:
        b = summary.bands.get(t)
        if b is None:
            continue
        row = f"• {q.types[t].name(lang)}: {_t(f'band_{b}', lang)}"
        if t in summary.spread:  # the mean, and how many show it clearly: never one word for both
            spread = _t(f"spread_{summary.spread[t]}", lang)
            row = f"• {q.types[t].name(lang)}: {_t('spread_row', lang, band=_t(f'band_{b}', lang), spread=spread)}"
        if t in summary.trend:
            row += f" ({_t(f'trend_{summary.trend[t]}', lang)})"
        rows.append(row)
    lines.append(_t("patterns", lang) + "\n" + "\n".join(rows) if rows else _t("no_patterns", lang))
    lines.append(_t("reading", lang))
    if summary.tension:
        names = ", ".join(q.types[t].name(lang) for t in summary.tension)
        lines.append(_t("tension", lang, names=names))
    focus = focus_types(summary)
    if focus:
        causes = []
        for t in focus:  # from the team's own answers on the cause, never asserted
            level = summary.cause.get(t, Cause.FEW)
            what = _t(f"cause_{t.value}", lang)
            causes.append(f"• {q.types[t].name(lang)}: {_t(f'cause_{level}', lang, cause=what)}")
        lines.append(_t("systemic", lang) + "\n" + "\n".join(causes))
        paths = [p.for_lead(lang) for t in focus for p in q.types[t].paths[:2]]
    else:
        paths = [p(lang) for p in q.outcomes.moderate.paths]
    lines.append(_t("paths", lang) + "\n" + "\n".join(f"• {p}" for p in paths))
    if measures:
        lines.append(_t("measures", lang) + "\n" + "\n".join(measure_lines(q, lang, measures, week)))
    lines.append(_t("next_steps", lang))
    lines.append(_t("caution", lang))
    lines.append(_t("not_covered", lang))
    lines.append(_t("footer", lang, k=k))
    return "\n\n".join(lines)
