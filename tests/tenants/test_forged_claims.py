"""An attacker who can run SQL as the application's role (an injection anywhere) and set any
setting still reaches no row of another tenant: row-level security trusts only a claim signed
with a key that role cannot read (tenants.claims).

The attacker is a separate connection as the application's role, on committed data: tenant A's
and tenant B's rows in every tenant-owned table, and the platform index."""

import psycopg
import pytest
from django.db import connection

from portal.api.services import api_key_create, idempotency_record_store, tenant_api_settings_set
from portal.audit.services import Actor, audit_record
from portal.compliance.models import RegulatoryOrder
from portal.gallery.models import ImageEvidence, Subject
from portal.rights.models import ForwardedRequest
from portal.search.models import Disclosure, FaceDisclosure, MatchReview, RecallNotice, SearchAccess, SearchMatch
from portal.compliance.orders import order_coverage_record, order_create
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.services import webhook_endpoint_create
from tenants.context import dangerously_unscoped, scope_connection, tenant_scope
from tenants.models import Invitation
from tests.builders import order_fields
from tests.factories import app_role_connect

pytestmark = pytest.mark.django_db(transaction=True)

# A legitimate claim's settings are also what an attacker would try to replay.
_SETTINGS = ("portal.scope", "portal.tenant_id", "portal.platform_index", "portal.user_id", "portal.claim")


def _tenant_tables() -> list[str]:
    """The tables with a tenant_id column; a partitioned table's partitions are tested apart
    (test_no_claim_reaches_another_tenants_partition_named_directly)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.table_name FROM information_schema.columns c"
                       " JOIN pg_class r ON r.oid = ('public.' || quote_ident(c.table_name))::regclass"
                       " WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND NOT r.relispartition"
                       " ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def _rows_of_every_tenant_table(world_gallery, two_tenants) -> None:
    """Gives tenant B (and A) at least one row in each tenant-owned table."""
    for world in (two_tenants.a, two_tenants.b):
        tenant = world.tenant
        with tenant_scope(tenant):
            api_key, _ = api_key_create(tenant=tenant, name="k", scopes=["search"], actor=Actor.system("test"))
            tenant_api_settings_set(tenant=tenant, rate_limit_per_key="10/minute", actor=Actor.system("test"))
            idempotency_record_store(owner={"tenant": tenant, "api_key": api_key}, key="k1", method="POST",
                                     path="/api/v1/searches", fingerprint="f", response_status=201,
                                     response_body={"ok": True})
            Subject.objects.create(tenant=tenant, label="a person")
            audit_record(action="test.event", actor=Actor.system("test"), tenant=tenant)
            Invitation.objects.create(tenant=tenant, email=f"new@{tenant.slug}.test", role="investigator",
                                      token_hash=f"{tenant.pk:064d}", expires_at="2100-01-01T00:00Z")
            match = SearchMatch.objects.filter(tenant=tenant).select_related("search", "face").first()
            MatchReview.objects.create(tenant=tenant, search=match.search, match=match, reviewer=world.owner,
                                       reviewer_label="r", verdict="inconclusive", audit_position=1)
            Disclosure.objects.create(tenant=tenant, search=match.search, match_public_ids=[match.public_id],
                                      face_uuids=[match.face.uuid], format="json", actor_label="x", audit_position=1)
            SearchAccess.objects.create(tenant=tenant, search=match.search, what="results", via="page", actor_label="x")
            ImageEvidence.objects.create(tenant=tenant, image=match.face.image, legal_basis="consent",
                                         declared_at="2026-01-01T00:00Z")
            FaceDisclosure.objects.create(tenant=tenant, search_public_id=match.search.public_id, case_reference="C",
                                          face_uuid=match.face.uuid, via="page")
            RecallNotice.objects.create(tenant=tenant, action="erased", cause="erasure", face_uuids=[match.face.uuid],
                                        searches=[{"search": str(match.search.public_id), "case_reference": "C"}])
            endpoint, _ = webhook_endpoint_create(tenant=tenant, url="https://127.0.0.1:9/hook",
                                                  events=["search.completed"], actor=Actor.system("test"))
            WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event_id=match.search.public_id,
                                           event_type="search.completed", payload={}, status="failed")
            ForwardedRequest.objects.create(tenant=tenant, request_id=1, reference="DSR-1", kind="erasure",
                                            received_at="2026-01-01T00:00Z", deadline="2026-02-01",
                                            face_uuids=[match.face.uuid])
    order_coverage_record(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"])))


def _app_connect() -> psycopg.Connection:
    return app_role_connect(autocommit=False)


def _legitimate_claim(tenant) -> dict[str, str]:
    """The settings the portal itself sets for `tenant`, read back in that (now finished) transaction."""
    with tenant_scope(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"current_setting('{name}', true)" for name in _SETTINGS))
        return dict(zip(_SETTINGS, cursor.fetchone()))


def _attacks(*, a, b, a_user_b_member, b_claim) -> dict[str, dict[str, str]]:
    """Every claim an attacker can write without the key, as tenant A's injected SQL."""
    return {
        "tenant id only": {"portal.tenant_id": str(b.pk)},
        "unscoped": {"portal.scope": "all"},
        "unscoped with A's id": {"portal.scope": "all", "portal.tenant_id": str(a.pk)},
        "platform index": {"portal.platform_index": "on"},
        "another user's memberships": {"portal.user_id": str(a_user_b_member.pk)},
        "B's claim replayed": b_claim,
        "B's claim replayed as unscoped": {**b_claim, "portal.scope": "all"},
        "made-up signature": {"portal.tenant_id": str(b.pk), "portal.claim": "0" * 64},
    }


def _apply(cursor, claim: dict[str, str]) -> None:
    for name, value in claim.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def test_no_claim_an_attacker_can_write_reaches_another_tenants_rows(world_gallery, two_tenants):
    _rows_of_every_tenant_table(world_gallery, two_tenants)
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    tables = _tenant_tables()
    with dangerously_unscoped(reason="test: what exists"), scope_connection().cursor() as cursor:
        missing = []
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [b.pk])
            if cursor.fetchone()[0] == 0:
                missing.append(table)
    assert missing == [], "every tenant table needs a row of B for this test to mean something"

    attacks = _attacks(a=a, b=b, a_user_b_member=two_tenants.b.owner, b_claim=_legitimate_claim(b))
    with _app_connect() as attacker:
        for name, claim in attacks.items():
            for table in tables:
                with attacker.cursor() as cursor:
                    _apply(cursor, claim)
                    cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id IS DISTINCT FROM %s", [a.pk])
                    assert cursor.fetchone()[0] == 0, f"{name}: read {table}"
                for statement in (f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = %s",
                                  f"DELETE FROM {table} WHERE tenant_id = %s"):
                    with attacker.cursor() as cursor:
                        _apply(cursor, claim)
                        try:
                            cursor.execute(statement, [b.pk])
                            assert cursor.rowcount == 0, f"{name}: {statement}"
                        except psycopg.errors.InsufficientPrivilege:
                            pass  # the audit chain: no UPDATE or DELETE privilege at all
                    attacker.rollback()
            # Inserting a row for B fails whatever the claim.
            for table in tables:
                with attacker.cursor() as cursor:
                    _apply(cursor, claim)
                    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security|permission denied"):
                        cursor.execute(f"INSERT INTO {table} SELECT (json_populate_record(null::{table},"
                                       f" json_build_object('id', -1, 'tenant_id', %s::bigint))).*", [b.pk])
                attacker.rollback()

    with dangerously_unscoped(reason="test: nothing changed"), scope_connection().cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", [b.pk])
            assert cursor.fetchone()[0] > 0, table


def test_the_portals_own_claim_still_works_and_only_for_its_transaction(two_tenants):
    b = two_tenants.b.tenant
    claim = _legitimate_claim(b)
    assert len(claim["portal.claim"]) == 64
    with _app_connect() as attacker, attacker.cursor() as cursor:
        _apply(cursor, claim)
        cursor.execute("SELECT portal_tenant_id(), portal_claim_valid()")
        assert cursor.fetchone() == (None, False)


def test_the_application_role_cannot_read_or_replace_the_key(two_tenants):
    with _app_connect() as attacker:
        for sql in ("SELECT * FROM portal_claim_key",
                    "UPDATE portal_claim_key SET inner_pad = ''::bytea",
                    "CREATE OR REPLACE FUNCTION portal_claim_valid() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
                    "CREATE FUNCTION public.portal_forged() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
                    "ALTER TABLE gallery_face DISABLE ROW LEVEL SECURITY",
                    "CREATE TEMP TABLE portal_claim_key (id smallint, inner_pad bytea, outer_pad bytea)"):
            try:
                with attacker.cursor() as cursor:
                    cursor.execute(sql)
                    if sql.startswith("CREATE TEMP"):
                        # Allowed, and harmless: the check names public.portal_claim_key.
                        cursor.execute("INSERT INTO portal_claim_key VALUES (1, '', '')")
                        cursor.execute("SELECT set_config('portal.claim', encode(sha256(sha256(convert_to("
                                       "concat_ws('|', '', '1', '', '', pg_backend_pid(), portal_transaction_started()),"
                                       " 'UTF8'))), 'hex'), true), set_config('portal.tenant_id', '1', true)")
                        cursor.execute("SELECT portal_claim_valid()")
                        assert cursor.fetchone() == (False,)
                        continue
                pytest.fail(f"the application's role could run: {sql}")
            except psycopg.errors.InsufficientPrivilege:
                pass
            finally:
                attacker.rollback()


def test_no_claim_reaches_another_tenants_partition_named_directly(world_gallery, two_tenants):
    """The face table is partitioned by gallery (portal/gallery/partitions.py): SQL that names B's
    partition, or the platform index's, instead of the parent gets no more than through it."""
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    b_partition, platform = f"gallery_face_tenant_{b.pk}", "gallery_face_platform"
    with dangerously_unscoped(reason="test: what exists"), scope_connection().cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {b_partition}")
        b_faces = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {platform}")
        assert b_faces > 0 and cursor.fetchone()[0] > 0, "B and the platform index need faces for this test"
        cursor.execute("SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_inherits i"
                       " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'gallery_face'::regclass")
        partitions = cursor.fetchall()
        cursor.execute("SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies"
                       " WHERE tablename = 'gallery_face' OR tablename LIKE 'gallery\\_face\\_%%'")
        policies = cursor.fetchall()
    assert {b_partition, platform, f"gallery_face_tenant_{a.pk}"} <= {name for name, _, _ in partitions}
    assert all(enabled and forced for _, enabled, forced in partitions), partitions
    parent_policies = sorted(p[1:] for p in policies if p[0] == "gallery_face")
    for name, _, _ in partitions:
        assert sorted(p[1:] for p in policies if p[0] == name) == parent_policies, name

    # B, in its own legitimate scope, reads its own partition by name (so these queries can see
    # rows), and nothing of A's partition or of the platform index (B is not entitled to it).
    assert not b.may_search_platform_index
    with tenant_scope(b), connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {b_partition}")
        assert cursor.fetchone()[0] == b_faces
        for partition in (f"gallery_face_tenant_{a.pk}", platform):
            cursor.execute(f"SELECT count(*) FROM {partition}")
            assert cursor.fetchone()[0] == 0, partition
            cursor.execute(f"UPDATE {partition} SET withheld = withheld")
            assert cursor.rowcount == 0, partition
    # A, with every claim it can write, reaches nothing of B's partition or the platform's.
    attacks = _attacks(a=a, b=b, a_user_b_member=two_tenants.b.owner, b_claim=_legitimate_claim(b))
    with _app_connect() as attacker:
        for name, claim in attacks.items():
            for partition in (b_partition, platform):
                with attacker.cursor() as cursor:
                    _apply(cursor, claim)
                    cursor.execute(f"SELECT count(*) FROM {partition}")
                    assert cursor.fetchone()[0] == 0, f"{name}: read {partition}"
                    for statement in (f"UPDATE {partition} SET withheld = true", f"DELETE FROM {partition}"):
                        cursor.execute(statement)
                        assert cursor.rowcount == 0, f"{name}: {statement}"
                    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
                        cursor.execute(f"INSERT INTO {b_partition} SELECT (json_populate_record(null::{b_partition},"
                                       f" json_build_object('id', -1, 'tenant_id', %s::bigint))).*", [b.pk])
                attacker.rollback()
            with attacker.cursor() as cursor:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    cursor.execute(f"ALTER TABLE gallery_face DETACH PARTITION {b_partition}")
            attacker.rollback()
    with dangerously_unscoped(reason="test: nothing changed"), scope_connection().cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {b_partition} WHERE NOT withheld")
        assert cursor.fetchone()[0] == b_faces
