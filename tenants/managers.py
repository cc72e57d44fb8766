"""Managers for tenant-owned models: scoped to the current tenant, and raising when there is none."""

from django.db import models

from tenants.context import scope_is_unscoped, tenant_current


class TenantScopedQuerySet(models.QuerySet):
    pass


class TenantScopedManager(models.Manager.from_queryset(TenantScopedQuerySet)):
    """`Model.objects`: the current tenant's rows only. No tenant in scope raises TenantScopeMissing.

    Inside `dangerously_unscoped()` it returns every tenant's rows (and RLS agrees).
    """

    def get_queryset(self):
        queryset = super().get_queryset()
        if scope_is_unscoped():
            return queryset
        return queryset.filter(tenant=tenant_current())
