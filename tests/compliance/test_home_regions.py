"""A regional order covering a tenant's home country refuses its pictures of unknown region
(portal/compliance/home_regions.py): the tenant is told on its gallery and enrolment pages, and the
operator is warned in the order's preview, before activation."""

import pytest

from portal.audit.services import Actor
from portal.compliance.home_regions import home_region_refusals, tenants_blocked_unknown_region
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.gallery.gates import IngestRefused
from portal.gallery.models import LegalBasis, Subject
from portal.gallery.services import image_ingest
from portal.platform.models import SealedTOTPDevice
from tenants.context import tenant_scope
from tests.builders import order_fields
from tests.factories import UserFactory, totp_token

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def _regional(**fields) -> RegulatoryOrder:
    return order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, **fields))


def test_an_fr_order_blocks_the_tenant_at_home_in_france_only_and_says_so_before_and_after(two_tenants, faces_dir):
    a, b = two_tenants.a.tenant, two_tenants.b.tenant  # homes GB and FR
    draft = _regional(regions=["FR"], reference="CNIL-HOME")
    assert [t.slug for t in tenants_blocked_unknown_region(order=draft)] == [b.slug]
    assert tenants_blocked_unknown_region(order=_regional(regions=["FR-75C"])) == []  # a subdivision: not all of FR
    assert tenants_blocked_unknown_region(order=_regional(regions=["DE"], include_unknown_region=True)) == []
    assert [t.slug for t in tenants_blocked_unknown_region(order=_regional(regions=["FR"], scope_all=False,
                                                                           scope_tenants=[a]))] == []
    with tenant_scope(b):
        assert home_region_refusals(tenant=b) == []  # a draft refuses nothing

    order_activate(order=draft, actor=SYSTEM)
    with tenant_scope(b):
        assert [o.reference for o in home_region_refusals(tenant=b)] == ["CNIL-HOME"]
    with tenant_scope(a):
        assert home_region_refusals(tenant=a) == []
    # What the notice explains is what ingest does: B's picture of unknown region is refused, A's is not.
    data = (faces_dir / "obama_1.jpg").read_bytes()
    with pytest.raises(IngestRefused, match="CNIL-HOME"):
        image_ingest(tenant=b, data=data, actor=SYSTEM, legal_basis=LegalBasis.CONSENT)
    assert image_ingest(tenant=a, data=data, actor=SYSTEM, legal_basis=LegalBasis.CONSENT).created


def test_gallery_and_enrolment_pages_tell_the_blocked_tenant_why(client, two_tenants):
    order_activate(order=_regional(regions=["FR"], reference="CNIL-HOME"), actor=SYSTEM)
    b, a = two_tenants.b, two_tenants.a
    with tenant_scope(b.tenant):
        subject = Subject.objects.create(tenant=b.tenant, label="Bob")
    client.force_login(b.investigator)
    for path in ("/t/retailer-b/subjects/", f"/t/retailer-b/subjects/{subject.public_id}/"):
        page = client.get(path).content.decode()
        assert "Pictures of unknown region are refused." in page and "CNIL-HOME" in page, path
        assert "your home country, FR" in page
    client.force_login(a.investigator)
    assert "Pictures of unknown region are refused." not in client.get("/t/agency-a/subjects/").content.decode()


def test_the_order_preview_names_the_tenants_it_will_block(client, two_tenants):
    order = _regional(regions=["FR"], reference="CNIL-HOME")
    operator = UserFactory(is_staff=True)
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.force_login(operator)
    client.post("/platform/2fa/verify/", {"token": totp_token(device), "next": "/platform/"})
    page = client.get(f"/platform/orders/{order.pk}/").content.decode()
    assert "stops one tenant from ingesting pictures of unknown region" in page
    assert "Retailer B (retailer-b), home country FR" in page and "agency-a" not in page
    preview = client.get(f"/api/v1/platform/orders/{order.pk}/preview/").json()
    assert [t["slug"] for t in preview["blocked_unknown_region"]] == ["retailer-b"]
