"""Opaque ids outside: a tenant never sees a platform-wide sequential number, in URLs, API
bodies, cursors or its audit log, so watching its own ids tells it nothing about the others."""

import base64
import io
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils.dateparse import parse_datetime

from tests.api.conftest import SEARCH_FIELDS

pytestmark = pytest.mark.django_db


def _integer_ids(value, path="") -> list[str]:
    """Every key named id or *_id (or *_ids) whose value is an integer, anywhere in a JSON body."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if (key == "id" or key.endswith("_id")) and isinstance(item, int) and not isinstance(item, bool):
                found.append(f"{path}.{key}")
            found += _integer_ids(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _integer_ids(item, f"{path}[{index}]")
    return found


def _cursor_position(next_url: str) -> str:
    cursor = parse_qs(urlparse(next_url).query)["cursor"][0]
    decoded = base64.b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    return parse_qs(decoded).get("p", [""])[0]


def _enrol(api, picture, name):
    subject = api.post("/api/v1/subjects", {"label": name}, format="json").json()
    response = api.post(f"/api/v1/subjects/{subject['id']}/pictures",
                        {"picture": io.BytesIO(picture(name)), "legal_basis": "law_enforcement"}, format="multipart")
    assert response.status_code == 201, response.content
    return subject


def test_a_tenant_sees_only_random_ids_and_its_own_gapless_positions(api_a, api_b, picture):
    _enrol(api_a, picture, "obama_1.jpg")
    for name in ("biden_1.jpg", "obama_2.jpg"):  # the other tenant works in between
        _enrol(api_b, picture, name)
    _enrol(api_a, picture, "biden_2.jpg")
    search = api_a.post("/api/v1/searches", {"picture": io.BytesIO(picture("obama_3.jpg")), **SEARCH_FIELDS},
                        format="multipart").json()

    bodies = {path: api_a.get(path, {"page_size": 1}).json()
              for path in ("/api/v1/subjects", "/api/v1/images", "/api/v1/searches", "/api/v1/audit")}
    bodies["search"] = api_a.get(f"/api/v1/searches/{search['id']}").json()
    for where, body in bodies.items():
        assert _integer_ids(body) == [], where
    for key in ("search", "/api/v1/subjects", "/api/v1/images"):
        body = bodies[key] if key == "search" else bodies[key]["results"][0]
        uuid.UUID(body["id"])  # a random id
    assert str(uuid.UUID(search["matches"][0]["image_id"])) == search["matches"][0]["image_id"]

    # Cursors carry a time, or for the audit log the tenant's own position: never a row id.
    for path in ("/api/v1/subjects", "/api/v1/images"):
        position = _cursor_position(bodies[path]["next"])
        assert not position.isdigit() and parse_datetime(position) is not None, position
    events = api_a.get("/api/v1/audit").json()["results"]
    assert [event["position"] for event in events] == list(range(len(events), 0, -1))


def test_old_style_numeric_urls_are_plain_404s(api_a, client, two_tenants):
    for path in ("/api/v1/searches/1", "/api/v1/subjects/1", "/api/v1/images/1"):
        for method in ("get", "patch", "delete"):
            response = getattr(api_a, method)(path)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    client.force_login(two_tenants.a.owner)
    for path in ("/t/agency-a/searches/1/", "/t/agency-a/subjects/1/", "/t/agency-a/images/1/picture"):
        assert client.get(path).status_code == 404
