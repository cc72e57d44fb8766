"""Enrolment codes are kept as keyed hashes (portal.platform.two_factor._code_hash) rather than
plain SHA-256, so SQL run as the application cannot add a code it knows. The codes issued before
cannot be converted (only their plain hashes were kept): unused ones are withdrawn, and an
operator still waiting to enrol needs a new code (`manage.py platform_enrolment_code`)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("platform", "0005_sealed_totp_devices")]

    operations = [
        migrations.RunSQL("DELETE FROM platform_staffenrolmentcode WHERE used_at IS NULL", migrations.RunSQL.noop),
    ]
