"""Who may review matches (a flag an owner sets on a membership) and whether a tenant requires two
people to confirm a match. A tenant may change that setting in its own scope, like its other
settings, so the guard of tenants/0009 now lets it through too."""

from django.db import migrations, models

GUARD_SQL = """
CREATE OR REPLACE FUNCTION portal_tenant_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF public.portal_unscoped() THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.id = public.portal_tenant_id()
     AND (to_jsonb(NEW) - 'case_reference_required' - 'probe_retention_days' - 'two_person_review')
         = (to_jsonb(OLD) - 'case_reference_required' - 'probe_retention_days' - 'two_person_review') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'tenants are changed only by platform code (a tenant may change its own settings)'
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0010_platform_connection'),
    ]

    operations = [
        migrations.AddField(
            model_name='membership',
            name='may_review',
            field=models.BooleanField(default=False, db_default=False, help_text='May give verdicts on matches; set by an owner.'),
        ),
        migrations.AddField(
            model_name='tenant',
            name='two_person_review',
            field=models.BooleanField(default=True, db_default=True, help_text='A match is confirmed only by two people (always, for law enforcement).'),
        ),
        migrations.RunSQL(GUARD_SQL, migrations.RunSQL.noop),
    ]
