"""The face table partitioned by gallery (PostgreSQL declarative partitioning, list on tenant_id).

`gallery_face` is the parent; the operator's platform index is the partition for tenant_id NULL
(`gallery_face_platform`) and each tenant has its own (`gallery_face_tenant_<id>`), created by a
trigger in the transaction that creates the tenant. A tenant-only search is pruned to its own
partition; a tenant + platform search reads two. Offboarding a tenant detaches and drops its
partition (portal/compliance/enforcement.py).

List rather than hash: a hash partition mixes tenants, so a tenant-only search would still walk a
graph holding other tenants' faces with a filter, and offboarding would still delete row by row.

Every partition carries what the parent declares: columns, checks, foreign keys and the parent's
(partitioned) indexes, among them the HNSW index that portal/gallery/face_index.py defines, once,
on the parent: PostgreSQL builds one graph per partition, and a partition created later gets its
own at once. What a partition does not inherit is added by `portal_face_partition_create`:
its primary key and uuid key (a key on the parent would have to include tenant_id, which the
platform partition holds as NULL), its fillfactor, and row-level security, forced, with copies of
the parent's policies, so that naming a partition directly in SQL gets no more than the parent.
"""

from __future__ import annotations

PLATFORM_PARTITION = "gallery_face_platform"

# Run by the owner (migrations). The functions are SECURITY DEFINER so that the trigger creates a
# tenant's partition whichever role inserts the tenant; the creating function itself is not
# callable by the application's roles.
PARTITION_FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION portal_face_partition_name(tenant bigint) RETURNS text
  LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE WHEN tenant IS NULL THEN 'gallery_face_platform' ELSE 'gallery_face_tenant_' || tenant END $$;

CREATE OR REPLACE FUNCTION portal_face_partition_create(tenant bigint) RETURNS regclass
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  partition text := portal_face_partition_name(tenant);
  policy record;
BEGIN
  IF to_regclass(partition) IS NOT NULL THEN
    RETURN partition::regclass;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF gallery_face FOR VALUES IN (%s) WITH (fillfactor = 70)',
                 partition, coalesce(tenant::text, 'NULL'));
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (id), ADD CONSTRAINT %I UNIQUE (uuid)',
                 partition, partition || '_pkey', partition || '_uuid_key');
  EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', partition);
  FOR policy IN SELECT * FROM pg_policies WHERE schemaname = 'public' AND tablename = 'gallery_face' LOOP
    EXECUTE format('CREATE POLICY %I ON %I AS %s FOR %s TO %s', policy.policyname, partition, policy.permissive,
                   policy.cmd, array_to_string(policy.roles, ', '))
         || coalesce(' USING (' || policy.qual || ')', '')
         || coalesce(' WITH CHECK (' || policy.with_check || ')', '');
  END LOOP;
  RETURN partition::regclass;
END $$;
REVOKE ALL ON FUNCTION portal_face_partition_create(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION portal_face_partition_for_tenant() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM portal_face_partition_create(NEW.id);
  RETURN NULL;
END $$;
"""

TENANT_TRIGGER_SQL = ("CREATE OR REPLACE TRIGGER face_partition_create AFTER INSERT ON tenants_tenant"
                      " FOR EACH ROW EXECUTE FUNCTION portal_face_partition_for_tenant()")


def face_partition_name(*, tenant_id: int | None) -> str:
    """The partition that holds a gallery's faces (as portal_face_partition_name in SQL)."""
    return PLATFORM_PARTITION if tenant_id is None else f"gallery_face_tenant_{int(tenant_id)}"
