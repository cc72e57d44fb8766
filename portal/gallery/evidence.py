"""New evidence about a picture already held.

Re-importing the same bytes with provenance the picture did not have (another region, another
source) is evidence about where it came from, not a duplicate to skip: it is recorded on the
picture (`ImageEvidence`: who declared what, when, the first import's statement included), the
picture's provenance columns take it, and the ingest gates run again over the picture as it now
stands. A picture that an order in force or an opt-out now covers is withheld at once (the search
query tests the face's own columns, so it is hidden from the commit) and deleted by the next
sweep's enforcement, like any covered picture.

Which provenance is in force: a source URL replaces the one held; a region replaces the one held
unless its evidence is weaker (declared > EXIF GPS > source country domain > tenant home >
unknown): a re-import that declares nothing does not undo a declared region.
"""

from __future__ import annotations

import io

from django.utils import timezone
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from portal.audit.services import Actor, audit_record
from portal.faces.imaging import image_gps_read
from portal.gallery.gates import IngestRefused, ingest_gates_check
from portal.gallery.models import Face, Image, ImageEvidence
from portal.gallery.regions import RegionEvidence, region_resolve
from tenants.context import scope_atomic
from tenants.models import Tenant

_STRENGTH = {RegionEvidence.DECLARED: 4, RegionEvidence.EXIF_GPS: 3, RegionEvidence.SOURCE_DOMAIN: 2,
             RegionEvidence.TENANT_HOME: 1, RegionEvidence.UNKNOWN: 0}


def picture_gps_read(*, data: bytes) -> tuple[float, float] | None:
    """The picture's EXIF position, without decoding its pixels (the face engine does not run)."""
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            return image_gps_read(image=picture)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def image_evidence_apply(*, tenant: Tenant | None, image: Image, actor: Actor, legal_basis: str, source_url: str,
                         source_domain: str, region: str | None,
                         gps: tuple[float, float] | None) -> tuple[bool, str]:
    """Records new provenance of a held picture and re-applies the gates; returns (recorded, the
    reference of the order or opt-out that now covers it, or ""). Runs in the gallery's scope.
    Provenance the picture has already changes nothing."""
    new_region, new_evidence = region_resolve(declared=region, gps=gps, source_url=source_url or None,
                                              tenant_home=tenant.home_country if tenant else None)
    region_after, evidence_after = image.region, image.region_evidence
    if new_region != image.region and _STRENGTH[new_evidence] >= _STRENGTH[RegionEvidence(image.region_evidence)]:
        region_after, evidence_after = new_region, new_evidence
    source_url_after, domain_after = (source_url, source_domain) if source_domain else (image.source_url,
                                                                                       image.source_domain)
    if (region_after, domain_after) == (image.region, image.source_domain):
        return False, ""

    embeddings = [face.embedding for face in Face.objects.filter(image=image)]
    withheld_by = ""
    try:
        ingest_gates_check(tenant=tenant, region=region_after, source_domain=domain_after, embeddings=embeddings)
    except IngestRefused as refusal:
        withheld_by = refusal.reference or "opt-out"

    now = timezone.now()
    with scope_atomic():
        image = Image.objects.select_for_update().get(pk=image.pk, tenant=tenant)
        before = {"region": image.region, "region_evidence": image.region_evidence,
                  "source_domain": image.source_domain}
        if not ImageEvidence.objects.filter(image=image).exists():
            # The first import's statement, so the history starts where the picture did.
            ImageEvidence.objects.create(
                tenant=tenant, image=image, source_url=image.source_url, source_domain=image.source_domain,
                region=image.region, region_evidence=image.region_evidence, legal_basis=image.legal_basis,
                declared_by_id=image.uploaded_by_id, declared_at=image.created_at)
        ImageEvidence.objects.create(
            tenant=tenant, image=image, source_url=source_url, source_domain=source_domain, region=new_region,
            region_evidence=new_evidence, legal_basis=legal_basis, declared_by_id=actor.user_id,
            declared_by_label=actor.label[:200], declared_at=now, withheld_by_order=withheld_by[:100])
        image.region, image.region_evidence = region_after, evidence_after
        image.source_url, image.source_domain = source_url_after, domain_after
        image.withheld = image.withheld or bool(withheld_by)
        image.save(update_fields=["region", "region_evidence", "source_url", "source_domain", "withheld"])
        faces = Face.objects.filter(image=image)
        faces.update(region=region_after, source_domain=domain_after)
        if withheld_by:
            faces.update(withheld=True)
        audit_record(action="image.evidence", actor=actor, tenant=tenant, target_type="image",
                     target_id=image.public_id,
                     details={"before": before, "after": {"region": region_after, "region_evidence": evidence_after,
                                                          "source_domain": domain_after},
                              "declared": {"region": new_region, "region_evidence": new_evidence,
                                           "source_domain": source_domain},
                              "withheld_by": withheld_by})
    return True, withheld_by
