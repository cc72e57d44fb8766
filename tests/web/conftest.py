import pytest

from portal.search.models import Search
from portal.gallery.models import Subject
from tenants.context import tenant_scope


def search_make(*, tenant, user, case_reference="CASE-1", **fields) -> Search:
    with tenant_scope(tenant):
        return Search.objects.create(
            tenant=tenant, actor_user=user, actor_label=user.email, case_reference=case_reference,
            purpose="test", probe_sha256="0" * 64, k=10, threshold=0.9, status=Search.Status.COMPLETED, **fields)


def subject_make(*, tenant, label="Subject") -> Subject:
    with tenant_scope(tenant):
        return Subject.objects.create(tenant=tenant, label=label)


@pytest.fixture
def objects(two_tenants):
    """A search and a subject in each tenant, for pages that show one object."""
    a, b = two_tenants.a, two_tenants.b
    return {
        "a_search": search_make(tenant=a.tenant, user=a.investigator),
        "b_search": search_make(tenant=b.tenant, user=b.investigator),
        "a_subject": subject_make(tenant=a.tenant, label="Alice"),
        "b_subject": subject_make(tenant=b.tenant, label="Bob"),
    }
