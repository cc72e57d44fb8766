"""The public forms are rate-limited per address and for everyone together; a refused request
is a 429 with a clear message that reads no picture, detects no face and sends no e-mail."""

import pytest
from django.core import mail

from portal.compliance.models import OptOut

pytestmark = pytest.mark.django_db


def test_opt_out_requests_from_one_address_are_limited_before_any_face_is_detected(
        client, settings, monkeypatch, faces_dir):
    settings.PUBLIC_FORM_RATE_PER_ADDRESS = "2/h"
    answers = [client.post("/opt-out/", {"email": "a@example.test"}).status_code for _ in range(2)]
    assert answers == [200, 200]  # invalid forms, shown again with their errors
    detected = []
    monkeypatch.setattr("portal.rights.services.face_engine", lambda: detected.append(1))
    with open(faces_dir / "obama_1.jpg", "rb") as picture, open(faces_dir / "obama_4.jpg", "rb") as document:
        refused = client.post("/opt-out/", {"kind": "erasure", "email": "a@example.test", "consent": "on",
                                            "picture": picture, "document": document})
    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    assert detected == [] and not OptOut.objects.exists()  # a complete, valid request: never looked at
    other = client.post("/opt-out/", {"email": "b@example.test"}, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 200  # another address has its own budget


def test_all_addresses_together_are_limited_too(client, settings):
    settings.PUBLIC_FORM_RATE_PER_ADDRESS = "100/h"
    settings.PUBLIC_FORM_RATE_TOTAL = "3/h"
    answers = [client.post("/opt-out/", {}, REMOTE_ADDR=f"192.0.2.{n}").status_code for n in range(1, 5)]
    assert answers == [200, 200, 200, 429]
    assert client.get("/opt-out/").status_code == 200  # reading the form is never limited


def test_password_reset_requests_are_limited(client, settings, two_tenants):
    settings.PUBLIC_FORM_RATE_PER_ADDRESS = "2/h"
    email = two_tenants.a.owner.email
    answers = [client.post("/accounts/password_reset/", {"email": email}).status_code for _ in range(3)]
    assert answers == [302, 302, 429] and len(mail.outbox) == 2
