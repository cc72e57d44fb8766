"""Search reads on a real streaming replica (settings.DATABASE_REPLICA_URLS, portal/search/replica.py):
a hot standby made with pg_basebackup from the embedded server (tests/standby.py). Searches are
served by it under the tenant's own signed scope, and orders, withholdings and erasures made on
the primary bind at once, even while the standby's replay is paused."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from portal.audit.services import Actor
from portal.compliance.in_force import orders_in_force
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.gallery.models import Face, Image, LegalBasis
from portal.gallery.services import image_delete, subject_create, subject_enrol
from portal.runtime.replicas import replica_databases
from portal.search.models import SearchMatch
from portal.search.selectors import tenant_faces_nearest
from portal.search.services import search_run
from tenants.context import dangerously_unscoped, replica_read_scope, tenant_scope
from tests.api.conftest import SEARCH_FIELDS, keyed_client
from tests.builders import AUTHORISED, Gallery, order_fields, picture_add
from tests.standby import Standby, free_port, standby_start

ACTOR = Actor.system("test")
ALIAS = "replica_1"
# The replica's alias is one of the test's databases (a mirror of `default`: never flushed).
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "platform", ALIAS])


@pytest.fixture(scope="module", autouse=True)
def standby(django_db_setup, django_db_blocker) -> Standby:
    """One hot standby for the module, and DATABASE_REPLICA_URLS pointed at it as settings.py
    reads it: the application's role, on the test database."""
    if not settings.EMBEDDED_SERVICES:
        pytest.skip("The standby is copied from the embedded PostgreSQL (DATABASE_URL is set).")
    primary = connections.settings["default"]
    server = standby_start(primary_port=int(primary["PORT"]))
    url = f"postgres://{settings.DATABASE_APP_ROLE}@127.0.0.1:{server.port}/{primary['NAME']}"
    replicas = replica_databases([url], primary=primary)
    connections.configure_settings({"default": primary, **replicas})  # Django's defaults, as at start-up
    connections.settings.update(replicas)
    try:
        yield server
    finally:
        with django_db_blocker.unblock():
            connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]
        server.stop()


@pytest.fixture
def replica(standby) -> Standby:
    # This process's orders cache may hold a former test's version (the tables are emptied
    # between tests): read it afresh, so each test starts from the orders in force.
    with dangerously_unscoped(reason="test: the orders in force, read afresh"):
        orders_in_force(fresh=True)
    yield standby
    standby.replay_resume()
    connections[ALIAS].close()


def _nearest_statements(queries) -> list[str]:
    return [query["sql"] for query in queries if "candidates AS MATERIALIZED" in query["sql"]]


def _search(replica: Standby, tenant, embedding, k=20) -> tuple[set[int], list[str], list[str]]:
    """(faces found, nearest statements sent to the replica, to the primary)."""
    with tenant_scope(tenant), CaptureQueriesContext(connections[ALIAS]) as on_replica, \
            CaptureQueriesContext(connections["default"]) as on_primary:
        found = {n.face_id for n in tenant_faces_nearest(tenant=tenant, embedding=embedding, k=k,
                                                          include_platform_index=False)}
    return found, _nearest_statements(on_replica.captured_queries), _nearest_statements(on_primary.captured_queries)


def _standby_orders_version(replica: Standby) -> int:
    with replica.connect(dbname=connections.settings["default"]["NAME"]) as standby:
        return standby.execute("SELECT version FROM compliance_ordersversion").fetchone()[0]


def test_a_search_is_served_by_the_standby_in_the_tenants_own_scope(replica, two_tenants, faces_dir):
    a, b = two_tenants.a, two_tenants.b
    for filename, label, region in (("obama_1.jpg", "Obama", "FR"), ("biden_1.jpg", "Biden", "DE")):
        subject = subject_create(tenant=a.tenant, label=label, actor=ACTOR)
        subject_enrol(tenant=a.tenant, subject=subject, data=(faces_dir / filename).read_bytes(), actor=ACTOR,
                      legal_basis=LegalBasis.LAW_ENFORCEMENT, region=region)
    replica.replay_wait()

    with CaptureQueriesContext(connections[ALIAS]) as on_replica, \
            CaptureQueriesContext(connections["default"]) as on_primary:
        search = search_run(tenant=a.tenant, actor=Actor.of_user(a.investigator), case_reference="CASE-1",
                            purpose="test", probe=(faces_dir / "obama_2.jpg").read_bytes(), authorisation=AUTHORISED)
    assert len(_nearest_statements(on_replica.captured_queries)) == 1
    assert _nearest_statements(on_primary.captured_queries) == []
    with tenant_scope(a.tenant):
        labels = [m.face.subject.label for m in SearchMatch.objects.filter(search=search).select_related("face__subject")]
    assert labels[:2] == ["Obama", "Biden"]

    # The connection that answered is the standby's, as the application's role; the standby lists it.
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), current_user, inet_server_port(), pg_backend_pid()")
        in_recovery, role, port, pid = cursor.fetchone()
    assert (in_recovery, role, port) == (True, settings.DATABASE_APP_ROLE, replica.port)
    with replica.connect() as standby:
        assert standby.execute("SELECT usename, datname FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() == (
            settings.DATABASE_APP_ROLE, connections.settings["default"]["NAME"])

    # Row-level security binds the standby as the primary: each tenant's signed scope sees its own
    # faces only, and the application's role without a claim sees none.
    counts = {}
    for world in (a, b):
        with tenant_scope(world.tenant), replica_read_scope(alias=ALIAS), connections[ALIAS].cursor() as cursor:
            cursor.execute("SELECT count(*), pg_is_in_recovery() FROM gallery_face")
            counts[world.tenant.slug] = cursor.fetchone()
    assert counts == {a.tenant.slug: (2, True), b.tenant.slug: (0, True)}
    with replica.connect(dbname=connections.settings["default"]["NAME"], user=settings.DATABASE_APP_ROLE) as bare:
        assert bare.execute("SELECT count(*) FROM gallery_face").fetchone()[0] == 0

    # The other tenant's search, served by the standby too, finds nothing of A's gallery.
    with CaptureQueriesContext(connections[ALIAS]) as on_replica:
        other = search_run(tenant=b.tenant, actor=Actor.of_user(b.investigator), case_reference="CASE-2",
                           purpose="test", probe=(faces_dir / "obama_2.jpg").read_bytes())
    assert len(_nearest_statements(on_replica.captured_queries)) == 1
    with tenant_scope(b.tenant):
        assert not SearchMatch.objects.filter(search=other).exists()


def test_an_order_binds_at_once_while_the_standbys_replay_is_paused(replica, two_tenants, monkeypatch):
    # Activation also flags covered faces withheld once it commits; knocked out here, so only the
    # search exclusion keeps the covered face out, as in tests/compliance/test_in_force_cache.py.
    from portal.compliance import orders

    monkeypatch.setattr(orders, "order_withhold_flags", lambda **kwargs: (0, 0))
    a = two_tenants.a.tenant
    gallery = Gallery(tenants=[a])
    picture_add(gallery, tenant=a, region="FR")
    picture_add(gallery, tenant=a, region="DE")
    (fr,), (de,) = gallery.ids(region="FR"), gallery.ids(region="DE")
    probe = gallery.faces[fr][2]
    replica.replay_wait()
    found, on_replica, on_primary = _search(replica, a, probe)
    assert {fr, de} <= found and len(on_replica) == 1 and on_primary == []

    replica.replay_pause()
    version_before = _standby_orders_version(replica)
    order = order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"])),
                           actor=ACTOR)
    assert order.status == RegulatoryOrder.Status.ACTIVE
    for _ in range(2):  # this process's cache is stale the first time, current the second
        found, on_replica, on_primary = _search(replica, a, probe)
        assert fr not in found and de in found
        # The standby was asked and had not replayed the activation: the primary answered.
        assert len(on_replica) >= 1 and len(on_primary) == 1
    assert _standby_orders_version(replica) == version_before  # still paused, still behind

    replica.replay_resume()
    replica.replay_wait()
    found, on_replica, on_primary = _search(replica, a, probe)
    assert fr not in found and de in found and len(on_replica) == 1 and on_primary == []


def test_a_face_withheld_or_erased_on_the_primary_is_never_returned_by_a_paused_standby(replica, two_tenants):
    a = two_tenants.a.tenant
    gallery = Gallery(tenants=[a])
    for _ in range(3):
        picture_add(gallery, tenant=a, region="DE")
    kept, withheld, erased = sorted(gallery.ids(region="DE"))
    probe = gallery.faces[withheld][2]
    replica.replay_wait()
    found, on_replica, on_primary = _search(replica, a, probe)
    assert found == {kept, withheld, erased} and len(on_replica) == 1 and on_primary == []

    replica.replay_pause()
    with dangerously_unscoped(reason="test"):
        Face.objects.filter(pk=withheld).update(withheld=True)
        image = Image.objects.get(faces__pk=erased)
    image_delete(tenant=a, image=image, actor=ACTOR)
    with replica.connect(dbname=connections.settings["default"]["NAME"]) as standby:  # the standby still has both
        assert standby.execute("SELECT count(*) FROM gallery_face WHERE id = ANY(%s) AND NOT withheld",
                               [[withheld, erased]]).fetchone()[0] == 2
    found, on_replica, on_primary = _search(replica, a, probe)
    # The standby answered (the orders did not change) and the primary kept only what it still shows.
    assert found == {kept} and len(on_replica) == 1 and on_primary == []


def test_a_replica_that_cannot_be_reached_leaves_the_search_to_the_primary(replica, two_tenants, caplog):
    a = two_tenants.a.tenant
    gallery = Gallery(tenants=[a])
    picture_add(gallery, tenant=a, region="DE")
    (face,) = gallery.ids()
    settings_dict = connections[ALIAS].settings_dict
    connections[ALIAS].close()
    port, settings_dict["PORT"] = settings_dict["PORT"], str(free_port())  # nothing listens there
    try:
        with tenant_scope(a), CaptureQueriesContext(connections["default"]) as on_primary:
            found = tenant_faces_nearest(tenant=a, embedding=gallery.faces[face][2], k=5, include_platform_index=False)
    finally:
        connections[ALIAS].close()
        settings_dict["PORT"] = port
    assert [n.face_id for n in found] == [face]
    assert len(_nearest_statements(on_primary.captured_queries)) == 1
    assert any(ALIAS in record.getMessage() for record in caplog.records)


def test_the_setting_names_one_alias_per_url_on_the_primarys_database():
    primary = {"NAME": "portal", "CONN_MAX_AGE": 60}
    databases = replica_databases(["postgres://portal_app:secret@replica-a:5433/portal",
                                   " postgres://portal_app@replica-b:5432", ""], primary=primary)
    assert sorted(databases) == ["replica_1", "replica_2"]
    assert (databases["replica_1"]["HOST"], databases["replica_1"]["PORT"], databases["replica_1"]["USER"],
            databases["replica_1"]["PASSWORD"]) == ("replica-a", 5433, "portal_app", "secret")
    assert databases["replica_2"]["NAME"] == "portal" and databases["replica_2"]["CONN_MAX_AGE"] == 60
    assert all(config["TEST"] == {"MIRROR": "default"} for config in databases.values())
    assert replica_databases([], primary=primary) == {}


def _api_search(api, faces_dir, filename) -> tuple[list[str], list[str], list[str]]:
    """(labels of the matches, nearest statements sent to the replica, to the primary)."""
    with CaptureQueriesContext(connections[ALIAS]) as on_replica, \
            CaptureQueriesContext(connections["default"]) as on_primary:
        response = api.post("/api/v1/searches", {"picture": io.BytesIO((faces_dir / filename).read_bytes()),
                                                 **SEARCH_FIELDS}, format="multipart")
    assert response.status_code == 201, response.content
    labels = [match["subject"]["label"] for match in response.json()["matches"]]
    return (labels, _nearest_statements(on_replica.captured_queries),
            _nearest_statements(on_primary.captured_queries))


def test_the_api_search_reads_on_the_standby_and_an_order_binds_it_at_once_while_replay_is_paused(
        replica, two_tenants, faces_dir):
    a = two_tenants.a.tenant
    api = keyed_client(tenant=a, name="agency A system")
    for filename, label, region in (("obama_1.jpg", "Obama", "FR"), ("biden_1.jpg", "Biden", "DE")):
        subject = subject_create(tenant=a, label=label, actor=ACTOR)
        subject_enrol(tenant=a, subject=subject, data=(faces_dir / filename).read_bytes(), actor=ACTOR,
                      legal_basis=LegalBasis.LAW_ENFORCEMENT, region=region)
    replica.replay_wait()
    labels, on_replica, on_primary = _api_search(api, faces_dir, "obama_2.jpg")
    assert labels == ["Obama", "Biden"] and len(on_replica) == 1 and on_primary == []

    replica.replay_pause()
    order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"])), actor=ACTOR)
    labels, on_replica, on_primary = _api_search(api, faces_dir, "obama_2.jpg")
    assert labels == ["Biden"] and len(on_primary) == 1
