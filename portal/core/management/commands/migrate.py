"""`migrate`, always as the table owner, then granting the application's role its privileges."""

from django.core.management.commands.migrate import Command as DjangoMigrate

from portal.runtime.database import app_role_grant, owner_connection, pgvector_require


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        with owner_connection(options["database"]) as connection:
            pgvector_require(connection=connection)
            result = super().handle(*args, **options)
            app_role_grant(connection=connection)
        return result
