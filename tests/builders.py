"""A gallery across three tenants and the platform index, built directly with synthetic unit
embeddings (fast), with real files for originals and crops so that file deletion is checked."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from portal.audit.services import Actor
from portal.gallery.models import Face, Image, LegalBasis
from portal.search.authorisations import AuthorisationGiven
from portal.search.models import Search, SearchMatch
from tenants.context import dangerously_unscoped
from tests.factories import TenantFactory

_rng = np.random.default_rng(20260521)


def unit_vector() -> np.ndarray:
    vector = _rng.standard_normal(128).astype(np.float32)
    return vector / np.linalg.norm(vector)


@dataclass
class Gallery:
    tenants: list
    images: dict = field(default_factory=dict)  # image id -> (tenant id, region, source_domain)
    faces: dict = field(default_factory=dict)  # face id -> (tenant id, region, embedding)
    files: dict = field(default_factory=dict)  # file name -> image id

    def ids(self, *, region=None, tenant_id="any", source=None):
        return {face_id for face_id, (t, r, _, s) in self.faces.items()
                if (region is None or (r or "").split("-")[0] == region)
                and (tenant_id == "any" or t == tenant_id) and (source is None or s == source)}


def picture_add(gallery: Gallery, *, tenant, region, source_domain="", faces=1, embeddings=None) -> Image:
    with dangerously_unscoped(reason="test gallery"):
        digest = hashlib.sha256(np.random.bytes(16)).hexdigest()
        image = Image(tenant=tenant, sha256=digest, width=100, height=100, format="JPEG",
                      source_domain=source_domain, source_url=f"https://{source_domain}/p.jpg" if source_domain else "",
                      region=region, legal_basis=LegalBasis.LAW_ENFORCEMENT)
        image.file.save(f"{digest}.jpg", ContentFile(b"original"), save=False)
        image.save()
        gallery.images[image.pk] = (tenant.pk if tenant else None, region, source_domain)
        gallery.files[image.file.name] = image.pk
        for n in range(faces):
            embedding = embeddings[n] if embeddings is not None else unit_vector()
            face = Face(image=image, tenant=tenant, embedding=embedding.tolist(), box_x=0, box_y=0, box_w=10, box_h=10,
                        confidence=0.99, region=region, source_domain=source_domain, engine="synthetic")
            face.crop.save("crop.jpg", ContentFile(b"crop"), save=False)
            face.save()
            gallery.faces[face.pk] = (face.tenant_id, region, embedding, source_domain)
            gallery.files[face.crop.name] = image.pk
    return image


def search_add(*, tenant, face_ids, probe_embedding=None) -> Search:
    with dangerously_unscoped(reason="test searches"):
        search = Search(tenant=tenant, actor_label="test", probe_sha256="0" * 64, k=10, threshold=0.9,
                        status=Search.Status.COMPLETED,
                        probe_embedding=(probe_embedding if probe_embedding is not None else unit_vector()).tolist())
        search.probe.save("probe.jpg", ContentFile(b"probe"), save=False)
        search.save()
        for rank, face_id in enumerate(face_ids, start=1):
            SearchMatch.objects.create(search=search, tenant=tenant, face_id=face_id, rank=rank, similarity=0.5,
                                       band="below")
    return search


@pytest.fixture
def world_gallery(two_tenants):
    """Three tenants and the platform index, each with FR, FR-subdivision, DE, US-IL, US and
    unknown-region pictures, some from social.example and its subdomains; and searches whose
    matches point across regions."""
    c = TenantFactory(slug="tenant-c", name="Tenant C", home_country="DE")
    tenants = [two_tenants.a.tenant, two_tenants.b.tenant, c, None]
    gallery = Gallery(tenants=tenants)
    for tenant in tenants:
        for region, source in [("FR", ""), ("FR", "social.example"), ("FR-75C", ""), ("DE", ""),
                               ("DE", "m.social.example"), ("US-IL", ""), ("US", ""), ("US-CA", ""), (None, ""),
                               ("GB", "notsocial.example")]:
            picture_add(gallery, tenant=tenant, region=region, source_domain=source, faces=2 if region == "DE" else 1)
    for tenant in tenants[:3]:
        own = [fid for fid, (t, *_rest) in gallery.faces.items() if t == tenant.pk][:4]
        search_add(tenant=tenant, face_ids=own)
    return gallery


def order_fields(**fields):
    today = timezone.localdate()
    base = dict(actor=Actor.system("test"), authority="CNIL", reference=f"DEC-{_rng.integers(1e9)}",
                received_on=today, effective_at=timezone.now(), deadline=today + timedelta(days=60))
    base.update(fields)
    return base


def files_present(gallery: Gallery) -> set[str]:
    return {name for name in gallery.files if default_storage.exists(name)}


def remaining_face_ids() -> set[int]:
    with dangerously_unscoped(reason="test"):
        return set(Face.objects.values_list("id", flat=True))


# What a law-enforcement tenant's search states (portal/search/authorisations.py): an authorisation
# granted in advance, as a service argument and as page-form or API fields.
AUTHORISED = AuthorisationGiven(authority="Crown Court", reference="AUTH-1", date=date(2026, 1, 5))
AUTHORISED_FORM = {"authorisation_authority": "Crown Court", "authorisation_reference": "AUTH-1",
                   "authorisation_date": "2026-01-05"}



def reviewers_allow(*, tenant, users) -> None:
    """Gives these members the review permission, as an owner would."""
    from tenants.context import tenant_scope
    from tenants.models import Membership

    with tenant_scope(tenant):
        Membership.objects.filter(tenant=tenant, user__in=users).update(may_review=True)


def search_with_leads(*, world, leads: int = 2) -> Search:
    """A search run by the world's investigator whose first matches are leads of its own gallery,
    with real crop files (synthetic embeddings: no engine needed)."""
    gallery = Gallery(tenants=[world.tenant])
    for _n in range(leads):
        picture_add(gallery, tenant=world.tenant, region="GB")
    face_ids = sorted(gallery.faces)
    search = search_add(tenant=world.tenant, face_ids=face_ids)
    with dangerously_unscoped(reason="test searches"):
        Search.objects.filter(pk=search.pk).update(actor_user=world.investigator, actor_label=world.investigator.email,
                                                   case_reference="CASE-12", purpose="robbery suspect")
        SearchMatch.objects.filter(search=search).update(similarity=0.95, band="strong")
        search.refresh_from_db()
    return search
