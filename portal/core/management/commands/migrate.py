"""`migrate`, always as the table owner, then granting the application's role its privileges and
installing the key that row-level security's claims are signed with and naming the platform's
role, the only one whose sessions may hold the platform scope (tenants.claims)."""

from django.core.management.commands.migrate import Command as DjangoMigrate

from portal.runtime.database import app_role_grant, owner_connection, pgvector_require
from tenants.claims import KEY_TABLE, PLATFORM_ROLE_TABLE, claim_key_install, platform_role_install

# What the application's role may not do, whatever the blanket grant gives it: read the claim key
# or a password hash, write the audit chains except through portal_audit_append(), touch their
# heads, or use the session table.
PRIVILEGES_WITHHELD = {
    KEY_TABLE: "ALL",
    PLATFORM_ROLE_TABLE: "ALL",
    "compliance_auditevent": "INSERT, UPDATE, DELETE, TRUNCATE",
    "compliance_auditchainhead": "ALL",
    # Password hashes: set and checked only through functions (tenants.credentials).
    "tenants_credential": "ALL",
    # API key and staff token hashes (portal.api.secrets).
    "portal_secret": "ALL",
    # Sessions live in the cache (SESSION_ENGINE), never in this table.
    "django_session": "ALL",
    # Append-only records (search/0004): verdicts on matches, disclosures, who looked.
    "search_matchreview": "UPDATE, DELETE",
    "search_disclosure": "UPDATE, DELETE",
    "search_searchaccess": "UPDATE, DELETE",
    # The orders' version (compliance/0010): bumped only by its trigger, never set back.
    "compliance_ordersversion": "INSERT, UPDATE, DELETE, TRUNCATE",
}
# What only the platform's role may do. django-celery-beat's schedules: a row there makes the
# worker run a task, so SQL on the tenants' connection must not add or change one. Beat reads and
# writes them on the platform's connection (tenants.context.PlatformWorkRouter).
PRIVILEGES_WITHHELD_FROM_APP = {
    f"django_celery_beat_{table}": "INSERT, UPDATE, DELETE, TRUNCATE"
    for table in ("periodictask", "periodictasks", "intervalschedule", "crontabschedule", "solarschedule",
                  "clockedschedule")
} | {
    # The operator's public signing keys: read by anyone, written only on the platform's connection.
    "audit_signingkey": "INSERT, UPDATE, DELETE, TRUNCATE",
    # Every chain's signed head, tenants' positions included: how active each tenant is.
    "audit_signedauditheads": "ALL",
}


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        with owner_connection(options["database"]) as connection:
            pgvector_require(connection=connection)
            result = super().handle(*args, **options)
            app_role_grant(connection=connection, withheld=PRIVILEGES_WITHHELD,
                           withheld_from_app=PRIVILEGES_WITHHELD_FROM_APP)
            claim_key_install(connection=connection)
            platform_role_install(connection=connection)
        return result
