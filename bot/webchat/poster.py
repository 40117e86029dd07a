"""The break-room poster: an A4 PDF with a team's link as a QR code, what Ruhepuls is and that
it is voluntary and anonymous, in the team's language first and the other one below."""

from __future__ import annotations

import io
import os

import segno

from classifier import Lang

from .texts import web_texts


def qr_png(url: str) -> bytes:
    """The link as a QR code (error correction M: survives a crease or a pin hole)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=12, border=4)
    return out.getvalue()


def poster(url: str, lang: Lang, k: int) -> bytes:
    import matplotlib
    from fpdf import FPDF

    fonts = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    t = web_texts()
    other: Lang = "en" if lang == "de" else "de"
    doc = FPDF(format="A4")
    doc.set_title(t("poster_title", lang))
    doc.set_creator("Ruhepuls")
    doc.add_font("DejaVu", fname=os.path.join(fonts, "DejaVuSans.ttf"))
    doc.add_font("DejaVu", style="B", fname=os.path.join(fonts, "DejaVuSans-Bold.ttf"))
    doc.set_auto_page_break(False)
    doc.add_page()
    doc.set_margins(20, 20, 20)
    doc.set_y(22)
    doc.set_font("DejaVu", "B", 26)
    doc.multi_cell(0, 12, t("poster_title", lang), align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("DejaVu", "", 14)
    doc.multi_cell(0, 7.5, t("poster_what", lang), align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(6)
    size = 95
    doc.image(io.BytesIO(qr_png(url)), x=(210 - size) / 2, w=size, h=size)
    doc.ln(2)
    doc.set_font("DejaVu", "B", 13)
    doc.multi_cell(0, 7, t("poster_scan", lang), align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 10)
    doc.multi_cell(0, 6, url, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(5)
    doc.set_font("DejaVu", "", 12)
    doc.multi_cell(0, 6.5, t("poster_free", lang, k=k), align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(8)
    doc.set_font("DejaVu", "", 9.5)
    doc.multi_cell(0, 5, f"{t('poster_what', other)} {t('poster_free', other, k=k)}", align="C")
    return bytes(doc.output())
