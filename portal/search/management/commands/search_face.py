"""`search_face`: searches pictures in a tenant's galleries from the command line (audited)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import Actor
from portal.faces.errors import FaceEngineError
from portal.search.authorisations import AuthorisationGiven, AuthorisationInvalid
from portal.search.selectors import search_matches
from portal.search.services import SearchInvalid, search_run
from tenants.context import tenant_scope
from tenants.models import Tenant

ACTOR = Actor.system("command: search_face")


class Command(BaseCommand):
    help = ("Searches each picture's largest face among the faces the tenant may see and prints the matches "
            "(one JSON object per picture per line with --json). Every search is stored and audited.")

    def add_arguments(self, parser):
        parser.add_argument("pictures", nargs="+", metavar="PICTURE")
        parser.add_argument("--tenant", required=True, metavar="SLUG")
        parser.add_argument("--json", action="store_true", help="One JSON object per picture per line.")
        parser.add_argument("--k", type=int, default=None, help="How many matches (default: the portal's).")
        parser.add_argument("--threshold", type=float, default=None,
                            help="Similarity from which a match is a lead (default: the calibrated one).")
        parser.add_argument("--case-reference", default="")
        parser.add_argument("--purpose", default="")
        authorisation = parser.add_argument_group(
            "authorisation", "Law-enforcement tenants (EU AI Act Art. 26(10)): an authorisation granted in advance, "
                             "or --urgent and the authorisation recorded within 48 hours.")
        authorisation.add_argument("--authority", default="", help="The court or authority that authorised it.")
        authorisation.add_argument("--authorisation-reference", default="")
        authorisation.add_argument("--authorisation-date", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD")
        authorisation.add_argument("--urgent", action="store_true")

    def handle(self, *args, pictures, tenant, k, threshold, case_reference, purpose, authority,
               authorisation_reference, authorisation_date, urgent, **options):
        try:
            tenant = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"There is no tenant {tenant!r}.") from None
        if tenant.case_reference_required and not (case_reference.strip() and purpose.strip()):
            raise CommandError(f"{tenant.name} requires a case reference and a purpose for every search: "
                               f"pass --case-reference and --purpose.")
        parameters = {"case_reference": case_reference, "purpose": purpose, "threshold": threshold,
                      "authorisation": AuthorisationGiven(authority=authority, reference=authorisation_reference,
                                                          date=authorisation_date, urgent=urgent)}
        if k is not None:
            parameters["k"] = k
        for picture in pictures:
            report = self._search(tenant=tenant, picture=picture, parameters=parameters)
            self.stdout.write(_json_line(report) if options["json"] else _text(report))

    def _search(self, *, tenant: Tenant, picture: str, parameters: dict) -> dict:
        try:
            probe = Path(picture).read_bytes()
        except OSError as error:
            return _error(picture, "unreadable", f"The picture cannot be read: {error.strerror or error}.")
        try:
            search = search_run(tenant=tenant, actor=ACTOR, probe=probe, **parameters)
        except (SearchInvalid, AuthorisationInvalid) as error:
            # The same parameters go with every picture: none would succeed.
            raise CommandError(error.message) from None
        except FaceEngineError as error:
            return _error(picture, error.code, error.message)
        with tenant_scope(tenant):
            matches = [_match(match) for match in search_matches(search=search)]
        return {"picture": picture, "matches": matches, "search_id": str(search.public_id),
                "timings_ms": search.timings_ms}


def _error(picture: str, code: str, message: str) -> dict:
    return {"picture": picture, "error": {"code": code, "message": message}}


def _match(match) -> dict:
    image = match.face.image
    return {
        "id": str(match.public_id),
        # A search just run has no verdicts: every match is a lead for two people to confirm (#12).
        "unconfirmed_lead": True,
        "rank": match.rank,
        "similarity": round(match.similarity, 4),
        "band": match.band,
        "subject": match.face.subject.label if match.face.subject else None,
        "provenance": {
            "image_id": str(image.public_id),
            "gallery": "platform" if image.tenant_id is None else "tenant",
            "source_url": image.source_url,
            "source_domain": image.source_domain,
            "region": image.region,
            "region_evidence": image.region_evidence,
            "legal_basis": image.legal_basis,
            "collected_at": image.collected_at.isoformat() if image.collected_at else None,
        },
    }


def _json_line(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, separators=(",", ":"))


def _text(report: dict) -> str:
    if "error" in report:
        return f"{report['picture']}: {report['error']['message']} ({report['error']['code']})"
    lines = [f"{report['picture']}: {len(report['matches'])} match(es), search {report['search_id']}, "
             f"{report['timings_ms'].get('total', 0):.0f} ms; every match is an unconfirmed lead"]
    for match in report["matches"]:
        where = match["provenance"]
        source = where["source_domain"] or "upload"
        lines.append(f"  {match['rank']:>3}. {match['similarity']:.3f} {match['band']:<8} "
                     f"{match['subject'] or '-':<24} image {where['image_id']} ({where['gallery']}, {source}, "
                     f"region {where['region'] or 'unknown'} by {where['region_evidence']}, {where['legal_basis']})")
    return "\n".join(lines)
