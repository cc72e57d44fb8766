"""search_run on the real engine and pictures, and who may see which faces."""

import pytest
from django.core.files.storage import default_storage

from portal.audit.services import Actor
from portal.audit.models import AuditEvent
from portal.faces.errors import NoFaceFound
from portal.gallery.models import Face, LegalBasis
from portal.gallery.services import image_ingest, subject_create, subject_enrol
from portal.search.models import Band, Search, SearchMatch
from portal.search.services import SearchInvalid, search_run
from tenants.context import tenant_scope
from tests.builders import AUTHORISED

pytestmark = pytest.mark.django_db


def _enrol(tenant, faces_dir, filename, label):
    actor = Actor.system("test")
    subject = subject_create(tenant=tenant, label=label, actor=actor)
    subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / filename).read_bytes(), actor=actor,
                  legal_basis=LegalBasis.LAW_ENFORCEMENT)
    return subject


def _search(world, faces_dir, filename, **kwargs):
    kwargs.setdefault("case_reference", "CASE-1")
    kwargs.setdefault("purpose", "test")
    kwargs.setdefault("authorisation", AUTHORISED)
    return search_run(tenant=world.tenant, actor=Actor.of_user(world.investigator),
                      probe=(faces_dir / filename).read_bytes(), **kwargs)


def _labels(search):
    with tenant_scope(search.tenant):
        return [(m.face.subject.label if m.face.subject else None, m.band)
                for m in SearchMatch.objects.filter(search=search).select_related("face__subject")]


def test_search_finds_the_right_person_first_and_stores_everything(two_tenants, faces_dir):
    a = two_tenants.a
    _enrol(a.tenant, faces_dir, "obama_1.jpg", "Obama")
    _enrol(a.tenant, faces_dir, "biden_1.jpg", "Biden")
    search = _search(a, faces_dir, "obama_2.jpg")
    labels = _labels(search)
    assert labels[0] == ("Obama", Band.STRONG)
    assert labels[1][0] == "Biden" and labels[1][1] == Band.BELOW
    with tenant_scope(a.tenant):
        stored = Search.objects.get(pk=search.pk)
        assert stored.case_reference == "CASE-1" and stored.actor_user == a.investigator
        assert default_storage.exists(stored.probe.name)
        assert stored.probe_expires_at > stored.created_at
        assert AuditEvent.objects.filter(action="search.run", target_id=str(search.public_id)).exists()
    assert set(search.timings_ms) == {"detect", "query", "total"}


def test_a_tenant_never_sees_another_tenants_gallery(two_tenants, faces_dir):
    _enrol(two_tenants.a.tenant, faces_dir, "obama_1.jpg", "Obama")
    search = _search(two_tenants.b, faces_dir, "obama_2.jpg")
    assert _labels(search) == []


def test_platform_index_is_searched_only_by_entitled_tenants(two_tenants, faces_dir):
    image_ingest(tenant=None, data=(faces_dir / "biden_1.jpg").read_bytes(), actor=Actor.system("test"),
                 legal_basis=LegalBasis.PUBLIC_RECORD, source_url="https://news.example.fr/biden.jpg")
    entitled = _search(two_tenants.a, faces_dir, "biden_2.jpg")
    assert len(_labels(entitled)) == 1 and _labels(entitled)[0][1] == Band.STRONG
    not_entitled = _search(two_tenants.b, faces_dir, "biden_2.jpg")
    assert _labels(not_entitled) == []


def test_withheld_faces_never_come_back(two_tenants, faces_dir):
    _enrol(two_tenants.a.tenant, faces_dir, "obama_1.jpg", "Obama")
    with tenant_scope(two_tenants.a.tenant):
        Face.objects.update(withheld=True)
    assert _labels(_search(two_tenants.a, faces_dir, "obama_2.jpg")) == []


def test_chosen_face_of_a_group_picture_is_searched(two_tenants, faces_dir):
    a = two_tenants.a
    _enrol(a.tenant, faces_dir, "obama_1.jpg", "Obama")
    _enrol(a.tenant, faces_dir, "biden_1.jpg", "Biden")
    firsts = {_labels(_search(a, faces_dir, "group_obama_biden_1.jpg", face_index=i))[0][0] for i in (0, 1)}
    assert firsts == {"Obama", "Biden"}


@pytest.mark.parametrize("kwargs, field", [
    ({"case_reference": ""}, "case_reference"),
    ({"purpose": ""}, "purpose"),
    ({"k": 0}, "k"),
    ({"k": 1000}, "k"),
    ({"threshold": 1.5}, "threshold"),
    ({"face_index": 5}, "face_index"),
])
def test_invalid_parameters_are_refused_and_store_nothing(two_tenants, faces_dir, kwargs, field):
    with pytest.raises(SearchInvalid) as error:
        _search(two_tenants.a, faces_dir, "obama_2.jpg", **kwargs)
    assert error.value.field == field
    with tenant_scope(two_tenants.a.tenant):
        assert Search.objects.count() == 0


def test_case_reference_is_optional_where_the_tenant_says_so(two_tenants, faces_dir):
    two_tenants.b.tenant.case_reference_required = False
    search = _search(two_tenants.b, faces_dir, "obama_2.jpg", case_reference="", purpose="")
    assert search.status == Search.Status.COMPLETED


def test_probe_without_a_face_stores_nothing(two_tenants, faces_dir, tmp_path):
    from io import BytesIO

    from PIL import Image as PILImage

    blank = BytesIO()
    PILImage.new("RGB", (400, 300), (120, 160, 200)).save(blank, "JPEG")
    with pytest.raises(NoFaceFound):
        search_run(tenant=two_tenants.a.tenant, actor=Actor.system("test"), probe=blank.getvalue(),
                   case_reference="C", purpose="p", authorisation=AUTHORISED)
    with tenant_scope(two_tenants.a.tenant):
        assert Search.objects.count() == 0
