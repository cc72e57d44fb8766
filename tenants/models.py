import uuid

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from tenants.context import dangerously_unscoped
from tenants.credentials import credential_stamp_new, password_matches, password_store, password_usable
from tenants.managers import TenantScopedManager
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        """`manage.py createsuperuser`: a platform operator, made under the platform's claim (a
        database trigger refuses staff accounts made any other way, tenants/0008)."""
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        with dangerously_unscoped(reason="createsuperuser: a platform operator"):
            return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Customer staff belong to tenants through Membership;
    platform operators are staff users with no membership."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text=_("Platform operator: may use the platform area."))
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    credential_stamp = models.CharField(max_length=32, default=credential_stamp_new, editable=False,
                                        help_text=_("Changes with the password; sessions and reset links depend on it."))
    # Set with a password someone else saw (add_member's, the platform console's one-time
    # passwords): until the user chooses their own, every page sends them to change it.
    password_change_required = models.BooleanField(
        default=False, db_default=False, help_text=_("The password was printed for the user; they must change it."))

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    _password_hash: str | None = None

    def __str__(self):
        return self.email

    # The password hash is write-only for the application: it is kept in tenants_credential,
    # which only database functions read (tenants.credentials), never in the `password` column
    # Django gives every user, which stays empty. Sessions and reset links hang on
    # credential_stamp instead of on the hash.
    def set_password(self, raw_password):
        self._password_hash = make_password(raw_password)
        self._password = raw_password  # for the password validators' password_changed()
        self.credential_stamp = credential_stamp_new()

    def set_unusable_password(self):
        self.set_password(None)
        self._password = None

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "password" in update_fields:
            kwargs["update_fields"] = {*update_fields, "credential_stamp"}
        if self._password_hash is None:
            super().save(*args, **kwargs)
            return
        # A hash is stored only under the platform's claim, on the platform's connection; the
        # account is written there too, in the same transaction, or the hash of a new account
        # would refer to a row that connection cannot see yet.
        with dangerously_unscoped(reason="storing an account with its password hash"):
            super().save(*args, **kwargs)
            password_store(user_id=self.pk, encoded=self._password_hash)
        self._password_hash = None

    def check_password(self, raw_password):
        return password_matches(user_id=self.pk, raw_password=raw_password)

    def has_usable_password(self):
        return password_usable(user_id=self.pk)

    def _get_session_auth_hash(self, secret=None):
        return salted_hmac("tenants.User.session", self.credential_stamp, secret=secret, algorithm="sha256").hexdigest()

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Tenant(models.Model):
    class Kind(models.TextChoices):
        LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
        RETAIL = "retail", _("Retail")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.OTHER)
    home_country = models.CharField(max_length=2, help_text=_("ISO 3166-1 alpha-2."))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    case_reference_required = models.BooleanField(default=True)
    probe_retention_days = models.PositiveIntegerField(default=30)
    # Stricter than the platform's floor for the tenant's kind, never looser (portal/search/floors.py).
    search_min_threshold = models.FloatField(null=True, blank=True,
                                             help_text=_("The tenant's own lowest lead threshold, if stricter."))
    search_max_k = models.PositiveSmallIntegerField(null=True, blank=True,
                                                    help_text=_("The tenant's own most matches per search, if fewer."))
    may_search_platform_index = models.BooleanField(
        default=False, help_text=_("Entitled to search the operator's platform index besides its own gallery.")
    )
    two_person_review = models.BooleanField(
        default=True, db_default=True,
        help_text=_("A match is confirmed only by two people (always, for law enforcement)."))
    two_factor_required = models.BooleanField(
        default=False, db_default=False,
        help_text=_("Every member must sign in with a second factor (always, for law enforcement)."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def confirmations_required(self) -> int:
        """How many people must confirm a match: two for law enforcement (EU AI Act Art. 14(5)),
        whatever the stored setting says, and for any tenant that keeps the default."""
        return 2 if self.two_person_review or self.kind == self.Kind.LAW_ENFORCEMENT else 1

    @property
    def two_factor_mandatory(self) -> bool:
        """Whether members must use two-factor log-in: always for law enforcement, whatever the
        stored setting says, and for any tenant whose owner requires it."""
        return self.two_factor_required or self.kind == self.Kind.LAW_ENFORCEMENT


class UserMembershipManager(models.Manager):
    """A signed-in user's own memberships, across tenants: the one tenant-owned read that needs
    no tenant in scope (it is how a tenant gets chosen). RLS admits these rows by portal.user_id."""

    def get_queryset(self):
        raise TypeError("Use Membership.of_user.for_user(user): this manager only reads one user's rows.")

    def for_user(self, user):
        return super().get_queryset().filter(user=user, tenant__status=Tenant.Status.ACTIVE).select_related("tenant")


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        INVESTIGATOR = "investigator", _("Investigator")
        AUDITOR = "auditor", _("Auditor")

    # No index of its own: membership_unique_user_per_tenant starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, on_delete=models.CASCADE, related_name="memberships")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                                 help_text=_("How the object is named outside: URLs, API bodies, exports."))
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    may_review = models.BooleanField(default=False, db_default=False,
                                     help_text=_("May give verdicts on matches; set by an owner."))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()
    of_user = UserMembershipManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_per_tenant")]
        ordering = ["user__email"]

    def __str__(self):
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def can_search(self) -> bool:
        return self.role in {self.Role.OWNER, self.Role.ADMIN, self.Role.INVESTIGATOR}

    @property
    def can_read_notices(self) -> bool:
        # Every member: a recall notice (GDPR Art. 19) concerns case files anyone may hold.
        return True

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER

    @property
    def can_manage(self) -> bool:
        return self.role in {self.Role.OWNER, self.Role.ADMIN}

    @property
    def can_audit(self) -> bool:
        return self.role in {self.Role.OWNER, self.Role.AUDITOR}

    @property
    def can_review(self) -> bool:
        # Auditors check the work; they do not take part in it.
        return self.may_review and self.role != self.Role.AUDITOR


class Invitation(models.Model):
    """An invitation to join a tenant, sent by e-mail. Nobody joins a tenant without accepting:
    the owner's answer is the same whether the address has an account or not, and an existing
    user becomes a member only by following the link while signed in as that address. Only a
    hash of the link's token is kept."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation of {self.email} to {self.tenant} ({self.role})"


class UserSession(models.Model):
    """One signed-in browser of a user, so that they can see where they are signed in and sign
    out of the others. Sessions themselves live in the cache (SESSION_ENGINE) and cannot be
    listed; the session carries a random token whose hash names this row, and a request whose
    row is gone is signed out (portal.web.accounts.gate). No tenant: a person's sessions span
    their tenants, and only they see them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self):
        return f"Session of {self.user} since {self.created_at:%Y-%m-%d %H:%M}"
