"""A version number of the orders in force, so each process may cache the search exclusions.

The similarity query used to read every order in force from the database on each search. Now
each process keeps the exclusions it compiled (portal/compliance/gates.py) with the version it
read first, and every search statement also tests that the version is still that one: when it is
not, the statement returns no face and the search compiles them again. The version is bumped by
a statement trigger on `compliance_regulatoryorder`, so every change to an order (activation,
a change of its scope, a draft's withdrawal, a deletion, whatever the path: a service, the admin,
raw SQL) bumps it in the same transaction, and the very next statement that sees the change
also sees the new version. The numbers come from a sequence, which a rollback does not give
back: a version some process cached from a transaction that then rolled back is never reused for
another set of orders.

Only the owner writes the version (the trigger's function is SECURITY DEFINER; migrate withholds
INSERT, UPDATE, DELETE and TRUNCATE from the application's and the platform's roles), so SQL run
as the application cannot set it back to a version some process still has cached.
"""

from django.db import migrations

SQL = """
CREATE SEQUENCE compliance_ordersversion_seq;
CREATE TABLE compliance_ordersversion (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO compliance_ordersversion (id, version) VALUES (1, nextval('compliance_ordersversion_seq'));
CREATE OR REPLACE FUNCTION portal_orders_version_bump() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  UPDATE public.compliance_ordersversion SET version = nextval('public.compliance_ordersversion_seq') WHERE id = 1;
  RETURN NULL;
END $$;
CREATE TRIGGER orders_version_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON compliance_regulatoryorder
    FOR EACH STATEMENT EXECUTE FUNCTION portal_orders_version_bump();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS orders_version_bump ON compliance_regulatoryorder;
DROP FUNCTION IF EXISTS portal_orders_version_bump();
DROP TABLE IF EXISTS compliance_ordersversion;
DROP SEQUENCE IF EXISTS compliance_ordersversion_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0009_platform_tables_guard")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
