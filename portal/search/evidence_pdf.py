"""The evidence pack as a PDF, laid out by reportlab (a maintained library: no hand-written PDF).
It renders the same data as the JSON twin (portal/search/evidence.py), nothing more."""

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
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from portal.gallery.models import LegalBasis
from portal.gallery.regions import RegionEvidence
from portal.search.models import Authorisation, Band, Verdict


def _authorisation_text(authorisation: dict) -> str:
    """E.g. "Granted: Crown Court, AUTH-1, 2026-01-05 (urgent)"."""
    text = str(_label(Authorisation.choices, authorisation["status"]))
    details = ", ".join(part for part in (authorisation["authority"], authorisation["reference"],
                                          authorisation["date"]) if part)
    if details:
        text += f": {details}"
    if authorisation["urgent"]:
        text += " " + str(_("(run as urgent)"))
    return text


def _text(value) -> str:
    return escape("—" if value in (None, "") else str(value))


def _when(iso: str | None) -> str | None:
    """An ISO time of the JSON twin, as people read it (the twin keeps the exact value)."""
    if not iso:
        return None
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + (moment.tzname() or "").replace("UTC+00:00", "UTC")


def _label(choices, code) -> str | None:
    return dict(choices).get(code, code)


def _picture(data: bytes | None, caption: str, styles):
    if data:
        try:
            ImageReader(BytesIO(data)).getSize()
        except OSError:
            unreadable = _("%(caption)s: the stored picture cannot be read") % {"caption": caption}
            return [Paragraph(_text(unreadable), styles["Normal"])]
        return [Image(BytesIO(data), width=45 * mm, height=45 * mm), Paragraph(_text(caption), styles["Normal"])]
    return [Paragraph(_text(_("%(caption)s: no longer stored") % {"caption": caption}), styles["Normal"])]


def _facts(rows: list[tuple[str, object]], styles) -> Table:
    table = Table([[Paragraph(f"<b>{_text(label)}</b>", styles["Normal"]), Paragraph(_text(value), styles["Normal"])]
                   for label, value in rows], colWidths=[45 * mm, 125 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey)]))
    return table


def evidence_pdf_render(*, data: dict, probe: bytes | None, crop: bytes | None) -> bytes:
    styles = getSampleStyleSheet()
    search, match, review, export = data["search"], data["match"], data["review"], data["export"]
    provenance = match["provenance"]
    out = BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, title=_("Evidence pack %(value)s") % {"value": export['id']},
                                 author=data["tenant"]["name"], leftMargin=20 * mm, rightMargin=20 * mm)
    story = [
        Paragraph(_text(_("Evidence pack · %(tenant)s") % {"tenant": data["tenant"]["name"]}), styles["Title"]),
        Paragraph(_text(data["notice"]), styles["Italic"]),
        Spacer(1, 4 * mm),
        Table([[_picture(probe, _("Probe (the face searched)"), styles),
                _picture(crop, _("Match #%(rank)s") % {"rank": match["rank"]}, styles)]],
              colWidths=[85 * mm, 85 * mm]),
        Paragraph(_("Search"), styles["Heading2"]),
        _facts([(_("Case reference"), search["case_reference"]), (_("Purpose"), search["purpose"]),
                (_("Authorisation"), _authorisation_text(search["authorisation"])),
                (_("Run by"), search["run_by"]), (_("Run at"), _when(search["run_at"])), (_("Search id"), search["id"]),
                (_("Lead threshold"), search["threshold"]),
                (_("Audit position"), search["audit_position"])], styles),
        Paragraph(_("Match"), styles["Heading2"]),
        _facts([(_("Rank"), match["rank"]), (_("Similarity"), f"{match['similarity']:.3f}"), (_("Band"), _label(Band.choices, match["band"])),
                (_("Face id"), match["face_uuid"]),
                (_("Face detector"), _detector_label(match.get("detector"))),
                (_("Subject"), (f"{match['subject']['label']} ({match['subject']['reference']})"
                                if match["subject"]["reference"] else match["subject"]["label"])
                 if match["subject"] else None),
                (_("Gallery"), _("platform index") if match["in_platform_index"] else _("own gallery")),
                (_("Source"), provenance["source_url"] or provenance["source_domain"] or _("uploaded")),
                (_("Region"), f"{provenance['region'] or _('unknown')} "
                              f"({_label(RegionEvidence.choices, provenance['region_evidence'])})"),
                (_("Legal basis"), _label(LegalBasis.choices, provenance["legal_basis"])),
                (_("Collected"), _when(provenance["collected_at"])), (_("Added"), _when(provenance["added_at"])),
                (_("Probe sha256"), data["probe"]["sha256"])], styles),
        Paragraph(_("Review"), styles["Heading2"]),
        _facts([(_("State"), review["state"]), (_("Confirmations required"), review["confirmations_required"]),
                (_("Confirmed by"), ", ".join(review["confirmed_by"]))], styles),
        Spacer(1, 3 * mm),
    ]
    head = [Paragraph(f"<b>{_text(label)}</b>", styles["Normal"])
            for label in (_("Reviewer"), _("Verdict"), _("Reason"), _("When"), _("Audit position"))]
    verdicts = [head] + [
        [Paragraph(_text(v["reviewer"]), styles["Normal"]), Paragraph(_text(_label(Verdict.choices, v["verdict"])),
                                                                      styles["Normal"]),
         Paragraph(_text(v["reason"]), styles["Normal"]),
         Paragraph(_text(_when(v["at"])), styles["Normal"]), str(v["audit_position"])] for v in review["verdicts"]]
    table = Table(verdicts, colWidths=[42 * mm, 22 * mm, 56 * mm, 32 * mm, 18 * mm], repeatRows=1)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    story += [table, Paragraph(_("Export"), styles["Heading2"]),
              _facts([(_("Export id"), export["id"]), (_("Exported by"), export["by"]),
                      (_("Exported at"), _when(export["at"])),
                      (_("Audit position"), export["audit_position"])], styles)]
    document.build(story)
    return out.getvalue()


def _detector_label(detector: str | None) -> str:
    # Packs exported before the detector was recorded have none: their faces were all HOG's.
    if detector == "cnn":
        return _("CNN (dlib), run because HOG found no face")
    return _("HOG (dlib)")
