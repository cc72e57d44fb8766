"""schemathesis against the live schema, through the WSGI application: for every operation, data
that fits the schema and data that does not; no server error and no response that breaks the
schema (status codes, content types, headers and bodies as documented).

(schemathesis's pytest plugin does not run under pytest 9, so each operation's case strategy is
driven by Hypothesis directly; the checks are schemathesis's own.)
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from portal.wsgi import application
from tests.api.conftest import keyed_client

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES_PER_OPERATION = 40


@pytest.fixture
def api_schema(two_tenants, settings):
    # Many generated requests would hit the rate limits and test only 429s.
    settings.API_RATE_LIMIT_PER_KEY = settings.API_RATE_LIMIT_PER_TENANT = "100000/minute"
    # The real WSGI application closes the database connection after each request, which would
    # end the test's transaction; Django's own test client unhooks the same signal handler.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        load_all_checks()
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_to_the_schema(api_schema, two_tenants, mode):
    headers = {"Authorization": f"Api-Key {keyed_client(tenant=two_tenants.a.tenant).raw_key}"}
    checks = [status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            # The schema's security scheme makes schemathesis generate Authorization values too;
            # a real key replaces them so that generated requests reach the handlers.
            case.headers = {**(case.headers or {}), **headers}
            response = case.call()
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} " \
                                               f"{response.text[:500]}"
            case.validate_response(response, checks=checks)

        try:
            check()
        except Unsatisfiable:
            # No invalid input exists for an operation without parameters (GET /health).
            assert mode is GenerationMode.NEGATIVE and not operation.query and not operation.path_parameters
