"""The customer portal's pages, one module a part of the portal (portal/web/urls.py maps them).

Everything under /t/<tenant_slug>/ has passed TenantMiddleware (member of this active tenant,
request scoped to it); role checks sit on each view. Views parse input, call one service or
selector, and render: the rules live in the services, and their refusals (portal.errors
DomainError) go onto forms with form_error_add or into JSON in the API's error shape.
"""
