from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from portal.runtime import embedded


class Command(BaseCommand):
    help = ("Shows or stops the embedded PostgreSQL and Redis (they start by themselves when the portal or the "
            "tests need them; this command never starts them).")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args, action, **options):
        if action == "status":
            database = settings.DATABASES["default"]
            self.stdout.write(f"database: {database['HOST']}:{database['PORT']} "
                              f"({_state(settings.EMBEDDED_SERVICES, int(database['PORT']))})")
            broker = settings.CELERY_BROKER_URL
            self.stdout.write(f"broker:   {broker} ({_state(settings.EMBEDDED_REDIS, urlsplit(broker).port)})")
            return
        stopped_pg = embedded.postgres_stop(data_dir=settings.VAR_DIR)
        stopped_redis = embedded.redis_stop(data_dir=settings.VAR_DIR)
        self.stdout.write(f"PostgreSQL {'stopped' if stopped_pg else 'was not running'}; "
                          f"Redis {'stopped' if stopped_redis else 'was not running'}.")


def _state(is_embedded: bool, port: int) -> str:
    if not is_embedded:
        return "configured"
    return "embedded, running" if embedded.port_open(port) else "embedded, stopped"
