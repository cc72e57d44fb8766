"""A client that knows only the published schema (operation ids, request and response shapes)
enrols pictures from ../shared/faces and finds the right person. Every request it makes and every
response it gets is checked against the schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from portal.wsgi import application
from tests.api.conftest import keyed_client
from tests.builders import AUTHORISED_FORM

pytestmark = pytest.mark.django_db


class SchemaClient:
    def __init__(self, *, schema, api_key: str):
        self.schema = schema
        self.headers = {"Authorization": f"Api-Key {api_key}"}

    def _binary_field(self, operation, media_type: str) -> str:
        """The name of the file field the schema gives for `media_type` uploads."""
        raw = self.schema.raw_schema
        method = raw["paths"][operation.path][operation.method.lower()]
        reference = method["requestBody"]["content"][media_type]["schema"]["$ref"]
        properties = raw["components"]["schemas"][reference.rsplit("/", 1)[1]]["properties"]
        return next(name for name, field in properties.items() if field.get("format") == "binary")

    def call(self, operation_id: str, *, path=None, query=None, json=None, form=None, picture: bytes | None = None):
        operation = self.schema.find_operation_by_id(operation_id)
        if picture is not None:
            media_type = "multipart/form-data"
            body = {**(form or {}), self._binary_field(operation, media_type): picture}
        elif json is not None:
            media_type, body = "application/json", json
        else:
            media_type, body = None, None
        kwargs = {"path_parameters": path or {}, "query": query or {}, "headers": dict(self.headers)}
        if media_type:
            kwargs.update(body=body, media_type=media_type)
        case = operation.Case(**kwargs)
        response = case.call()
        case.validate_response(response)
        return response


@pytest.fixture
def schema_client(two_tenants):
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
        yield SchemaClient(schema=schema, api_key=keyed_client(tenant=two_tenants.a.tenant).raw_key)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_a_schema_only_client_enrols_and_finds_the_right_person(schema_client, faces_dir):
    client = schema_client
    for label, file_name in [("Obama", "obama_1.jpg"), ("Biden", "biden_1.jpg")]:
        subject = client.call("subjects_create", json={"label": label}).json()
        enrolled = client.call("subjects_pictures_create", path={"subject_id": subject["id"]},
                               form={"legal_basis": "law_enforcement"},
                               picture=(faces_dir / file_name).read_bytes())
        assert enrolled.status_code == 201 and enrolled.json()["created"] is True

    search = client.call("searches_create", form={"case_reference": "CASE-7", "purpose": "identify",
                                                  **AUTHORISED_FORM},
                         picture=(faces_dir / "obama_2.jpg").read_bytes())
    assert search.status_code == 201
    found = client.call("searches_retrieve", path={"search_id": search.json()["id"]}).json()
    labels = [match["subject"]["label"] for match in found["matches"]]
    assert labels[0] == "Obama" and "Biden" in labels
    assert found["matches"][0]["band"] != "below" and found["matches"][1]["band"] == "below"

    listed = client.call("searches_list", query={"case_reference": "CASE-7"}).json()
    assert [s["id"] for s in listed["results"]] == [found["id"]]
