"""Opt-out requesters' names and contacts are sealed at rest (portal.sealing): the columns become
text (ciphertext is longer than the values) and the rows already there are sealed in place."""

from django.db import migrations

import portal.sealing
from portal.sealing import is_sealed, seal

_FIELDS = {"full_name": "compliance_optout.full_name", "contact": "compliance_optout.contact"}


def identities_seal(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, full_name, contact FROM compliance_optout")
        for opt_out_id, *values in cursor.fetchall():
            sealed = [value if not value or is_sealed(value) else seal(value.encode(), purpose=purpose)
                      for value, purpose in zip(values, _FIELDS.values())]
            cursor.execute("UPDATE compliance_optout SET full_name = %s, contact = %s WHERE id = %s",
                           [*sealed, opt_out_id])


class Migration(migrations.Migration):
    dependencies = [("compliance", "0007_models_moved_out")]

    operations = [
        migrations.AlterField(
            model_name="optout", name="contact",
            field=portal.sealing.SealedTextField(help_text="E-mail or postal address for the reply.",
                                                 purpose="compliance_optout.contact"),
        ),
        migrations.AlterField(
            model_name="optout", name="full_name",
            field=portal.sealing.SealedTextField(blank=True, purpose="compliance_optout.full_name"),
        ),
        migrations.RunPython(identities_seal, migrations.RunPython.noop),
    ]
