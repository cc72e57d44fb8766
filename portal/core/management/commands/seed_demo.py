"""The demo: two tenants with an owner and an investigator each, and a platform operator. The
police tenant also has a second investigator; its owner and that investigator review matches, so
the two-person confirmation of a lead can be tried (the investigator who searches cannot be second).

Idempotent. Passwords come from DEMO_PASSWORD when set, otherwise one is made and kept in the
data folder so that every run prints the same log-ins.
"""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.models import Tenant
from portal.audit.services import Actor
from portal.platform.two_factor import ENROLMENT_CODE_HOURS, enrolment_code_issue, totp_confirmed
from tenants.context import tenant_scope
from tenants.services import member_add, member_review_set, operator_create, tenant_create

DEMO_TENANTS = [
    {"slug": "metro-police", "name": "Metropolitan Police (demo)", "kind": Tenant.Kind.LAW_ENFORCEMENT,
     "home_country": "GB", "may_search_platform_index": True, "case_reference_required": True,
     "members": [("owner@metro-police.example", "owner"), ("investigator@metro-police.example", "investigator"),
                 ("reviewer@metro-police.example", "investigator")]},
    {"slug": "northwind-retail", "name": "Northwind Retail (demo)", "kind": Tenant.Kind.RETAIL,
     "home_country": "FR", "may_search_platform_index": False, "case_reference_required": False,
     "members": [("owner@northwind.example", "owner"), ("investigator@northwind.example", "investigator")]},
]
DEMO_OPERATOR = "operator@portal.example"
DEMO_REVIEWERS = {"owner@metro-police.example", "reviewer@metro-police.example", "owner@northwind.example"}


def demo_password() -> str:
    if settings.DEMO_PASSWORD:
        return settings.DEMO_PASSWORD
    path = settings.VAR_DIR / "demo-password.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(9))
    return path.read_text().strip()


class Command(BaseCommand):
    help = "Creates the demo tenants, members and platform operator (idempotent) and prints their log-ins."

    def handle(self, *args, **options):
        password = demo_password()
        logins = []
        for spec in DEMO_TENANTS:
            spec = dict(spec)
            members = spec.pop("members")
            tenant = Tenant.objects.filter(slug=spec["slug"]).first() or tenant_create(**spec)
            owner = None
            for email, role in members:
                membership, _ = member_add(tenant=tenant, email=email, role=role, password=password)
                membership.user.set_password(password)
                membership.user.save(update_fields=["password"])
                owner = owner or membership
                if email in DEMO_REVIEWERS:
                    with tenant_scope(tenant):
                        member_review_set(tenant=tenant, by=owner, membership=membership, may_review=True,
                                          actor=Actor.system("seed_demo"))
                reviews = ", reviews matches" if email in DEMO_REVIEWERS else ""
                logins.append((email, f"{role} of {tenant.name}{reviews}", f"/t/{tenant.slug}/"))
        operator, _ = operator_create(email=DEMO_OPERATOR, password=password)
        operator.set_password(password)
        operator.save(update_fields=["password"])
        logins.append((DEMO_OPERATOR, "platform operator", "/platform/"))

        self.stdout.write(self.style.SUCCESS("Demo log-ins (all with the same password):"))
        for email, what, where in logins:
            self.stdout.write(f"  {email:<38} {what:<62} {where}")
        self.stdout.write(f"  password: {password}")
        if not totp_confirmed(user=operator):
            code = enrolment_code_issue(user=operator, actor=Actor.system("seed_demo"))
            self.stdout.write(f"  the operator's one-time two-factor enrolment code (first set-up, valid "
                              f"{ENROLMENT_CODE_HOURS} hours): {code}")
