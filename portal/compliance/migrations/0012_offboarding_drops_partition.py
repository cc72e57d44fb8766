"""Offboarding drops the tenant's face partition whole (portal/gallery/partitions.py).

Detaching and dropping a partition needs the table's owner, which the platform's role is not: the
function runs as the owner, and only for platform work (the signed platform scope, checked as row
security checks it) under an offboarding order in force that names the tenant. The platform
index's partition is never dropped. An empty partition takes the dropped one's place, since the
tenant itself stays (suspended)."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION portal_face_partition_drop(tenant bigint) RETURNS boolean
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  partition text := portal_face_partition_name(tenant);
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'The platform index''s faces are never dropped as a partition.'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT coalesce((SELECT portal_unscoped()), false) THEN
    RAISE EXCEPTION 'Only platform work may drop a gallery''s faces.' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM compliance_regulatoryorder o WHERE o.kind = 'offboarding' AND o.status <> 'draft'
                 AND tenant = ANY (o.offboard_tenant_ids)) THEN
    RAISE EXCEPTION 'No offboarding order in force names tenant %.', tenant USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF to_regclass(partition) IS NULL THEN
    RETURN false;
  END IF;
  -- Foreign-key checks deferred to the commit (rows written earlier in this transaction) run now:
  -- a table with pending trigger events cannot be dropped.
  SET CONSTRAINTS ALL IMMEDIATE;
  EXECUTE format('ALTER TABLE gallery_face DETACH PARTITION %I', partition);
  EXECUTE format('DROP TABLE %I', partition);
  -- The tenant row stays (suspended), and every tenant has a partition: an empty one replaces it,
  -- so anything written for the tenant later is caught by the gates, the sweep and verification
  -- as before, never refused for want of a partition.
  PERFORM portal_face_partition_create(tenant);
  RETURN true;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0011_certificate_signed"),
        ("gallery", "0009_face_partitioned"),
    ]

    operations = [migrations.RunSQL(SQL, reverse_sql="DROP FUNCTION IF EXISTS portal_face_partition_drop(bigint);")]
