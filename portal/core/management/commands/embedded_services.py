from django.conf import settings
from django.core.management.base import BaseCommand

from portal.runtime import embedded


class Command(BaseCommand):
    help = "Shows or stops the embedded PostgreSQL and Redis (they start by themselves when needed)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args, action, **options):
        if action == "status":
            self.stdout.write(f"database: {settings.DATABASES['default']['HOST']}:{settings.DATABASES['default']['PORT']}"
                              f" ({'embedded' if settings.EMBEDDED_SERVICES else 'DATABASE_URL'})")
            self.stdout.write(f"broker:   {settings.CELERY_BROKER_URL}")
            return
        stopped_pg = embedded.postgres_stop(data_dir=settings.VAR_DIR)
        stopped_redis = embedded.redis_stop(data_dir=settings.VAR_DIR)
        self.stdout.write(f"PostgreSQL {'stopped' if stopped_pg else 'was not running'}; "
                          f"Redis {'stopped' if stopped_redis else 'was not running'}.")
