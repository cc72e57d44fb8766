"""Subject erasure and opt-outs on the real face engine and the pictures in ../shared/faces."""

import pytest
from django.core.files.storage import default_storage

from portal.audit.services import Actor
from portal.compliance.models import OptOut, RegulatoryOrder
from portal.compliance.enforcement import order_enforce
from portal.compliance.opt_outs import opt_out_confirm, opt_out_create, opt_out_reject
from portal.compliance.orders import order_activate, order_create
from portal.gallery.gates import IngestRefused
from portal.gallery.models import Image, LegalBasis
from portal.gallery.services import image_ingest
from portal.search.models import Search, SearchMatch
from portal.search.services import search_run
from tenants.context import dangerously_unscoped, tenant_scope
from tests.builders import AUTHORISED, order_fields
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def _ingest(tenant, faces_dir, name, region=None):
    return image_ingest(tenant=tenant, data=(faces_dir / name).read_bytes(), actor=SYSTEM,
                        legal_basis=LegalBasis.LAW_ENFORCEMENT, region=region).image


def _search(tenant, faces_dir, name):
    return search_run(tenant=tenant, actor=SYSTEM, probe=(faces_dir / name).read_bytes(), case_reference="C-1",
                      purpose="test", authorisation=AUTHORISED)


def _images():
    with dangerously_unscoped(reason="test"):
        return {(image.tenant_id, image.sha256): image for image in Image.objects.all()}


@pytest.fixture
def real_gallery(two_tenants, faces_dir):
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    c = TenantFactory(slug="tenant-c", home_country="DE")
    placed = {
        "obama": [(a, "obama_2.jpg"), (a, "obama_3.jpg"), (b, "obama_small.jpg"), (c, "obama_240p.jpg"),
                  (None, "obama_2.jpg")],
        "group": [(c, "group_obama_biden_1.jpg")],
        "others": [(a, "biden_1.jpg"), (b, "kit_harington_1.jpg"), (c, "rose_leslie_1.jpg"), (None, "biden_2.jpg")],
    }
    images = {kind: [_ingest(t, faces_dir, name) for t, name in items] for kind, items in placed.items()}
    return a, b, c, images


def test_subject_erasure_removes_every_picture_of_the_person_everywhere_and_refuses_new_ones(real_gallery, faces_dir):
    a, b, c, images = real_gallery
    probe_search = _search(a, faces_dir, "obama_1.jpg")  # a probe of the person: covered too
    other_search = _search(b, faces_dir, "kit_harington_2.jpg")
    order = order_create(**order_fields(kind=RegulatoryOrder.Kind.SUBJECT,
                                        reference_pictures=[(faces_dir / "obama_4.jpg").read_bytes()]))
    order = order_activate(order=order, actor=SYSTEM)
    assert order.covered["images"] == 6 and order.covered["probes"] == 1
    order = order_enforce(order=order, batch_size=2)
    assert order.status == RegulatoryOrder.Status.VERIFIED

    left = _images()
    gone = [img for img in images["obama"] + images["group"]]
    assert not any((img.tenant_id, img.sha256) in left for img in gone)
    assert all((img.tenant_id, img.sha256) in left for img in images["others"])
    with dangerously_unscoped(reason="test"):
        cleared = Search.objects.get(pk=probe_search.pk)
        assert cleared.probe.name == "" and cleared.probe_embedding is None
        assert not SearchMatch.objects.filter(search=probe_search).exists()
        assert Search.objects.get(pk=other_search.pk).probe.name != ""

    for tenant in (a, b, c, None):
        with pytest.raises(IngestRefused) as refused:
            _ingest(tenant, faces_dir, "obama_1.jpg")
        assert refused.value.reference == order.reference
    _ingest(a, faces_dir, "kit_harington_2.jpg")  # someone else is still welcome


def test_operator_opt_out_erases_and_suppresses(real_gallery, two_tenants, faces_dir, user_factory):
    a, b, c, images = real_gallery
    operator = user_factory(is_staff=True)
    opt_out = opt_out_create(pictures=[(faces_dir / "obama_1.jpg").read_bytes()], contact="person@example.test",
                             consent=True, channel=OptOut.Channel.OPERATOR, actor=Actor.of_user(operator),
                             region="FR")
    order = opt_out_confirm(opt_out=opt_out, actor=Actor.of_user(operator))
    assert order.kind == RegulatoryOrder.Kind.SUBJECT and order.opt_out_id == opt_out.pk
    thumbnails = [img.thumbnail.name for img in images["obama"] + images["group"]]  # the group shows him too
    assert thumbnails and all(default_storage.exists(name) for name in thumbnails)
    order = order_enforce(order=order)
    left = _images()
    assert not any((img.tenant_id, img.sha256) in left for img in images["obama"])
    # The erasure deleted the thumbnails made at ingest with the pictures, and its verification
    # checked them absent.
    assert not any(default_storage.exists(name) for name in thumbnails)
    assert order.verification["passed"] and order.verification["files_checked_by_kind"]["thumbnail"] == len(thumbnails)
    opt_out.refresh_from_db()
    assert opt_out.embeddings.count() == 1  # suppression kept with consent
    with pytest.raises(IngestRefused, match="opted out|covered"):
        _ingest(b, faces_dir, "obama_partial_face.jpg")


def test_public_opt_out_suppresses_the_platform_index_only_before_review(real_gallery, faces_dir):
    """A public request hides the person from the operator's platform index at once; a tenant's
    own gallery changes only by that tenant's decision (portal/rights/) or an operator's order."""
    a, b, c, images = real_gallery
    opt_out = opt_out_create(pictures=[(faces_dir / "obama_1.jpg").read_bytes()], contact="me@example.test",
                             consent=True, channel=OptOut.Channel.PUBLIC_FORM, actor=Actor(label="public opt-out form"))
    assert opt_out.status == OptOut.Status.RECEIVED
    search = _search(a, faces_dir, "obama_4.jpg")  # tenant a sees its own obama pictures and the platform index
    with tenant_scope(a):
        matched = set(SearchMatch.objects.filter(search=search).values_list("face__image_id", flat=True))
    own = {img.pk for img in images["obama"] if img.tenant_id == a.pk}
    platform = {img.pk for img in images["obama"] if img.tenant_id is None}
    assert own and own <= matched  # the tenant's own pictures stay
    assert platform and not (matched & platform)  # the platform index's are hidden
    with pytest.raises(IngestRefused) as refused:
        _ingest(None, faces_dir, "obama_1.jpg")
    assert refused.value.reference.startswith("opt-out ")
    _ingest(a, faces_dir, "obama_1.jpg")  # the tenant's gallery is the tenant's to decide
    # Confirmed, it erases from the platform index only.
    order = opt_out_confirm(opt_out=opt_out, actor=SYSTEM)
    assert (order.scope_all, order.scope_tenant_ids, order.scope_platform_index) == (False, [], True)
    order_enforce(order=order)
    left = _images()
    assert not any((img.tenant_id, img.sha256) in left for img in images["obama"] if img.tenant_id is None)
    assert all((img.tenant_id, img.sha256) in left for img in images["obama"] if img.tenant_id is not None)


def test_rejected_public_opt_out_ends_its_suppression(real_gallery, faces_dir):
    opt_out = opt_out_create(pictures=[(faces_dir / "obama_1.jpg").read_bytes()], contact="me@example.test",
                             consent=True, channel=OptOut.Channel.PUBLIC_FORM, actor=Actor(label="public opt-out form"))
    with pytest.raises(IngestRefused):
        _ingest(None, faces_dir, "obama_1.jpg")
    # Rejected (e.g. not the person): suppression ends and the embeddings are dropped.
    opt_out_reject(opt_out=opt_out, actor=SYSTEM, reason="identity not confirmed")
    _ingest(None, faces_dir, "obama_1.jpg")


def test_opt_out_needs_consent(faces_dir):
    from portal.compliance.errors import OrderInvalid

    with pytest.raises(OrderInvalid):
        opt_out_create(pictures=[(faces_dir / "obama_1.jpg").read_bytes()], contact="x@example.test", consent=False,
                       channel=OptOut.Channel.PUBLIC_FORM, actor=SYSTEM)
