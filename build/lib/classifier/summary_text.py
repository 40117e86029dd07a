"""The weekly team summary in words (German first, English second). Pure.

It says only what `disclosure.summarize` allows: bands in words, structural tension fields,
from 10 people coarse words on spread and the trend, the matching organisational and team
support paths, and the participation state. Never a number of people, never a name.
"""

from __future__ import annotations

from .disclosure import Spread, TeamSummary, Trend
from .model import Lang, LoadType, Questionnaire
from .scoring import Band

T: dict[str, dict[str, str]] = {
    "title": {"de": "Ruhepuls-Wochenbericht für {team} ({week})",
              "en": "Ruhepuls weekly summary for {team} ({week})"},
    "enough": {"de": "Teilnahme: genug Antworten für eine Auswertung.",
               "en": "Participation: enough responses for a summary."},
    "not_enough": {"de": "Teilnahme: noch nicht genug Antworten. Ein Bild entsteht erst, wenn mindestens {k} Personen "
                         "teilgenommen haben; bis dahin wird nichts gezeigt und die Antworten fließen in den nächsten Bericht ein.",
                   "en": "Participation: not enough responses yet. A picture appears only once at least {k} people have "
                         "taken part; until then nothing is shown and the responses roll into the next summary."},
    "folded": {"de": "Die Antworten Ihres Teams sind diesmal in der gemeinsamen Auswertung für {parent} enthalten, "
                     "damit niemand einzeln erkennbar wird.",
               "en": "This time your team's responses are part of the combined summary for {parent}, so that nobody "
                     "can be singled out."},
    "combined": {"de": "Gemeinsame Auswertung mehrerer Teams, die für sich allein zu klein für eine Auswertung sind.",
                 "en": "A combined summary of several teams that are each too small to be shown on their own."},
    "patterns": {"de": "Muster im Team:", "en": "Patterns in the team:"},
    "tension": {"de": "Strukturelle Spannungsfelder (systemische Ursache, wenig Handlungsspielraum): {names}.",
                "en": "Structural tension fields (systemic cause, little room to act): {names}."},
    "systemic": {"de": "Was systemisch ist:", "en": "What is systemic:"},
    "paths": {"de": "Ansatzpunkte für Organisation und Team:", "en": "Where organisation and team can start:"},
    "footer": {"de": "Nur zusammengefasste Muster von mindestens {k} Personen; keine Einzelergebnisse, keine Rangfolgen, "
                     "kein Leistungsinstrument. Eine Orientierung, keine vollständige Gefährdungsbeurteilung.",
               "en": "Only combined patterns of at least {k} people; no individual results, no rankings, not a "
                     "performance tool. An orientation, not a full risk assessment."},
    Band.KAUM: {"de": "kaum ausgeprägt", "en": "hardly present"},
    Band.TEILWEISE: {"de": "teilweise ausgeprägt", "en": "partly present"},
    Band.DEUTLICH: {"de": "deutlich ausgeprägt", "en": "clearly present"},
    Spread.SOME: {"de": "bei einigen", "en": "for some"},
    Spread.MANY: {"de": "bei vielen", "en": "for many"},
    Trend.UP: {"de": "stärker als im letzten Bericht", "en": "stronger than in the last summary"},
    Trend.DOWN: {"de": "schwächer als im letzten Bericht", "en": "weaker than in the last summary"},
    Trend.SAME: {"de": "wie im letzten Bericht", "en": "as in the last summary"},
}  # fmt: skip


def _t(key: str, lang: Lang, **fmt: object) -> str:
    return T[key][lang].format(**fmt)


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
        row = f"• {q.types[t].name(lang)}: {_t(b, lang)}"
        if summary.spread and t in summary.spread:
            row += f", {_t(summary.spread[t], lang)}"
        if summary.trend and t in summary.trend:
            row += f" ({_t(summary.trend[t], lang)})"
        rows.append(row)
    lines.append(_t("patterns", lang) + "\n" + "\n".join(rows))
    if summary.tension:
        names = ", ".join(q.types[t].name(lang) for t in summary.tension)
        lines.append(_t("tension", lang, names=names))
    focus = focus_types(summary)
    if focus:
        lines.append(_t("systemic", lang) + "\n" + "\n".join(f"• {q.types[t].systemic(lang)}" for t in focus))
        paths = [p(lang) for t in focus for p in q.types[t].paths[:2]]
    else:
        paths = [p(lang) for p in q.outcomes.moderate.paths]
    lines.append(_t("paths", lang) + "\n" + "\n".join(f"• {p}" for p in paths))
    lines.append(_t("footer", lang, k=k))
    return "\n\n".join(lines)
