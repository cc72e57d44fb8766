"""The access answer as a PDF, laid out by reportlab as the evidence pack is: a first page (the
request, what was searched, the parts withheld) and one page per picture (the copy with other
faces blurred, its provenance, its evidence, its recipients). It renders the JSON twin
(access_answers.py), nothing more; the caller has chosen the language."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

PICTURE_WIDTH, PICTURE_HEIGHT = 150 * mm, 95 * mm


def _text(value) -> str:
    return escape("—" if value in (None, "") else str(value))


def _when(iso: str | None) -> str | None:
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or "").replace("UTC+00:00", "UTC")


def _facts(rows: list[tuple[str, object]], styles) -> Table:
    table = Table([[Paragraph(f"<b>{_text(label)}</b>", styles["Normal"]), Paragraph(_text(value), styles["Normal"])]
                   for label, value in rows], colWidths=[48 * mm, 122 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
    return table


def _grid(head: list[str], rows: list[list], widths: list[float], styles) -> Table:
    cells = [[Paragraph(f"<b>{_text(h)}</b>", styles["Normal"]) for h in head]]
    cells += [[Paragraph(_text(value), styles["Normal"]) for value in row] for row in rows]
    table = Table(cells, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    return table


def _picture(data: bytes | None, styles) -> list:
    if not data:
        return [Paragraph(_text(_("The picture file is no longer stored (its erasure is under way).")),
                          styles["Italic"])]
    width, height = ImageReader(BytesIO(data)).getSize()
    scale = min(PICTURE_WIDTH / width, PICTURE_HEIGHT / height)
    return [Image(BytesIO(data), width=width * scale, height=height * scale)]


def _region(region: str | None, label: str) -> str:
    return f"{region or _('unknown')} ({label})"


def _first_page(data: dict, styles) -> list:
    texts = data["texts"]
    story = [Paragraph(_text(texts["title"]), styles["Title"]), Paragraph(_text(texts["basis"]), styles["Normal"]),
             Spacer(1, 4 * mm),
             _facts([(_("Request reference"), data["reference"]), (_("Received"), _when(data["received_at"])),
                     (_("Answered"), _when(data["answered_at"])),
                     (_("Pictures in this answer"), len(data["pictures"]))], styles),
             Spacer(1, 4 * mm)]
    if data["nothing_held"]:
        story.append(Paragraph(f"<b>{_text(texts['nothing'])}</b>", styles["Normal"]))
    elif data["pictures"]:
        story.append(Paragraph(_text(texts["pictures_blurred"]), styles["Normal"]))
    if data["withheld"]:
        story += [Paragraph(_text(_("Parts not included yet")), styles["Heading2"]),
                  Paragraph(_text(texts["withheld"]), styles["Normal"]), Spacer(1, 2 * mm),
                  _grid([_("Held by"), _("Status"), _("Legal ground given")],
                        [[w["held_by"], w["status_label"], w["ground"]] for w in data["withheld"]],
                        [55, 45, 70], styles)]
    return story


def _picture_page(number: int, entry: dict, data: bytes | None, styles) -> list:
    story = [PageBreak(), Paragraph(_text(_("Picture %(number)s of %(total)s")
                                          % {"number": number, "total": entry["total"]}), styles["Heading1"]),
             *_picture(data, styles), Spacer(1, 3 * mm),
             _facts([(_("Held by"), entry["held_by"]), (_("Status"), entry["status_label"]),
                     (_("Source"), entry["source_url"] or entry["source_domain"] or _("uploaded by the holder")),
                     (_("Region"), _region(entry["region"], entry["region_evidence_label"])),
                     (_("Legal basis"), entry["legal_basis_label"]), (_("Collected"), _when(entry["collected_at"])),
                     (_("Added to the gallery"), _when(entry["added_at"])),
                     (_("Similarity to your picture"), f"{entry['similarity']:.3f}"),
                     (_("Other faces blurred"), entry["other_faces_blurred"]),
                     (_("Picture id"), entry["id"]), (_("File in the ZIP"), entry["file"])], styles)]
    if entry["evidence"]:
        story += [Paragraph(_text(_("Provenance declared")), styles["Heading3"]),
                  _grid([_("Declared"), _("Source"), _("Region"), _("Legal basis")],
                        [[_when(e["declared_at"]), e["source_url"] or e["source_domain"],
                          _region(e["region"], e["region_evidence_label"]), e["legal_basis_label"]]
                         for e in entry["evidence"]], [32, 60, 40, 38], styles)]
    story.append(Paragraph(_text(_("Recipients: customers shown your face")), styles["Heading3"]))
    if entry["recipients"]:
        story.append(_grid([_("Customer"), _("How"), _("When")],
                           [[r["tenant"], r["via_label"], _when(r["at"])] for r in entry["recipients"]],
                           [70, 55, 45], styles))
    else:
        story.append(Paragraph(_text(_("None: this picture was not shown to anyone.")), styles["Normal"]))
    return story


def access_answer_pdf_render(*, data: dict, pictures: dict[str, bytes | None]) -> bytes:
    styles = getSampleStyleSheet()
    out = BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, title=data["texts"]["title"], leftMargin=20 * mm,
                                 rightMargin=20 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    story = _first_page(data, styles)
    total = len(data["pictures"])
    for number, entry in enumerate(data["pictures"], start=1):
        story += _picture_page(number, {**entry, "total": total}, pictures.get(entry["file"] or ""), styles)
    document.build(story)
    return out.getvalue()
