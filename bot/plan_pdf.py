"""The team's Stufenplan as one printable A4 page for the desk or the break room, in the team
report's look (fpdf2, DejaVu Sans from matplotlib's fonts): `ruhepuls stufenplan --pdf`."""

from __future__ import annotations

from classifier import Lang, day_text, stufenplan
from classifier.stufenplan import Plan

from .report import document
from .texts import report_texts


def plan_pdf(plan: Plan, team: str, lang: Lang) -> bytes:
    t = report_texts()
    w = stufenplan.wording()
    doc = document(t("plan_title", lang, team=team))
    doc.set_font("DejaVu", "B", 18)
    doc.multi_cell(0, 9, t("plan_title", lang, team=team), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 10.5)
    doc.multi_cell(0, 5.5, t("plan_intro", lang), new_x="LMARGIN", new_y="NEXT")
    for n, s in enumerate(plan.steps(lang), 1):
        doc.ln(4)
        doc.set_font("DejaVu", "B", 14)
        doc.multi_cell(0, 7, f"{w.step(lang).format(n=n)}: {s.signal}", new_x="LMARGIN", new_y="NEXT")
        for label, value in ((w.may(lang), s.may), (w.backs(lang), s.backs)):
            doc.set_font("DejaVu", "B", 10.5)
            doc.multi_cell(0, 5.5, label, new_x="LMARGIN", new_y="NEXT")
            doc.set_font("DejaVu", "", 12)
            doc.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    doc.ln(6)
    doc.set_font("DejaVu", "", 8.5)
    since, changed = day_text(plan.since, lang), day_text(plan.changed, lang)
    doc.multi_cell(0, 4.5, t("plan", lang, version=plan.version, since=since, changed=changed))
    return bytes(doc.output())
