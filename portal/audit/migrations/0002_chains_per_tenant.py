"""One audit chain per tenant plus the platform's, appended only by a database function.

- `position` numbers each chain's events 1, 2, 3… with no gaps; `seq` stays as the platform-wide
  order of writing, seen only by the operator.
- The chain head table keeps one row per chain (tenant NULL: the platform's).
- `portal_audit_append()` (SECURITY DEFINER) locks its chain's head, computes the hash itself
  and inserts; the application's role keeps SELECT on the events (bound by RLS) and loses INSERT,
  UPDATE and DELETE on them and every privilege on the heads (portal.core's migrate withholds
  them on every run).
- The hash is sha256(prev_hash || canonical), where canonical is `portal_audit_canonical()`: a
  JSON array of the event's fields in a fixed order, as PostgreSQL writes jsonb.
- Events written before this migration are re-chained per tenant in their original order. The
  old platform-wide head is recorded in the platform chain's first event after them
  (`audit.chains_split`), so the earlier chain can still be matched against copies of it.
"""

import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION portal_audit_canonical(
    p_tenant_id bigint, p_position bigint, p_actor_user_id bigint, p_actor_api_key_id bigint, p_actor_label text,
    p_action text, p_target_type text, p_target_id text, p_details jsonb, p_ip_address inet,
    p_created_at timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_array(p_tenant_id, p_position, p_actor_user_id, p_actor_api_key_id, p_actor_label, p_action,
                           p_target_type, p_target_id, p_details, host(p_ip_address),
                           (extract(epoch FROM p_created_at) * 1000000)::bigint)::text
$$;

CREATE OR REPLACE FUNCTION portal_audit_hash(p_prev_hash text, p_canonical text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$ SELECT encode(sha256(convert_to(p_prev_hash || p_canonical, 'UTF8')), 'hex') $$;

CREATE OR REPLACE FUNCTION portal_audit_append(
    p_tenant_id bigint, p_actor_user_id bigint, p_actor_api_key_id bigint, p_actor_label text, p_action text,
    p_target_type text, p_target_id text, p_details jsonb, p_ip_address inet)
  RETURNS TABLE (event_id bigint, event_seq bigint, event_position bigint, event_prev_hash text, event_hash text,
                 event_created_at timestamptz)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  head public.compliance_auditchainhead%ROWTYPE;
  created timestamptz := date_trunc('microseconds', clock_timestamp());
  canonical text;
BEGIN
  -- A tenant's chain takes events only under that tenant's claim (or the platform's). The
  -- platform chain takes events from any caller: failed log-ins happen in no scope at all.
  IF p_tenant_id IS NOT NULL AND NOT (public.portal_unscoped()
                                      OR p_tenant_id IS NOT DISTINCT FROM public.portal_tenant_id()) THEN
    RAISE EXCEPTION 'audit events of tenant % can be recorded only in that tenant''s scope', p_tenant_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO public.compliance_auditchainhead (chain_tenant_id, position, hash)
    VALUES (p_tenant_id, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
  SELECT * INTO head FROM public.compliance_auditchainhead
    WHERE chain_tenant_id IS NOT DISTINCT FROM p_tenant_id FOR UPDATE;
  canonical := public.portal_audit_canonical(p_tenant_id, head.position + 1, p_actor_user_id, p_actor_api_key_id,
                                             p_actor_label, p_action, p_target_type, p_target_id,
                                             coalesce(p_details, '{}'::jsonb), p_ip_address, created);
  event_position := head.position + 1;
  event_prev_hash := head.hash;
  event_hash := public.portal_audit_hash(head.hash, canonical);
  event_created_at := created;
  event_id := nextval(pg_get_serial_sequence('public.compliance_auditevent', 'id'));
  event_seq := nextval('public.portal_audit_seq');
  -- No RETURNING: a platform event written from a tenant's scope is not readable there.
  INSERT INTO public.compliance_auditevent (id, seq, position, tenant_id, actor_user_id, actor_api_key_id, actor_label,
                                            action, target_type, target_id, details, ip_address, created_at,
                                            prev_hash, hash)
    VALUES (event_id, event_seq, event_position, p_tenant_id, p_actor_user_id, p_actor_api_key_id,
            p_actor_label, p_action, p_target_type, p_target_id, coalesce(p_details, '{}'::jsonb), p_ip_address,
            created, event_prev_hash, event_hash);
  UPDATE public.compliance_auditchainhead SET position = event_position, hash = event_hash WHERE id = head.id;
  RETURN NEXT;
END $$;

CREATE OR REPLACE FUNCTION portal_audit_heads() RETURNS TABLE (chain_tenant_id bigint, head_position bigint,
                                                               head_hash text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT h.chain_tenant_id, h.position, h.hash FROM public.compliance_auditchainhead h
    WHERE public.portal_unscoped() OR h.chain_tenant_id IS NOT DISTINCT FROM public.portal_tenant_id()
       OR h.chain_tenant_id IS NULL
$$;
"""

# Re-chains the events written before per-tenant chains, in their original order, as the owner.
RECHAIN_SQL = """
SET LOCAL portal.scope = 'all';
ALTER TABLE compliance_auditevent DISABLE TRIGGER audit_append_only;
UPDATE compliance_auditevent e SET position = numbered.position
  FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY seq) AS position
        FROM compliance_auditevent) numbered
  WHERE numbered.id = e.id;
DO $$
DECLARE
  event record;
  previous text;
  hashed text;
BEGIN
  FOR event IN SELECT * FROM compliance_auditevent ORDER BY coalesce(tenant_id, 0), position LOOP
    IF event.position = 1 THEN
      previous := repeat('0', 64);
    END IF;
    hashed := portal_audit_hash(previous, portal_audit_canonical(
      event.tenant_id, event.position, event.actor_user_id, event.actor_api_key_id, event.actor_label, event.action,
      event.target_type, event.target_id, event.details, event.ip_address, event.created_at));
    UPDATE compliance_auditevent SET prev_hash = previous, hash = hashed WHERE id = event.id;
    previous := hashed;
  END LOOP;
END $$;
ALTER TABLE compliance_auditevent ENABLE TRIGGER audit_append_only;
DELETE FROM compliance_auditchainhead;
INSERT INTO compliance_auditchainhead (chain_tenant_id, position, hash)
  SELECT DISTINCT ON (tenant_id) tenant_id, position, hash FROM compliance_auditevent
  ORDER BY tenant_id, position DESC;
SELECT setval('portal_audit_seq', greatest(coalesce((SELECT max(seq) FROM compliance_auditevent), 0), 1),
              (SELECT count(*) > 0 FROM compliance_auditevent));
"""

SPLIT_NOTE_SQL = """
SET LOCAL portal.scope = 'all';
SELECT portal_audit_append(NULL, NULL, NULL, 'system: migration', 'audit.chains_split', '', '',
                           jsonb_build_object('platform_wide_head_seq', %(seq)s, 'platform_wide_head_hash', %(hash)s),
                           NULL)
WHERE %(seq)s > 0;
"""


def _old_head(schema_editor) -> dict:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM compliance_auditchainhead WHERE id = 1")
        row = cursor.fetchone()
    return {"seq": row[0] if row else 0, "hash": row[1] if row else "0" * 64}


def chains_split(apps, schema_editor):
    old = _old_head(schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE compliance_auditchainhead RENAME COLUMN seq TO position")
        cursor.execute("ALTER TABLE compliance_auditchainhead ADD COLUMN chain_tenant_id bigint NULL"
                       " REFERENCES tenants_tenant (id) DEFERRABLE INITIALLY DEFERRED")
        cursor.execute("ALTER TABLE compliance_auditchainhead ADD CONSTRAINT audit_one_head_per_chain"
                       " UNIQUE NULLS NOT DISTINCT (chain_tenant_id)")
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS portal_audit_seq")
        cursor.execute("ALTER TABLE compliance_auditevent ADD COLUMN position bigint NULL")
        cursor.execute(FUNCTIONS_SQL)
        cursor.execute(RECHAIN_SQL)
        cursor.execute("ALTER TABLE compliance_auditevent ALTER COLUMN position SET NOT NULL")
        cursor.execute("CREATE UNIQUE INDEX audit_position_per_chain ON compliance_auditevent"
                       " (coalesce(tenant_id, 0), position)")
        # Only the function writes events; the insert policy's own check is the function's.
        cursor.execute("ALTER POLICY tenant_insert ON compliance_auditevent WITH CHECK (true)")
        cursor.execute(SPLIT_NOTE_SQL, old)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("tenants", "0004_signed_claims")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(chains_split, migrations.RunPython.noop)],
            state_operations=[
                migrations.RenameField("auditchainhead", "seq", "position"),
                migrations.AddField("auditchainhead", "chain_tenant", models.ForeignKey(
                    null=True, blank=True, on_delete=django.db.models.deletion.CASCADE, related_name="+",
                    to="tenants.tenant")),
                migrations.AddConstraint("auditchainhead", models.UniqueConstraint(
                    fields=["chain_tenant"], nulls_distinct=False, name="audit_one_head_per_chain")),
                migrations.AddField("auditevent", "position", models.BigIntegerField(default=0)),
            ],
        ),
    ]
