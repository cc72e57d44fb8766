"""The orders in force are cached per process by version (portal/compliance/in_force.py), and a
search statement never applies cached exclusions that went out of date before it began."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import psycopg
import pytest
from django.db import connection, transaction

from portal.audit.services import Actor
from portal.compliance import in_force
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create, order_delete_draft
from portal.gallery.models import Face
from portal.search.selectors import tenant_faces_nearest
from tenants.context import dangerously_unscoped, tenant_scope
from tests.builders import Gallery, order_fields, picture_add
from tests.factories import app_role_connect
from tests.worker import ROOT

Kind = RegulatoryOrder.Kind
ACTOR = Actor.system("test")


def _visible(tenant, embedding) -> set[int]:
    with tenant_scope(tenant):
        return {n.face_id for n in tenant_faces_nearest(tenant=tenant, embedding=embedding, k=20,
                                                        include_platform_index=False)}


def _gallery(tenant) -> tuple[Gallery, int, int]:
    gallery = Gallery(tenants=[tenant])
    picture_add(gallery, tenant=tenant, region="FR")
    picture_add(gallery, tenant=tenant, region="DE")
    (fr,), (de,) = gallery.ids(region="FR"), gallery.ids(region="DE")
    return gallery, fr, de


def _withheld_flags_off(monkeypatch) -> None:
    """Activation also flags covered faces withheld once it commits; knocked out here, so only the
    search exclusion (and so the cache under test) keeps the covered face out."""
    from portal.compliance import orders

    monkeypatch.setattr(orders, "order_withhold_flags", lambda **kwargs: (0, 0))


def _version() -> int:
    with dangerously_unscoped(reason="test"):
        return in_force.orders_version_read()


@pytest.mark.django_db
def test_a_warm_cache_costs_no_query_and_a_change_is_read_at_once(two_tenants, django_assert_num_queries,
                                                                   monkeypatch):
    _withheld_flags_off(monkeypatch)
    a = two_tenants.a.tenant
    gallery, fr, de = _gallery(a)
    probe = gallery.faces[fr][2]
    assert fr in _visible(a, probe)  # warms the cache
    with tenant_scope(a), django_assert_num_queries(2):  # the HNSW settings and the statement, pipelined
        tenant_faces_nearest(tenant=a, embedding=probe, k=20, include_platform_index=False)
    before = in_force._cached.version
    order = order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])), actor=ACTOR)
    # Stale cache: the statement says so, the orders are read again (version, orders) and it runs again.
    with tenant_scope(a), django_assert_num_queries(6):
        found = {n.face_id for n in tenant_faces_nearest(tenant=a, embedding=probe, k=20, include_platform_index=False)}
    assert fr not in found and de in found
    assert in_force._cached.version > before
    assert order.status == RegulatoryOrder.Status.ACTIVE


@pytest.mark.django_db
def test_every_change_to_the_orders_gives_a_new_version_and_a_rollback_never_reuses_one():
    seen = [_version()]
    draft = order_create(**order_fields(kind=Kind.REGIONAL, regions=["IT"]))
    seen.append(_version())
    with dangerously_unscoped(reason="test"):
        RegulatoryOrder.objects.filter(pk=draft.pk).update(regions=["IT", "ES"])
    seen.append(_version())
    order_delete_draft(order=draft, actor=ACTOR)  # a draft's withdrawal
    seen.append(_version())
    assert len(set(seen)) == len(seen) and seen == sorted(seen)
    # A change rolled back: its number is never handed out again.
    with pytest.raises(RuntimeError), dangerously_unscoped(reason="test"):
        RegulatoryOrder.objects.filter(pk=-1).update(regions=["PT"])  # a statement, even of no row
        rolled_back = in_force.orders_version_read()
        raise RuntimeError
    assert rolled_back > seen[-1] and _version() == seen[-1]
    order_create(**order_fields(kind=Kind.REGIONAL, regions=["PT"]))
    assert _version() > rolled_back


@pytest.mark.django_db(transaction=True)
def test_only_the_trigger_writes_the_version():
    for alias in ("default", "platform"):
        with app_role_connect(autocommit=True, alias=alias) as conn:
            for sql in ("UPDATE compliance_ordersversion SET version = 1", "DELETE FROM compliance_ordersversion",
                        "SELECT setval('compliance_ordersversion_seq', 1)"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(sql)


@pytest.mark.django_db(transaction=True)
def test_the_new_version_is_seen_by_other_connections_when_the_activation_commits(two_tenants, monkeypatch):
    _withheld_flags_off(monkeypatch)
    a = two_tenants.a.tenant
    gallery, fr, de = _gallery(a)
    probe = gallery.faces[fr][2]
    draft = order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"]))
    before = _version()
    assert fr in _visible(a, probe)
    with app_role_connect(autocommit=True) as other:
        with dangerously_unscoped(reason="test"), transaction.atomic(using="platform"):
            order_activate(order=draft, actor=ACTOR)  # on the platform's connection, not committed yet
            inside = in_force.orders_version_read()
            assert inside > before
            # Another connection, and this process's own tenant connection, still see the old state.
            assert other.execute("SELECT version FROM compliance_ordersversion").fetchone()[0] == before
            assert fr in _visible(a, probe)
        assert other.execute("SELECT version FROM compliance_ordersversion").fetchone()[0] == inside
    assert fr not in _visible(a, probe) and de in _visible(a, gallery.faces[de][2])


@pytest.mark.django_db(transaction=True)
def test_activation_commits_before_the_withheld_flags_are_set(two_tenants, monkeypatch):
    """Nothing covered is visible from the commit of the short activation transaction; setting the
    flags (a long update on a large gallery), counting and notifying come after that commit and
    must not hold it back. Seen from the moment the flags step starts: the order is committed for
    every other connection, the tenant's search skips the covered face, and no flag is set yet."""
    from portal.compliance import orders

    a = two_tenants.a.tenant
    gallery, fr, de = _gallery(a)
    probe = gallery.faces[fr][2]
    before = _version()
    assert fr in _visible(a, probe)
    at_flags: dict = {}
    flags_set = orders.order_withhold_flags

    def flags_seen_from_outside(*, order, actor):
        with app_role_connect(autocommit=True, alias="platform") as other:
            at_flags["version"] = other.execute("SELECT version FROM compliance_ordersversion").fetchone()[0]
            at_flags["status"] = other.execute("SELECT status FROM compliance_regulatoryorder WHERE id = %s",
                                               [order.pk]).fetchone()[0]
        with dangerously_unscoped(reason="test"):
            at_flags["withheld"] = _withheld_count()
        at_flags["found"] = _visible(a, probe)
        return flags_set(order=order, actor=actor)

    monkeypatch.setattr(orders, "order_withhold_flags", flags_seen_from_outside)
    order = order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])), actor=ACTOR)
    assert at_flags["version"] > before and at_flags["status"] == RegulatoryOrder.Status.ACTIVE
    assert at_flags["withheld"] == 0
    assert fr not in at_flags["found"] and de in at_flags["found"]
    with dangerously_unscoped(reason="test"):
        assert _withheld_count() == 1  # and then the flag, after the commit
    assert order.status == RegulatoryOrder.Status.ACTIVE


def _withheld_count() -> int:
    return Face.objects.filter(withheld=True).count()


@pytest.mark.django_db(transaction=True)
def test_activation_committed_elsewhere_reaches_a_process_with_the_old_exclusions_cached(two_tenants, tmp_path,
                                                                                        monkeypatch):
    """Another process searches with its cache warm; the order is activated here, on the
    platform's own connection, and commits; that process's very next search skips the covered
    face, and a face of another region stays found."""
    _withheld_flags_off(monkeypatch)
    a = two_tenants.a.tenant
    gallery, fr, de = _gallery(a)
    probe_fr, probe_de = gallery.faces[fr][2], gallery.faces[de][2]
    script = textwrap.dedent(f"""
        import json, sys, django
        import numpy as np
        django.setup()
        from portal.compliance import in_force
        from portal.search.selectors import tenant_faces_nearest
        from tenants.context import dangerously_unscoped, tenant_scope
        from tenants.models import Tenant
        with dangerously_unscoped(reason="test"):
            tenant = Tenant.objects.get(pk={a.pk})
        probes = {{"fr": np.array({probe_fr.tolist()}, dtype=np.float32),
                   "de": np.array({probe_de.tolist()}, dtype=np.float32)}}
        for line in sys.stdin:
            found, cached = [], in_force._cached.version if in_force._cached else None
            for probe in probes.values():
                with tenant_scope(tenant):
                    found += [n.face_id for n in tenant_faces_nearest(tenant=tenant, embedding=probe, k=20,
                                                                       include_platform_index=False)]
            print(json.dumps({{"found": sorted(set(found)), "cached_before": cached}}), flush=True)
    """)
    env = {**os.environ, "PORTAL_DATABASE_NAME": connection.settings_dict["NAME"], "DJANGO_SETTINGS_MODULE":
           "portal.settings"}
    other = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=(tmp_path / "stderr").open("wb"), text=True)
    try:
        def search() -> dict:
            other.stdin.write("search\n")
            other.stdin.flush()
            line = other.stdout.readline()
            assert line, (tmp_path / "stderr").read_text()[-3000:]
            return json.loads(line)

        first = search()
        assert {fr, de} <= set(first["found"])
        warm = search()
        assert warm["cached_before"] is not None  # the second search ran with the cache warm
        order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])), actor=ACTOR)
        after = search()
        assert after["cached_before"] == warm["cached_before"] < _version()  # it held the old exclusions
        assert fr not in after["found"] and de in after["found"]
    finally:
        other.stdin.close()
        other.wait(timeout=60)
