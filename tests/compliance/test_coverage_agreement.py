"""One definition of "covered" (portal/compliance/coverage.py), asked by five parts of the product.

For each kind of order, on a gallery across three tenants and the platform index, the pictures
that ingest refuses, that search no longer returns, that the preview counts, that enforcement
deletes and that verification checks are one and the same set, and that set is what the order
says in words (written here independently of the SQL).
"""

from collections import Counter

import numpy as np
import pytest
from django.db import connection

from portal.audit.services import Actor
from portal.compliance import coverage, orders, selectors
from portal.compliance.certificates import order_verify
from portal.compliance.enforcement import order_enforce
from portal.compliance.errors import OrderInvalid
from portal.compliance.gates import order_search_exclusion
from portal.compliance.models import RegulatoryOrder
from portal.gallery.gates import IngestRefused, ingest_gates_check, search_exclusions_sql
from portal.gallery.models import Face, Image
from portal.gallery.regions import domain_from_url
from tenants.context import dangerously_unscoped
from tests.builders import order_fields, picture_add

pytestmark = pytest.mark.django_db
Kind = RegulatoryOrder.Kind
Status = RegulatoryOrder.Status

# name -> (order fields given the gallery's tenants, covered(tenant_id, region, source) in words)
ORDERS = {
    "country": (lambda t: dict(kind=Kind.REGIONAL, regions=["FR"]),
                lambda t, tenant_id, region, source: (region or "").split("-")[0] == "FR"),
    "subdivision-and-unknown": (lambda t: dict(kind=Kind.REGIONAL, regions=["US-IL"], include_unknown_region=True),
                                lambda t, tenant_id, region, source: region in ("US-IL", None)),
    "subdivision-covers-its-iso-children": (lambda t: dict(kind=Kind.REGIONAL, regions=["FR-IDF"]),
                                            lambda t, tenant_id, region, source: region == "FR-75C"),
    "source-with-subdomains": (lambda t: dict(kind=Kind.SOURCE, domains=["https://www.social.example/"]),
                               lambda t, tenant_id, region, source: source in ("social.example",
                                                                               "m.social.example")),
    "one-tenant-only": (lambda t: dict(kind=Kind.REGIONAL, regions=["DE"], scope_all=False, scope_tenants=[t[2]],
                                       scope_platform_index=False),
                        lambda t, tenant_id, region, source: region == "DE" and tenant_id == t[2].pk),
    "platform-index-only": (lambda t: dict(kind=Kind.SOURCE, domains=["social.example"], scope_all=False,
                                           scope_tenants=[], scope_platform_index=True),
                            lambda t, tenant_id, region, source: tenant_id is None
                            and source in ("social.example", "m.social.example")),
    "offboarding": (lambda t: dict(kind=Kind.OFFBOARDING, offboard_tenants=[t[1]]),
                    lambda t, tenant_id, region, source: tenant_id == t[1].pk),
}


def _pictures(gallery) -> dict[int, tuple]:
    """image id -> (tenant id, region, source domain, [face embeddings])."""
    embeddings: dict[int, list] = {}
    with dangerously_unscoped(reason="test"):
        for face_id, image_id in Face.objects.values_list("id", "image_id"):
            embeddings.setdefault(image_id, []).append(gallery.faces[face_id][2])
    return {image_id: (*gallery.images[image_id], embeddings[image_id]) for image_id in gallery.images}


def _refused_at_ingest(pictures, tenants_by_id) -> set[int]:
    refused = set()
    for image_id, (tenant_id, region, source, embeddings) in pictures.items():
        try:
            ingest_gates_check(tenant=tenants_by_id[tenant_id], region=region, source_domain=source,
                               embeddings=embeddings)
        except IngestRefused:
            refused.add(image_id)
    return refused


def _hidden_from_search(tenants) -> set[int]:
    """Faces a tenant may read that its search skips: withheld, or excluded by the query itself."""
    hidden = set()
    for tenant in tenants:
        tenant.refresh_from_db()
        excluded, params = search_exclusions_sql(tenant=tenant, include_platform_index=tenant.may_search_platform_index,
                                                 alias="f")
        with dangerously_unscoped(reason="test"), connection.cursor() as cursor:
            cursor.execute(f"SELECT f.id FROM gallery_face f WHERE (f.tenant_id = %s OR (f.tenant_id IS NULL AND %s))"
                           f" AND (f.withheld OR NOT ({excluded}))",
                           [tenant.pk, tenant.may_search_platform_index, *params])
            hidden |= {row[0] for row in cursor.fetchall()}
    return hidden


def _readable_faces(gallery, tenants) -> set[int]:
    readable = set()
    for tenant in tenants:
        readable |= {face_id for face_id, (t, *_rest) in gallery.faces.items()
                     if t == tenant.pk or (t is None and tenant.may_search_platform_index)}
    return readable


@pytest.mark.parametrize("name", [*ORDERS, "subject"])
def test_ingest_search_preview_enforcement_and_verification_agree(world_gallery, monkeypatch, name):
    gallery = world_gallery
    tenants = gallery.tenants  # a, b, c, None (the platform index)
    tenants_by_id = {(t.pk if t else None): t for t in tenants}
    pictures = _pictures(gallery)

    if name == "subject":
        # The person of one picture in retailer B's gallery; the other faces are random and far.
        subject_image = next(i for i, (t, region, *_rest) in pictures.items() if t == tenants[1].pk and region == "GB")
        fields = dict(kind=Kind.SUBJECT, reference_embeddings=[pictures[subject_image][3][0]])
        expected = {subject_image}
    else:
        make_fields, covers = ORDERS[name]
        fields = make_fields(tenants)
        expected = {i for i, (t, region, source, _e) in pictures.items() if covers(tenants, t, region, source)}
    assert expected and expected != set(pictures)
    with dangerously_unscoped(reason="test"):
        image_of = dict(Face.objects.values_list("id", "image_id"))
    expected_faces = {face_id for face_id, image_id in image_of.items() if image_id in expected}

    order = orders.order_create(**order_fields(**fields))
    # Preview, per gallery.
    preview = {row["tenant_id"]: row["images"] for row in selectors.order_preview(order=order)["rows"] if row["images"]}
    assert preview == dict(Counter(pictures[i][0] for i in expected))

    # Activation with the flag-setting step knocked out: what the commit alone hides.
    monkeypatch.setattr(orders, "order_withhold_flags", lambda **kwargs: (0, 0))
    order = orders.order_activate(order=order, actor=Actor.system("test"))
    assert _refused_at_ingest(pictures, tenants_by_id) == expected
    searching = [t for t in tenants if t is not None]
    assert _hidden_from_search(searching) == expected_faces & _readable_faces(gallery, searching)

    # Enforcement deletes exactly the set; verification passes, and fails again for a copy of it.
    order = order_enforce(order=order)
    assert order.status == Status.VERIFIED and order.verification["passed"]
    with dangerously_unscoped(reason="test"):
        assert set(pictures) - set(Image.objects.values_list("id", flat=True)) == expected
    tenant_id, region, source, embeddings = pictures[min(expected)]
    picture_add(gallery, tenant=tenants_by_id[tenant_id], region=region, source_domain=source,
                faces=len(embeddings), embeddings=embeddings)
    with dangerously_unscoped(reason="test"):
        RegulatoryOrder.objects.filter(pk=order.pk).update(status=Status.COMPLETED)
    order = order_verify(order=order, actor=Actor.system("test"))
    assert not order.verification["passed"] and order.verification["rows_remaining"]["images"] == 1


def test_the_search_exclusion_merges_the_orders_in_force_and_hides_what_each_covers(world_gallery, monkeypatch):
    """Every order above in force at once: the search exclusion tests the orders of one kind and
    galleries reached together (coverage.search_exclusion_predicates), and hides exactly the union
    of what each covers."""
    gallery = world_gallery
    tenants = gallery.tenants
    pictures = _pictures(gallery)
    monkeypatch.setattr(orders, "order_withhold_flags", lambda **kwargs: (0, 0))
    expected = set()
    for make_fields, covers in ORDERS.values():
        orders.order_activate(order=orders.order_create(**order_fields(**make_fields(tenants))), actor=Actor.system("test"))
        expected |= {i for i, (t, region, source, _e) in pictures.items() if covers(tenants, t, region, source)}
    with dangerously_unscoped(reason="test"):
        expected_faces = {face_id for face_id, image_id in Face.objects.values_list("id", "image_id")
                          if image_id in expected}
    searching = [t for t in tenants if t is not None]
    assert _hidden_from_search(searching) == expected_faces & _readable_faces(gallery, searching)

    # Six orders reach the third tenant's search with the platform index: the three regional ones
    # for every gallery are one condition. Regional orders for other sets of tenants that include
    # it (for Italy, where the gallery has no picture) join its own tenant-only condition.
    for others in ([tenants[0]], [tenants[1]], [tenants[0], tenants[1]]):
        orders.order_activate(order=orders.order_create(**order_fields(
            kind=Kind.REGIONAL, regions=["IT"], scope_all=False, scope_tenants=[tenants[2], *others],
            scope_platform_index=False)), actor=Actor.system("test"))
    assert _hidden_from_search(searching) == expected_faces & _readable_faces(gallery, searching)
    exclusion = order_search_exclusion(tenant=tenants[2], include_platform_index=True, alias="f", fresh=True)
    assert len(exclusion.conditions) == 4, exclusion.conditions
    with pytest.raises(ValueError):
        coverage.search_exclusion_predicates(orders=[RegulatoryOrder(kind=Kind.SUBJECT)], tenant_id=tenants[2].pk,
                                             include_platform_index=False)


# What a source order covers, evaluated by the SQL definition over a picture's stored source
# domain (ingest stores domain_from_url of the picture's address).
@pytest.mark.parametrize("order_domain, picture_domain, covered", [
    ("example.com", "example.com", True),
    ("example.com", "img.example.com", True),
    ("example.com", "a.b.example.com", True),
    ("Example.COM.", "IMG.example.com", True),
    ("www.example.com", "example.com", True),
    ("example.com", "badexample.com", False),
    ("example.com", "example.com.evil.net", False),
    ("img.example.com", "example.com", False),
    ("example.com", None, False),
    ("example.com", "not a host", False),
    ("bücher.de", "xn--bcher-kva.de", True),
    ("xn--bcher-kva.de", "shop.bücher.de", True),
    ("192.0.2.1", "192.0.2.1", True),
    ("http://[2001:db8::1]:80/", "2001:DB8:0::1", True),
    ("192.0.2.1", "192.0.2.10", False),
    ("192.0.2.1", "10.192.0.2.1", False),
])
def test_source_orders_cover_the_domain_and_its_subdomains_and_addresses_only_exactly(
        order_domain, picture_domain, covered):
    order = RegulatoryOrder(kind=Kind.SOURCE, domains=[domain_from_url(url=order_domain)], scope_all=True)
    stored = (domain_from_url(url=picture_domain) if picture_domain else None) or ""
    predicate = coverage.candidate_predicate(order=order, alias="f")
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM (VALUES (NULL::bigint, NULL::varchar, %s::varchar, NULL::vector))"
                       f" f (tenant_id, region, source_domain, embedding) WHERE {predicate.sql})",
                       [stored, *predicate.params])
        assert cursor.fetchone()[0] is covered


@pytest.mark.parametrize("domain", ["", "   ", "not a host", "0.2.1", "2.1"])
def test_a_source_order_for_something_that_is_not_a_domain_is_refused(domain):
    with pytest.raises(OrderInvalid) as refused:
        orders.order_create(**order_fields(kind=Kind.SOURCE, domains=[domain, "also not a host"]))
    assert refused.value.field == "domains"


def test_a_subject_order_refuses_only_that_person_at_ingest(world_gallery):
    reference = np.asarray(next(iter(world_gallery.faces.values()))[2], dtype=np.float32)
    orders.order_activate(order=orders.order_create(**order_fields(kind=Kind.SUBJECT, reference_embeddings=[reference])),
                          actor=Actor.system("test"))
    with pytest.raises(IngestRefused, match="shows a person covered"):
        ingest_gates_check(tenant=None, region="GB", source_domain="", embeddings=[reference])
    other = np.random.default_rng(7).standard_normal(128).astype(np.float32)
    ingest_gates_check(tenant=None, region="GB", source_domain="", embeddings=[other / np.linalg.norm(other)])
