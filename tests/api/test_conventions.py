"""Conventions every endpoint shares: the error shape, Idempotency-Key, rate limits, request size,
health, and the schema with its offline docs pages."""

import io
import re
import uuid

import pytest
from rest_framework.test import APIClient

from portal.api.services import tenant_api_settings_set
from portal.audit.services import Actor
from portal.gallery import gates
from portal.gallery.gates import IngestRefused
from portal.gallery.models import Image, Subject
from portal.search.models import Search
from tenants.context import tenant_scope
from tests.api.conftest import SEARCH_FIELDS, keyed_client

pytestmark = pytest.mark.django_db


def _assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["fields"], dict)
    return error


# --- the one error shape ------------------------------------------------------------------
def test_malformed_json_is_400(api_a):
    response = api_a.post("/api/v1/subjects", data="{not json", content_type="application/json")
    _assert_error(response, 400, "malformed_request")


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_deeply_nested_json_is_a_clear_400_that_changes_nothing(api_a, two_tenants, depth):
    from portal.gallery.models import Subject
    from tenants.context import tenant_scope

    body = '{"label": "x", "notes": ' + "[" * depth + "]" * depth + "}"
    response = api_a.post("/api/v1/subjects", data=body, content_type="application/json")
    error = _assert_error(response, 400, "malformed_request")
    assert "nested more than 32 levels" in error["message"]
    with tenant_scope(two_tenants.a.tenant):
        assert not Subject.objects.exists()


def test_json_nested_within_the_limit_still_works(api_a):
    body = '{"label": "x", "notes": "n", "reference": "r", "extra": ' + "[" * 30 + "]" * 30 + "}"
    assert api_a.post("/api/v1/subjects", data=body, content_type="application/json").status_code == 201


def test_unsupported_content_type_is_415(api_a):
    response = api_a.post("/api/v1/subjects", data="label=x", content_type="text/plain")
    _assert_error(response, 415, "unsupported_media_type")


def test_unsupported_picture_type_is_415(api_a):
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00" \
          b"\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    response = api_a.post("/api/v1/faces/detect", {"picture": io.BytesIO(gif)}, format="multipart")
    _assert_error(response, 415, "unsupported_image_type")


def test_unknown_endpoint_and_method_answer_in_the_error_shape(api_a):
    _assert_error(api_a.get("/api/v1/nothing-here"), 404, "not_found")
    _assert_error(api_a.get("/api/v1/searches/99999999999999999999"), 404, "not_found")
    _assert_error(api_a.put("/api/v1/searches", {}, format="json"), 405, "method_not_allowed")


def test_oversized_request_is_413_before_it_is_read(api_a, settings):
    settings.API_MAX_REQUEST_BYTES = 1000
    response = api_a.post("/api/v1/faces/detect", {"picture": io.BytesIO(b"x" * 5000)}, format="multipart")
    _assert_error(response, 413, "request_too_large")


def test_compliance_refusal_is_451_with_the_order_reference_and_stores_nothing(api_a, picture, two_tenants):
    def refuse_everything(*, tenant, region, source_domain, embeddings):
        raise IngestRefused("An order covers pictures of people in this region.", reference="CNIL-2026-17")

    gates.register_ingest_gate(refuse_everything)
    try:
        response = api_a.post("/api/v1/images", {"picture": io.BytesIO(picture("obama_1.jpg")),
                                                 "legal_basis": "consent"}, format="multipart")
    finally:
        gates._ingest_gates.remove(refuse_everything)
    error = _assert_error(response, 451, "refused_by_order")
    assert error["reference"] == "CNIL-2026-17"
    with tenant_scope(two_tenants.a.tenant):
        assert not Image.objects.exists()


def test_a_failing_handler_rolls_back_everything_it_wrote(api_a, two_tenants, monkeypatch):
    from portal.api.views import gallery

    def created_then_failed(**kwargs):
        Subject.objects.create(tenant=kwargs["tenant"], label="half-written")
        raise RuntimeError("boom")

    monkeypatch.setattr(gallery, "subject_create", created_then_failed)
    response = api_a.post("/api/v1/subjects", {"label": "x"}, format="json")
    _assert_error(response, 500, "server_error")
    with tenant_scope(two_tenants.a.tenant):
        assert not Subject.objects.exists()


# --- Idempotency-Key ----------------------------------------------------------------------
def test_retry_with_the_same_key_replays_without_searching_again(api_a, picture, two_tenants):
    key = str(uuid.uuid4())

    def post():
        # A new multipart boundary on every call: the fingerprint is of the parsed content.
        return api_a.post("/api/v1/searches", {"picture": io.BytesIO(picture("obama_2.jpg")), **SEARCH_FIELDS},
                          format="multipart", HTTP_IDEMPOTENCY_KEY=key)

    first, retry = post(), post()
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    with tenant_scope(two_tenants.a.tenant):
        assert Search.objects.count() == 1


def test_same_key_with_a_different_body_is_422(api_a, two_tenants):
    key = "subject-create-1"
    assert api_a.post("/api/v1/subjects", {"label": "A"}, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    response = api_a.post("/api/v1/subjects", {"label": "B"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    _assert_error(response, 422, "idempotency_key_reused")
    with tenant_scope(two_tenants.a.tenant):
        assert list(Subject.objects.values_list("label", flat=True)) == ["A"]


def test_idempotency_keys_are_per_tenant_and_failed_requests_are_not_stored(api_a, api_b, two_tenants):
    key = "shared-key"
    assert api_a.post("/api/v1/subjects", {"label": ""}, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 400
    assert api_a.post("/api/v1/subjects", {"label": "A"}, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    response = api_b.post("/api/v1/subjects", {"label": "B"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201 and response.json()["label"] == "B"


def test_invalid_idempotency_key_is_400(api_a):
    response = api_a.post("/api/v1/subjects", {"label": "A"}, format="json", HTTP_IDEMPOTENCY_KEY="has space")
    _assert_error(response, 400, "invalid")


# --- rate limits --------------------------------------------------------------------------
# The limits are fixed windows aligned to the clock (portal/api/throttles.py): hourly ones here, so
# that a test's requests straddle a window's end once in millions of runs, not once in thousands.
def test_key_rate_limit_is_429_with_retry_after(api_a, settings):
    settings.API_RATE_LIMIT_PER_KEY = "3/hour"
    statuses = [api_a.get("/api/v1/subjects").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api_a.get("/api/v1/subjects")
    _assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_tenant_rate_limit_covers_all_its_keys_and_is_overridable(two_tenants, settings):
    settings.API_RATE_LIMIT_PER_TENANT = "100/minute"
    tenant = two_tenants.a.tenant
    tenant_api_settings_set(tenant=tenant, rate_limit_per_tenant="2/hour", actor=Actor.system("test"))
    first, second = keyed_client(tenant=tenant), keyed_client(tenant=tenant)
    assert first.get("/api/v1/subjects").status_code == 200
    assert second.get("/api/v1/subjects").status_code == 200
    assert second.get("/api/v1/subjects").status_code == 429
    # The other tenant has its own budget.
    assert keyed_client(tenant=two_tenants.b.tenant).get("/api/v1/subjects").status_code == 200


# --- health and schema ----------------------------------------------------------------------
def test_health_needs_no_key():
    response = APIClient().get("/api/v1/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_schema_describes_every_endpoint_auth_and_errors(db):
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    paths = schema["paths"]
    for path in ["/api/v1/searches", "/api/v1/searches/{search_id}", "/api/v1/faces/detect",
                 "/api/v1/faces/{face_uuid}/crop", "/api/v1/subjects", "/api/v1/subjects/{subject_id}",
                 "/api/v1/subjects/{subject_id}/pictures", "/api/v1/images", "/api/v1/images/{image_id}",
                 "/api/v1/audit", "/api/v1/health"]:
        assert path in paths, path
    search_post = paths["/api/v1/searches"]["post"]
    assert {"201", "400", "401", "403", "413", "415", "422", "429"} <= set(search_post["responses"])
    assert set(search_post["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert any(p["name"] == "Idempotency-Key" for p in search_post["parameters"])
    assert "451" in paths["/api/v1/images"]["post"]["responses"]
    assert "404" in paths["/api/v1/searches/{search_id}"]["get"]["responses"]


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_use_no_cdn(db, page):
    response = APIClient().get(page)
    assert response.status_code == 200
    html = response.content.decode()
    # Swagger UI from the sidecar package; Redoc's bundle through the portal (its CDN logo replaced).
    assert "/static/drf_spectacular_sidecar/" in html or "/api/v1/redoc-dist/bundles/redoc.standalone.js" in html
    assert not re.search(r"(src|href)=\"https?://", html)


def test_the_redoc_bundle_names_no_other_host_for_its_logo(db):
    response = APIClient().get("/api/v1/redoc-dist/bundles/redoc.standalone.js")
    bundle = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert "cdn.redoc.ly" not in bundle and 'src:"/static/favicon.svg"' in bundle


def test_swagger_ui_loads_no_online_validator(db):
    script = APIClient().get("/api/v1/docs/", {"script": ""})
    assert script.status_code == 200 and '"validatorUrl": null' in script.content.decode()


def test_tenant_schema_lists_only_tenant_endpoints(db):
    paths = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert all(not path.startswith("/api/v1/platform/") for path in paths)


def test_deleting_a_picture_drops_stored_responses_that_show_its_faces(api_a, api_b, picture, two_tenants):
    """A stored response is a copy of gallery data: when the picture goes, a retry must not
    replay its faces. Responses of other pictures, and of the other tenant, stay."""
    from portal.api.models import IdempotencyRecord
    from portal.api.services import idempotency_records_dangling_count

    uploaded = api_a.post("/api/v1/images", {"picture": io.BytesIO(picture("obama_3.jpg")),
                                             "legal_basis": "law_enforcement"},
                          format="multipart", HTTP_IDEMPOTENCY_KEY="upload-obama")
    assert uploaded.status_code == 201
    image_id, face_uuid = uploaded.json()["image"]["id"], uploaded.json()["image"]["faces"][0]["uuid"]

    def search(api, key):
        return api.post("/api/v1/searches", {"picture": io.BytesIO(picture("obama_2.jpg")), **SEARCH_FIELDS},
                        format="multipart", HTTP_IDEMPOTENCY_KEY=key)

    found = search(api_a, "search-obama")
    assert found.json()["matches"][0]["face_uuid"] == face_uuid
    assert api_a.post("/api/v1/subjects", {"label": "kept"}, format="json",
                      HTTP_IDEMPOTENCY_KEY="subject-kept").status_code == 201
    assert search(api_b, "search-obama").status_code == 201  # B's own stored response, same key
    with tenant_scope(two_tenants.a.tenant):
        assert IdempotencyRecord.objects.count() == 3

    assert api_a.delete(f"/api/v1/images/{image_id}").status_code == 204
    with tenant_scope(two_tenants.a.tenant):
        assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"subject-kept"}
        assert idempotency_records_dangling_count() == 0
    with tenant_scope(two_tenants.b.tenant):
        assert IdempotencyRecord.objects.filter(key="search-obama").exists()

    retried = search(api_a, "search-obama")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert face_uuid not in retried.content.decode()


def test_hourly_task_expires_stored_responses_of_every_tenant_past_the_window(api_a, api_b, two_tenants, settings):
    from datetime import timedelta

    from django.utils import timezone

    from portal.api.models import IdempotencyRecord
    from portal.api.tasks import idempotency_records_expire
    from tenants.context import dangerously_unscoped

    for api, label in ((api_a, "A"), (api_b, "B")):
        for age in ("old", "new"):
            assert api.post("/api/v1/subjects", {"label": f"{label}-{age}"}, format="json",
                            HTTP_IDEMPOTENCY_KEY=f"{label}-{age}").status_code == 201
    with dangerously_unscoped(reason="test"):
        IdempotencyRecord.objects.filter(key__endswith="-old").update(
            created_at=timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS, minutes=1))
    assert idempotency_records_expire.apply().get() == 2
    with dangerously_unscoped(reason="test"):
        assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"A-new", "B-new"}
