from django.core.checks import Error, register

from portal.gallery.gates import gates_missing


@register()
def compliance_gates_registered(app_configs, **kwargs):
    """Start-up fails when ingest or search would run without the compliance gates."""
    missing = gates_missing()
    if not missing:
        return []
    return [Error(f"No {' and no '.join(missing)} is registered, so ingest and search would not obey orders.",
                  hint="Install portal.compliance (it registers its gates in ComplianceConfig.ready()).",
                  id="gallery.E001")]
