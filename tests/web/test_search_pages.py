"""The search pages on the real face engine and pictures: detect, run, results, crops, errors."""

import io

import pytest
from PIL import Image as PILImage

from portal.audit.services import Actor
from portal.gallery.models import Face, LegalBasis
from portal.gallery.services import image_ingest, subject_create, subject_enrol
from portal.search.models import Search
from tenants.models import Membership
from tenants.context import tenant_scope
from tests.builders import AUTHORISED_FORM
from tests.web.conftest import search_make

pytestmark = pytest.mark.django_db


def _enrol(tenant, faces_dir, filename, label):
    actor = Actor.system("test")
    subject = subject_create(tenant=tenant, label=label, actor=actor)
    subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / filename).read_bytes(), actor=actor,
                  legal_basis=LegalBasis.LAW_ENFORCEMENT)
    return subject


def _upload(faces_dir, filename):
    return open(faces_dir / filename, "rb")


def _blank_jpeg() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (300, 300), (200, 210, 220)).save(buffer, format="JPEG")
    buffer.name = "blank.jpg"
    return buffer.getvalue()


def _search_post(client, faces_dir, filename, **fields):
    data = {"case_reference": "CASE-7", "purpose": "robbery at the station", **AUTHORISED_FORM, **fields}
    with _upload(faces_dir, filename) as picture:
        data["picture"] = picture
        return client.post("/t/agency-a/search/", data)


def test_search_shows_the_right_person_first_with_provenance_and_the_lead_note(client, two_tenants, faces_dir):
    _enrol(two_tenants.a.tenant, faces_dir, "obama_1.jpg", "Barack Obama")
    _enrol(two_tenants.a.tenant, faces_dir, "biden_1.jpg", "Joe Biden")
    client.force_login(two_tenants.a.investigator)
    response = _search_post(client, faces_dir, "obama_2.jpg")
    assert response.status_code == 302
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    leads = page.context["leads"]
    assert leads[0].face.subject.label == "Barack Obama" and leads[0].band == "strong"
    assert "Joe Biden" not in [m.face.subject.label for m in leads]
    assert "investigative lead" in html.lower() and "not identifications" in html
    assert "CASE-7" in html and "Own gallery" in html and "Law-enforcement duty" in html
    assert f'/t/agency-a/faces/{leads[0].face.uuid}/crop.jpg' in html


def test_crops_are_served_through_the_tenant_and_only_to_it(client, two_tenants, faces_dir):
    _enrol(two_tenants.a.tenant, faces_dir, "obama_1.jpg", "Barack Obama")
    client.force_login(two_tenants.a.investigator)
    search_url = _search_post(client, faces_dir, "obama_2.jpg")["Location"]
    search_id = search_url.rstrip("/").split("/")[-1]  # the search's public id
    with tenant_scope(two_tenants.a.tenant):
        face = Face.objects.get()
    crop = client.get(f"/t/agency-a/faces/{face.uuid}/crop.jpg")
    probe = client.get(f"/t/agency-a/searches/{search_id}/probe.jpg")
    for response in (crop, probe):
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert b"".join(response.streaming_content if response.streaming else [response.content])[:2] == b"\xff\xd8"
        assert "private" in response["Cache-Control"]
    # An auditor reads history, so sees crops too.
    client.force_login(two_tenants.a.auditor)
    assert client.get(f"/t/agency-a/faces/{face.uuid}/crop.jpg").status_code == 200
    # The other tenant: neither under its own URL nor under A's.
    client.force_login(two_tenants.b.owner)
    assert client.get(f"/t/retailer-b/faces/{face.uuid}/crop.jpg").status_code == 404
    assert client.get(f"/t/retailer-b/searches/{search_id}/probe.jpg").status_code == 404
    assert client.get(f"/t/agency-a/faces/{face.uuid}/crop.jpg").status_code == 404


def test_platform_index_crop_is_shown_only_after_a_search_returned_it(client, two_tenants, faces_dir):
    result = image_ingest(tenant=None, data=(faces_dir / "kit_harington_1.jpg").read_bytes(),
                          actor=Actor.system("test"), legal_basis=LegalBasis.PUBLIC_RECORD,
                          source_url="https://news.example.org/kit.jpg", region="GB")
    face_uuid = result.faces[0].uuid
    client.force_login(two_tenants.a.investigator)
    assert client.get(f"/t/agency-a/faces/{face_uuid}/crop.jpg").status_code == 404
    page = client.get(_search_post(client, faces_dir, "kit_harington_2.jpg")["Location"])
    assert "Platform index" in page.content.decode() and "news.example.org" in page.content.decode()
    assert client.get(f"/t/agency-a/faces/{face_uuid}/crop.jpg").status_code == 200
    client.force_login(two_tenants.b.owner)  # not entitled to the platform index
    assert client.get(f"/t/retailer-b/faces/{face_uuid}/crop.jpg").status_code == 404


def test_detect_returns_a_box_per_face_largest_first(client, two_tenants, faces_dir):
    client.force_login(two_tenants.a.investigator)
    with _upload(faces_dir, "group_obama_biden_1.jpg") as picture:
        response = client.post("/t/agency-a/search/detect/", {"picture": picture})
    body = response.json()
    assert response.status_code == 200 and len(body["faces"]) == 2
    assert body["width"] > 0 and body["height"] > 0
    areas = [face["w"] * face["h"] for face in body["faces"]]
    assert areas == sorted(areas, reverse=True) and [f["index"] for f in body["faces"]] == [0, 1]


def test_detect_explains_a_bad_picture_and_a_picture_without_a_face(client, two_tenants):
    client.force_login(two_tenants.a.investigator)
    broken = client.post("/t/agency-a/search/detect/", {"picture": io.BytesIO(b"not a picture at all")})
    # The browser's JSON endpoints answer in the API's error shape.
    assert broken.status_code in (400, 415) and broken.json()["error"]["code"] in ("corrupt_image",
                                                                                    "unsupported_image_type")
    blank = io.BytesIO(_blank_jpeg())
    blank.name = "blank.jpg"
    no_face = client.post("/t/agency-a/search/detect/", {"picture": blank})
    assert no_face.status_code == 422 and "No face" in no_face.json()["error"]["message"]
    assert no_face.json()["error"]["code"] == "no_face_found"


def test_detect_is_for_searchers_only_and_404_for_the_other_tenant(client, two_tenants, faces_dir):
    client.force_login(two_tenants.a.auditor)
    with _upload(faces_dir, "obama_1.jpg") as picture:
        assert client.post("/t/agency-a/search/detect/", {"picture": picture}).status_code == 403
    client.force_login(two_tenants.b.investigator)
    with _upload(faces_dir, "obama_1.jpg") as picture:
        assert client.post("/t/agency-a/search/detect/", {"picture": picture}).status_code == 404


def test_chosen_face_is_searched(client, two_tenants, faces_dir):
    _enrol(two_tenants.a.tenant, faces_dir, "obama_1.jpg", "Barack Obama")
    _enrol(two_tenants.a.tenant, faces_dir, "biden_1.jpg", "Joe Biden")
    client.force_login(two_tenants.a.investigator)
    with _upload(faces_dir, "group_obama_biden_1.jpg") as picture:
        faces = client.post("/t/agency-a/search/detect/", {"picture": picture}).json()["faces"]
    firsts = set()
    for face in faces:
        page = client.get(_search_post(client, faces_dir, "group_obama_biden_1.jpg", face_index=face["index"])["Location"])
        firsts.add(page.context["leads"][0].face.subject.label)
    assert firsts == {"Barack Obama", "Joe Biden"}


def test_picture_without_a_face_says_so_and_stores_nothing(client, two_tenants):
    client.force_login(two_tenants.a.investigator)
    blank = io.BytesIO(_blank_jpeg())
    blank.name = "blank.jpg"
    response = client.post("/t/agency-a/search/", {"picture": blank, "case_reference": "C", "purpose": "p",
                                                   **AUTHORISED_FORM})
    assert response.status_code == 422
    assert "No face was found" in response.content.decode()
    with tenant_scope(two_tenants.a.tenant):
        assert not Search.objects.exists()


def test_case_reference_and_purpose_are_required_when_the_tenant_requires_them(client, two_tenants, faces_dir):
    client.force_login(two_tenants.a.investigator)
    response = _search_post(client, faces_dir, "obama_1.jpg", case_reference="", purpose="")
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    two_tenants.a.tenant.case_reference_required = False
    with tenant_scope(two_tenants.a.tenant):  # a tenant changes its own settings in its own scope
        two_tenants.a.tenant.save()
    assert _search_post(client, faces_dir, "obama_1.jpg", case_reference="", purpose="").status_code == 302


def test_auditor_cannot_run_a_search(client, two_tenants, faces_dir):
    client.force_login(two_tenants.a.auditor)
    assert _search_post(client, faces_dir, "obama_1.jpg").status_code == 403


def test_history_filters_by_case_user_and_date(client, two_tenants):
    a = two_tenants.a
    search_make(tenant=a.tenant, user=a.investigator, case_reference="ROBBERY-1")
    search_make(tenant=a.tenant, user=a.owner, case_reference="FRAUD-2")
    search_make(tenant=two_tenants.b.tenant, user=two_tenants.b.owner, case_reference="ROBBERY-B")
    client.force_login(a.auditor)

    def cases(query):
        return [s.case_reference for s in client.get(f"/t/agency-a/searches/{query}").context["page"].object_list]

    assert sorted(cases("")) == ["FRAUD-2", "ROBBERY-1"]
    assert cases("?case_reference=robbery") == ["ROBBERY-1"]
    with tenant_scope(a.tenant):
        owner_membership = Membership.objects.get(user=a.owner)
    assert cases(f"?user={owner_membership.public_id}") == ["FRAUD-2"]
    assert f'value="{owner_membership.public_id}"' in client.get("/t/agency-a/searches/").content.decode()
    assert cases("?created_from=2000-01-01&created_to=2000-01-02") == []
    assert "No search matches these filters" in client.get("/t/agency-a/searches/?case_reference=none").content.decode()


def test_history_filter_by_htmx_returns_the_page_for_htmx_to_select(client, two_tenants):
    search_make(tenant=two_tenants.a.tenant, user=two_tenants.a.investigator, case_reference="HX-1")
    client.force_login(two_tenants.a.investigator)
    response = client.get("/t/agency-a/searches/?case_reference=HX", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="results"' in response.content.decode()


def test_every_picture_picker_offers_exactly_the_types_the_engine_reads(client, two_tenants):
    import re

    from portal.faces.imaging import MEDIA_TYPES
    from tests.web.conftest import subject_make

    accepted = set(MEDIA_TYPES.values())
    assert accepted == {"image/jpeg", "image/png", "image/webp"}
    subject = subject_make(tenant=two_tenants.a.tenant)
    client.force_login(two_tenants.a.investigator)
    pages = [client.get("/t/agency-a/search/"), client.get(f"/t/agency-a/subjects/{subject.public_id}/"),
             client.get("/opt-out/")]
    for page in pages:
        offered = re.findall(r'type="file"[^>]*accept="([^"]+)"|accept="([^"]+)"[^>]*type="file"', page.content.decode())
        assert offered, page.request["PATH_INFO"]
        for match in offered:
            assert set("".join(match).split(",")) == accepted


def test_matches_deleted_after_the_search_are_named_not_left_as_gaps(client, two_tenants):
    """It showed "Match #2, #4, #5" with no word about #1 and #3 (#14, item 4)."""
    from tests.builders import Gallery, picture_add, search_add

    tenant = two_tenants.a.tenant
    gallery = Gallery(tenants=[tenant])
    for _ in range(5):
        picture_add(gallery, tenant=tenant, region="GB")
    search = search_add(tenant=tenant, face_ids=sorted(gallery.faces))
    with tenant_scope(tenant):
        search.matches.filter(rank__in=[1, 3]).delete()
    client.force_login(two_tenants.a.investigator)
    page = client.get(f"/t/agency-a/searches/{search.public_id}/").content.decode()
    assert "Matches #1, #3 of this search were deleted after it ran" in page


def test_history_shows_each_searchs_lead_count(client, two_tenants):
    """History gave no lead count per search (#14, item 9)."""
    from tests.builders import Gallery, picture_add, search_add

    tenant = two_tenants.a.tenant
    gallery = Gallery(tenants=[tenant])
    for _ in range(3):
        picture_add(gallery, tenant=tenant, region="GB")
    search = search_add(tenant=tenant, face_ids=sorted(gallery.faces))
    with tenant_scope(tenant):
        search.matches.filter(rank__in=[1, 2]).update(band="strong", similarity=0.95)
    client.force_login(two_tenants.a.investigator)
    page = client.get("/t/agency-a/searches/").content.decode()
    assert '<td data-label="Leads">2</td>' in page


def test_similarity_bars_run_over_the_calibrated_range_with_both_thresholds_marked(client, two_tenants):
    """A different person at 0.85 drew a bar nearly as full as a lead at 0.95 (#14, item 7)."""
    from portal.web.templatetags.similarity import similarity_position
    from tests.builders import Gallery, picture_add, search_add

    assert [similarity_position(v) for v in (0.5, 0.70, 0.85, 0.90, 0.95, 1.0)] == \
        ["0.0", "0.0", "50.0", "66.7", "83.3", "100.0"]
    tenant = two_tenants.a.tenant
    gallery = Gallery(tenants=[tenant])
    for _ in range(2):
        picture_add(gallery, tenant=tenant, region="GB")
    search = search_add(tenant=tenant, face_ids=sorted(gallery.faces))
    with tenant_scope(tenant):
        search.matches.filter(rank=1).update(band="strong", similarity=0.95)
        search.matches.filter(rank=2).update(band="below", similarity=0.85)
    client.force_login(two_tenants.a.investigator)
    page = client.get(f"/t/agency-a/searches/{search.public_id}/").content.decode()
    assert 'style="width: 83.3%"' in page and 'style="width: 50.0%"' in page
    assert 'style="left: 66.7%"' in page and 'class="strong-mark" style="left: 76.7%"' in page


def test_an_empty_gallery_leads_the_user_to_enrol_first(client, two_tenants, faces_dir):
    """A new tenant's overview and search page said nothing about what to do first (#14, item 12)."""
    client.force_login(two_tenants.b.investigator)
    for path in ("/t/retailer-b/", "/t/retailer-b/search/"):
        page = client.get(path).content.decode()
        assert "Your gallery is empty" in page and "every search would find nothing" in page
    client.force_login(two_tenants.a.investigator)  # entitled to the platform index
    assert "Searches already cover the operator's platform index" in client.get("/t/agency-a/").content.decode()
    image_ingest(tenant=two_tenants.a.tenant, data=(faces_dir / "obama_1.jpg").read_bytes(),
                 actor=Actor.system("test"), legal_basis=LegalBasis.LAW_ENFORCEMENT)
    assert "Your gallery is empty" not in client.get("/t/agency-a/search/").content.decode()


def test_the_other_face_of_a_group_picture_is_searched_from_the_result_page(client, two_tenants, faces_dir):
    _enrol(two_tenants.a.tenant, faces_dir, "obama_1.jpg", "Barack Obama")
    _enrol(two_tenants.a.tenant, faces_dir, "biden_1.jpg", "Joe Biden")
    client.force_login(two_tenants.a.investigator)
    first = client.get(_search_post(client, faces_dir, "group_obama_biden_1.jpg")["Location"])
    html = first.content.decode()
    searched = first.context["search"]
    # The probe crop is shown once, in the summary, not again on every card.
    assert html.count(f"/searches/{searched.public_id}/probe.jpg") == 1
    faces_url = f"/t/agency-a/searches/{searched.public_id}/faces/"
    assert faces_url in html and "Search the other face of this picture" in html

    page = client.get(faces_url)
    faces = page.context["faces"]
    assert len(faces) == 2 and [f["searched"] for f in faces].count(True) == 1
    assert page.content.decode().count("data:image/jpeg;base64,") == 2
    other = next(f["index"] for f in faces if not f["searched"])
    assert page.context["form"]["face_index"].value() == other  # the face not searched yet is offered first

    # A face that is not in the picture: a clear error, no search.
    def searches():
        with tenant_scope(two_tenants.a.tenant):
            return Search.objects.count()
    count = searches()
    refused = client.post(faces_url, {"face_index": "7", "case_reference": "CASE-7", "purpose": "p", **AUTHORISED_FORM})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    assert searches() == count

    response = client.post(faces_url, {"face_index": str(other), "case_reference": "CASE-7", "purpose": "same case",
                                       **AUTHORISED_FORM})
    assert response.status_code == 302
    second = client.get(response["Location"]).context
    names = {first.context["leads"][0].face.subject.label, second["leads"][0].face.subject.label}
    assert names == {"Barack Obama", "Joe Biden"} and second["search"].case_reference == "CASE-7"

    # Another tenant's member, and a search id that does not exist: the same 404, for both methods.
    client.force_login(two_tenants.b.owner)
    for method in (client.get, client.post):
        assert method(faces_url.replace("agency-a", "retailer-b")).status_code == 404
        assert method(f"/t/retailer-b/searches/{searched.public_id.hex[::-1]}/faces/").status_code == 404
