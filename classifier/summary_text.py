"""The weekly team summary in words (German first, English second). Pure.

It says only what `disclosure.summarize` allows: bands in words, structural tension fields,
from 10 people coarse words on spread and the trend, the matching organisational and team
support paths, and the participation state. Never a number of people, never a name.
"""

from __future__ import annotations

from functools import cache

from .disclosure import TeamSummary
from .model import Lang, LoadType, Questionnaire, Text, TextCatalog, load_texts
from .scoring import Band


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


@cache
def summary_texts() -> SummaryTexts:
    """The shipped summary texts, loaded and validated once."""
    return load_texts(__package__ or "classifier", "summary.yaml", SummaryTexts)


def _t(key: str, lang: Lang, **fmt: object) -> str:
    return summary_texts()(key, lang, **fmt)


def focus_types(summary: TeamSummary) -> list[LoadType]:
    """The types a summary puts forward: clear bands and tension fields, in type order."""
    return [t for t in LoadType if summary.bands.get(t) is Band.DEUTLICH or t in summary.tension]


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
        if t in summary.spread:
            row += f", {_t(f'spread_{summary.spread[t]}', lang)}"
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
        lines.append(
            _t("systemic", lang) + "\n" + "\n".join(f"• {_t(f'cause_{t.value}', lang)}" for t in focus)
        )
        paths = [p(lang) for t in focus for p in q.types[t].paths[:2]]
    else:
        paths = [p(lang) for p in q.outcomes.moderate.paths]
    lines.append(_t("paths", lang) + "\n" + "\n".join(f"• {p}" for p in paths))
    lines.append(_t("next_steps", lang))
    lines.append(_t("not_covered", lang))
    lines.append(_t("footer", lang, k=k))
    return "\n\n".join(lines)
