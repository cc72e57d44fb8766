"""The 48-hour rule in a real Celery worker process, with the clock moved past the deadline: the
beat task deletes an unauthorised urgent search's matches, probe picture and embedding, and a
verification finds nothing of them left while the record that the search ran stays."""

import time
from datetime import timedelta

import pytest
from celery import Celery
from django.core.files.storage import default_storage

from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_chain_verify
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest
from portal.search.authorisations import AuthorisationGiven
from portal.search.models import Authorisation, Search, SearchMatch
from portal.search.services import search_run
from tenants.context import tenant_scope
from tests.worker import Worker, broker_url_of_this_test_database

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_deletes_an_urgent_search_left_without_authorisation_for_48_hours(two_tenants, faces_dir, tmp_path):
    tenant = two_tenants.a.tenant
    image_ingest(tenant=tenant, data=(faces_dir / "obama_1.jpg").read_bytes(), actor=Actor.system("test"),
                 legal_basis=LegalBasis.LAW_ENFORCEMENT)
    urgent = search_run(tenant=tenant, actor=Actor.of_user(two_tenants.a.investigator), case_reference="C-48",
                        purpose="urgent", probe=(faces_dir / "obama_2.jpg").read_bytes(),
                        authorisation=AuthorisationGiven(urgent=True))
    with tenant_scope(tenant):
        assert SearchMatch.objects.filter(search=urgent).exists() and default_storage.exists(urgent.probe.name)

    broker = broker_url_of_this_test_database()
    with Worker(log=tmp_path / "worker.log", broker=broker) as worker:
        sender = Celery(broker=broker)
        # One minute before the deadline: nothing happens.
        sender.send_task("search.authorisations_overdue_erase",
                         kwargs={"now": (urgent.authorisation_due_at - timedelta(minutes=1)).isoformat()})
        # One minute after it, as beat's next run would see it.
        sender.send_task("search.authorisations_overdue_erase",
                         kwargs={"now": (urgent.authorisation_due_at + timedelta(minutes=1)).isoformat()})
        deadline = time.monotonic() + 120
        while True:
            with tenant_scope(tenant):
                search = Search.objects.get(pk=urgent.pk)
            if search.authorisation == Authorisation.OVERDUE:
                break
            assert time.monotonic() < deadline, worker.output()
            assert worker.process.poll() is None, worker.output()
            time.sleep(0.1)

    with tenant_scope(tenant):
        assert not SearchMatch.objects.filter(search=urgent).exists()
        assert search.probe.name == "" and search.probe_embedding is None and search.results_erased_at is not None
        assert list(AuditEvent.objects.filter(target_id=str(urgent.public_id)).order_by("position")
                    .values_list("action", flat=True)) == ["search.run", "search.results_erase"]
    assert not default_storage.exists(urgent.probe.name)
    assert (search.case_reference, search.purpose, search.urgent) == ("C-48", "urgent", True)
    assert all(chain.intact for chain in audit_chain_verify(tenant=tenant))
