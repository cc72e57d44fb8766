"""Operators' TOTP secrets are sealed at rest and backup codes kept as keyed hashes
(portal.platform.sealing): the proxy model the portal uses, and the secrets and codes issued
before it, converted in place."""

from django.db import migrations

from portal.platform.sealing import backup_code_digest, is_sealed, seal


def secrets_seal(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, user_id, key FROM otp_totp_totpdevice")
        for device_id, user_id, key in cursor.fetchall():
            if not is_sealed(key):
                cursor.execute("UPDATE otp_totp_totpdevice SET key = %s WHERE id = %s",
                               [seal(hex_key=key, user_id=user_id), device_id])
        # Backup codes issued before are 8 characters in clear; their digests are 16.
        cursor.execute("SELECT id, token FROM otp_static_statictoken WHERE length(token) < 16")
        for token_id, token in cursor.fetchall():
            cursor.execute("UPDATE otp_static_statictoken SET token = %s WHERE id = %s",
                           [backup_code_digest(token), token_id])


class Migration(migrations.Migration):
    dependencies = [("platform", "0004_staff_token_secrets"), ("otp_totp", "0003_add_timestamps"),
                    ("otp_static", "0003_add_timestamps")]

    operations = [
        migrations.CreateModel(
            name="SealedTOTPDevice", fields=[], options={"proxy": True, "indexes": [], "constraints": []},
            bases=("otp_totp.totpdevice",),
        ),
        migrations.RunPython(secrets_seal, migrations.RunPython.noop),
    ]
