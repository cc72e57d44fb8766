"""A gallery across three tenants and the platform index, built directly with synthetic unit
embeddings (fast), with real files for originals, thumbnails and crops so that file deletion is checked."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from portal.audit.services import Actor
from portal.gallery.models import Face, Image, LegalBasis
from portal.search.authorisations import AuthorisationGiven
from portal.search.models import Search, SearchMatch
from tenants.context import dangerously_unscoped, tenant_scope
from tests.factories import TenantFactory

_rng = np.random.default_rng(20260521)


def nearest_through_graph(*, tenant, embedding, k: int) -> tuple[list, str]:
    """A tenant-only search made to take its partition's index as on a large table (a few rows
    would be sorted exactly), and the analysed plan of the branch that ran. The caller sets
    SEARCH_EXACT_SCAN_BELOW = -1, so that the statement's graph branch is the one chosen."""
    from portal.search.selectors import tenant_faces_nearest

    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with tenant_scope(tenant):
        with connection.cursor() as cursor:
            for setting in ("enable_sort", "enable_seqscan", "enable_bitmapscan"):
                cursor.execute(f"SET LOCAL {setting} = off")
        with connection.execute_wrapper(capture):
            found = tenant_faces_nearest(tenant=tenant, embedding=embedding, k=k, include_platform_index=False)
        sql, params = statements[-1]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) " + sql, params)
            plan = "\n".join(line for (line,) in cursor.fetchall() if "never executed" not in line)
    return found, plan


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
        image.thumbnail.save("thumb.jpg", ContentFile(b"thumbnail"), save=False)
        image.save()
        gallery.images[image.pk] = (tenant.pk if tenant else None, region, source_domain)
        gallery.files[image.file.name] = image.pk
        gallery.files[image.thumbnail.name] = image.pk
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


def review_give(*, world, search, match, user, verdict="confirmed", reason="Same scar above the left eye."):
    """A verdict by a member, through the review service (the rule and its refusals apply)."""
    from portal.search.reviews import match_review_add
    from tenants.context import tenant_scope
    from tenants.models import Membership

    with tenant_scope(world.tenant):
        membership = Membership.objects.select_related("user").get(tenant=world.tenant, user=user)
        return match_review_add(tenant=world.tenant, search=search, match=match, reviewer=membership,
                                verdict=verdict, reason=reason, actor=Actor.of_user(user))


def search_in_year(*, world, when, purpose="robbery suspect", leads=0, below=0, **fields) -> Search:
    """A search of the world's investigator run at `when`, with `leads` matches at or above its
    threshold and `below` under it, and any other Search fields (authorisation, urgent...)."""
    gallery = Gallery(tenants=[world.tenant])
    for _n in range(leads + below):
        picture_add(gallery, tenant=world.tenant, region="GB")
    search = search_add(tenant=world.tenant, face_ids=sorted(gallery.faces))
    with dangerously_unscoped(reason="test searches"):
        Search.objects.filter(pk=search.pk).update(actor_user=world.investigator, actor_label=world.investigator.email,
                                                   purpose=purpose, created_at=when, **fields)
        for match in SearchMatch.objects.filter(search=search).order_by("rank"):
            lead = match.rank <= leads
            SearchMatch.objects.filter(pk=match.pk).update(similarity=0.95 if lead else 0.5,
                                                           band="strong" if lead else "below")
        search.refresh_from_db()
    return search


@dataclass
class YearlyWorld:
    """What `yearly_world` built, and the figures each report must show."""

    two_tenants: object
    searches: dict
    expected_a: dict
    expected_b: dict


def _at(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


@pytest.fixture
def yearly_world(two_tenants) -> YearlyWorld:
    """Searches of 2025 and 2026 in both tenants, with verdicts given and evidence packs exported
    through the services, and the 2026 figures they make (the yearly report)."""
    from portal.search.evidence import evidence_pack_export
    from tenants.context import tenant_scope

    a, b = two_tenants.a, two_tenants.b
    reviewers_allow(tenant=a.tenant, users=[a.owner, a.admin])
    reviewers_allow(tenant=b.tenant, users=[b.owner, b.admin])
    granted = {"authorisation": "granted", "authorisation_authority": "Crown Court",
               "authorisation_reference": "AUTH-1", "authorisation_date": date(2026, 1, 1)}
    s = {
        "s1": search_in_year(world=a, when=_at(2026, 3, 10, 12), purpose="Robbery suspect", leads=2, below=1, **granted),
        "s2": search_in_year(world=a, when=_at(2026, 3, 20), purpose="  robbery   SUSPECT ", leads=1, urgent=True,
                             authorisation="pending", authorisation_due_at=timezone.now() + timedelta(hours=47)),
        "s3": search_in_year(world=a, when=_at(2026, 7, 1), purpose="Missing person", leads=1, urgent=True, **granted),
        "s4": search_in_year(world=a, when=_at(2026, 8, 1), purpose="missing person", leads=1, urgent=True,
                             authorisation="pending", authorisation_due_at=_at(2026, 8, 3)),
        "s5": search_in_year(world=a, when=_at(2026, 9, 1), purpose="Missing person", urgent=True,
                             authorisation="refused", results_erased_at=_at(2026, 9, 2)),
        "s6": search_in_year(world=a, when=_at(2025, 12, 31, 23, 59, 59, 999999), leads=1, **granted),
        "s7": search_in_year(world=a, when=_at(2026, 1, 1), purpose="", **granted),
        "b1": search_in_year(world=b, when=_at(2026, 5, 5), purpose="shoplifting", leads=1),
        "b2": search_in_year(world=b, when=_at(2026, 6, 6), purpose="Shoplifting"),
    }
    with tenant_scope(a.tenant):
        m1, m2, _below = SearchMatch.objects.filter(search=s["s1"]).order_by("rank")
        [m4] = SearchMatch.objects.filter(search=s["s2"])
        [m5] = SearchMatch.objects.filter(search=s["s3"])
    with tenant_scope(b.tenant):
        [mb] = SearchMatch.objects.filter(search=s["b1"])
    review_give(world=a, search=s["s1"], match=m1, user=a.owner)
    review_give(world=a, search=s["s1"], match=m1, user=a.admin)
    review_give(world=a, search=s["s1"], match=m2, user=a.owner)
    review_give(world=a, search=s["s1"], match=m2, user=a.admin, verdict="rejected", reason="Different ears.")
    review_give(world=a, search=s["s2"], match=m4, user=a.admin, verdict="inconclusive", reason="")
    review_give(world=a, search=s["s3"], match=m5, user=a.owner)
    review_give(world=b, search=s["b1"], match=mb, user=b.owner)
    review_give(world=b, search=s["b1"], match=mb, user=b.admin)
    for world, search, match, formats in ((a, s["s1"], m1, ("pdf", "json")), (b, s["b1"], mb, ("json",))):
        with tenant_scope(world.tenant):
            for export_format in formats:
                evidence_pack_export(tenant=world.tenant, search=search, match=match, format=export_format, via="page",
                                     actor=Actor.of_user(world.investigator))
    expected_a = {
        "searches": {"total": 6, "by_month": [1, 0, 2, 0, 0, 0, 1, 1, 1, 0, 0, 0],
                     "by_purpose": [("Missing person", 3), ("Robbery suspect", 2), ("", 1)],
                     "by_authorisation": {"not_required": 0, "granted": 3, "pending": 1, "refused": 1, "overdue": 1},
                     "results_erased": 1},
        "matches": {"leads_shown": 5, "confirmed": 1, "rejected": 1, "inconclusive": 1},
        "urgent_searches": {"total": 4, "granted": 1, "refused": 1, "overdue": 1, "pending": 1},
        "evidence_pack_exports": {"total": 2, "pdf": 1, "json": 1},
    }
    expected_b = {
        "searches": {"total": 2, "by_month": [0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0],
                     "by_purpose": [("Shoplifting", 2)],
                     "by_authorisation": {"not_required": 2, "granted": 0, "pending": 0, "refused": 0, "overdue": 0},
                     "results_erased": 0},
        "matches": {"leads_shown": 1, "confirmed": 1, "rejected": 0, "inconclusive": 0},
        "urgent_searches": {"total": 0, "granted": 0, "refused": 0, "overdue": 0, "pending": 0},
        "evidence_pack_exports": {"total": 1, "pdf": 0, "json": 1},
    }
    return YearlyWorld(two_tenants=two_tenants, searches=s, expected_a=expected_a, expected_b=expected_b)


def report_figures(data: dict) -> dict:
    """A report's JSON figures in the shape of YearlyWorld's expectations (months as a list,
    purposes as pairs), for comparing."""
    searches = data["searches"]
    return {
        "searches": {**searches, "by_month": list(searches["by_month"].values()),
                     "by_purpose": [(p["purpose"], p["searches"]) for p in searches["by_purpose"]]},
        "matches": data["matches"], "urgent_searches": data["urgent_searches"],
        "evidence_pack_exports": data["evidence_pack_exports"],
    }
