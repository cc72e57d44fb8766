"""Settings. Everything that differs between machines comes from the environment (see .env.example)."""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from portal.runtime.replicas import replica_databases

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="" if not DEBUG else "dev-only-insecure-key-change-me-in-production-0123456789")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
# Signs the claim row-level security trusts (tenants.claims); `migrate` installs it in the database.
RLS_CLAIM_KEY = env.str("RLS_CLAIM_KEY", default=SECRET_KEY)
# Seals values the database must not read in clear (portal.sealing): operators' TOTP secrets,
# opt-out requesters' names and contacts.
SEAL_KEY = env.str("SEAL_KEY", default=SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# The data folder: embedded database and broker, uploaded pictures and crops.
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
MEDIA_ROOT = Path(env.str("PORTAL_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
# The operator's Ed25519 private key that signs certificates and audit heads (portal.audit.signing):
# created on first use, mode 0600. Keep it out of backups that others can read.
SIGNING_KEY_FILE = Path(env.str("SIGNING_KEY_FILE", default=str(VAR_DIR / "signing" / "ed25519.pem")))

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "django_htmx",
    "csp",
    "django_ratelimit",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # one-time backup codes for platform operators
    # Lowest first: each app imports only those above it in this list (tests/test_layering.py).
    "tenants",
    "portal.audit",
    "portal.webhooks",
    "portal.gallery",
    "portal.search",
    "portal.compliance",
    "portal.rights",
    "portal.api",
    "portal.platform",
    "portal.web",
    "portal.core",
]

MIDDLEWARE = [
    # Nothing is served while a restore from a backup is unfinished (portal/core/restores.py).
    "portal.core.middleware.RestoreGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every answer (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of every answer: the switch's cookie, else the browser's Accept-Language (en, fr).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before the CSRF check: non-operators get the same 404 from the platform area for every method.
    "portal.platform.middleware.PlatformConcealMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the platform area demands a TOTP token each session.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Resolves /t/<slug>/, checks membership once, and scopes the request (ContextVar + RLS).
    "tenants.middleware.TenantMiddleware",
    # Inside the request's transaction and user scope: a browser signed out elsewhere ends; a
    # printed password must be changed, two-factor given or set up, before any other page.
    "portal.web.accounts.gate.AccountGateMiddleware",
    # Last, so that a lock-out answers before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "tenants.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenancy",
                "portal.web.context_processors.notices",
            ],
        },
    },
]

# --- Database: a real server from DATABASE_URL, or the embedded one --------------------------
# The application connects as a role that owns no table, so row-level security binds it;
# migrations and test-database creation run as the owner (DATABASE_OWNER_URL).
EMBEDDED_SERVICES = not env.str("DATABASE_URL", default="")
# `manage.py embedded_services` (status, stop, --help) never starts what it reports on or stops.
EMBEDDED_AUTOSTART = sys.argv[1:2] != ["embedded_services"]
if EMBEDDED_SERVICES:
    from portal.runtime import embedded

    _pg = embedded.postgres_ensure_running(
        data_dir=VAR_DIR, port=env.int("EMBEDDED_PG_PORT", default=embedded.default_port(data_dir=VAR_DIR, base=54000)),
        start=EMBEDDED_AUTOSTART, memory=env.str("EMBEDDED_PG_MEMORY", default=""),
    )
    _database_url = _pg.url(role=embedded.APP_ROLE)
    _owner_url = _pg.url(role=embedded.OWNER_ROLE)
    _platform_url = _pg.url(role=embedded.PLATFORM_ROLE)
else:
    _database_url = env.str("DATABASE_URL")
    _owner_url = env.str("DATABASE_OWNER_URL", default=_database_url)
    # Unset, platform work shares the application's role and check --deploy warns (portal.W005).
    _platform_url = env.str("PLATFORM_DATABASE_URL", default=_database_url)

# Work across tenants (orders, certificates, the platform area) runs on a second connection to the
# same database, as the platform's role: only that role's sessions may hold the platform scope
# (tenants.context.PlatformWorkRouter, tenants/0010).
DATABASES = {"default": env.db_url_config(_database_url), "platform": env.db_url_config(_platform_url)}
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_portal")}
DATABASES["platform"]["TEST"] = {"MIRROR": "default"}
for _alias in DATABASES:
    DATABASES[_alias]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASE_OWNER = env.db_url_config(_owner_url)
# Streaming replicas for search reads (docs/scaling.md): URLs with the application's role.
DATABASES.update(replica_databases(env.list("DATABASE_REPLICA_URLS", default=[]), primary=DATABASES["default"]))
if env.str("PORTAL_DATABASE_NAME", default=""):
    # Another database on the same server (and its replicas), e.g. a test's Celery worker.
    for _config in (*DATABASES.values(), DATABASE_OWNER):
        _config["NAME"] = env.str("PORTAL_DATABASE_NAME")
DATABASE_APP_ROLE = DATABASES["default"]["USER"]
DATABASE_PLATFORM_ROLE = DATABASES["platform"]["USER"]
DATABASE_ROUTERS = ["tenants.context.PlatformWorkRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MINIMUM_PGVECTOR_VERSION = (0, 8, 0)

# --- Celery: a real broker from REDIS_URL, or the embedded redis-server ----------------------
EMBEDDED_REDIS = not env.str("REDIS_URL", default="")
if not EMBEDDED_REDIS:
    REDIS_URL = env.str("REDIS_URL")
else:
    from portal.runtime import embedded

    REDIS_URL = embedded.redis_ensure_running(
        data_dir=VAR_DIR, port=env.int("EMBEDDED_REDIS_PORT", default=embedded.default_port(data_dir=VAR_DIR, base=56000)),
        start=EMBEDDED_AUTOSTART,
    )
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Images deleted per transaction by order enforcement: smaller batches hold locks for less time.
ENFORCEMENT_BATCH_SIZE = env.int("ENFORCEMENT_BATCH_SIZE", default=1000)
# Backups (portal/core/backups.py, docs/compliance.md "Backups that obey"). The enforcement journal
# must survive the loss of the database and the media folder: keep it on another disk.
ENFORCEMENT_JOURNAL_DIR = Path(env.str("ENFORCEMENT_JOURNAL_DIR", default=str(VAR_DIR / "enforcement-journal")))
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(VAR_DIR / "backups")))
BACKUP_RETENTION_DAYS = env.int("BACKUP_RETENTION_DAYS", default=35)
# While this file exists a restore is unfinished and the portal serves nothing (503).
RESTORE_MARKER = Path(env.str("RESTORE_MARKER", default=str(VAR_DIR / "restore-in-progress")))
# Webhooks (docs/api.md, "Webhooks"). Private networks are for tests and development only: in
# production an endpoint must resolve to public addresses, at registration and at each delivery.
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False)
# A CA bundle (PEM) to trust instead of the system's, for tests' self-signed receivers only.
WEBHOOKS_CA_BUNDLE = env.str("WEBHOOKS_CA_BUNDLE", default="")
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5.0)
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=8)
WEBHOOKS_RETRY_BASE_SECONDS = env.float("WEBHOOKS_RETRY_BASE_SECONDS", default=30.0)
WEBHOOKS_RETRY_MAX_SECONDS = env.float("WEBHOOKS_RETRY_MAX_SECONDS", default=3600.0)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# The project's periodic work. django-celery-beat's database scheduler writes these entries into
# its tables when beat starts (operators may then pause one in its tables; a restart restores it).
CELERY_BEAT_SCHEDULE = {
    "compliance: sweep new data against orders in force": {
        "task": "compliance.orders_sweep", "schedule": timedelta(minutes=15)},
    "compliance: warn before order deadlines": {
        "task": "compliance.order_deadlines_warn", "schedule": crontab(minute="0", hour="7")},
    "rights: remind of deadlines": {"task": "rights.requests_deadlines_remind", "schedule": crontab(minute=5, hour=7)},
    "rights: expire access answers": {"task": "rights.access_answers_expire", "schedule": crontab(minute=20, hour=3)},
    "search: purge probes past retention": {"task": "search.probes_purge", "schedule": timedelta(hours=1)},
    "search: erase urgent searches not authorised within 48 hours": {
        "task": "search.authorisations_overdue_erase", "schedule": timedelta(minutes=15)},
    "api: expire stored idempotent responses": {"task": "api.idempotency_records_expire", "schedule": timedelta(hours=1)},
    "gallery: vacuum and reindex the face index after large deletions": {
        "task": "gallery.face_index_maintain", "schedule": crontab(minute="30", hour="3")},
    "gallery: delete files no row refers to": {
        "task": "gallery.files_orphaned_delete", "schedule": crontab(minute="0", hour="4")},
    "webhooks: queue deliveries whose attempt is due": {
        "task": "webhooks.deliveries_due_queue", "schedule": timedelta(minutes=1)},
    "audit: anchor every tenant chain's head in the platform chain": {
        "task": "audit.chains_anchor", "schedule": timedelta(hours=1)},
    "audit: sign and publish every chain's head": {"task": "audit.heads_sign", "schedule": crontab(minute="15", hour="*/6")},
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# --- Authentication ----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out: after AXES_FAILURE_LIMIT failed log-ins for one account from one address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Invitations and password resets go by e-mail. `make run` prints them on the console; a real
# server: EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the EMAIL_* below.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

# --- Internationalisation and static files ------------------------------------------------
# English and French (the first regulator is France's CNIL). Every string goes through gettext;
# locale/fr holds the translation and its compiled .mo (`make messages` refreshes it; README).
# The language switch posts to /i18n/setlang/, which keeps the choice in a cookie for a year.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Dates and numbers as each language writes them (portal/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["portal.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development whitenoise serves straight from the source folders; production runs collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage" if not DEBUG
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- REST API (portal/api; docs/api.md) -------------------------------------------------------
# DRF views authenticate with API keys in portal.api.base.TenantApiView; any DRF view that does not
# inherit it (or say AllowAny, like /health and the schema) refuses everyone: fail closed.
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.BoundedJSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Face search portal API",
    "DESCRIPTION": "1:N face search for tenants' systems. See docs/api.md for the whole flow.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and Redoc from the drf-spectacular-sidecar wheel: nothing is fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The sidecar's bundle with its one CDN address replaced (portal/api/views/redoc_bundle.py).
    "REDOC_DIST": "/api/v1/redoc-dist",
    # Swagger UI would otherwise load a validator badge from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Two fields named "status": a search's and its authorisation's.
    "ENUM_NAME_OVERRIDES": {"AuthorisationStatusEnum": "portal.search.models.Authorisation.choices",
                            "SearchStatusEnum": "portal.search.models.SearchStatus.choices"},
}
# Requests per key and per tenant ("N/second|minute|hour|day"); a tenant's TenantApiSettings row
# overrides either.
API_RATE_LIMIT_PER_KEY = env.str("API_RATE_LIMIT_PER_KEY", default="120/minute")
API_RATE_LIMIT_PER_TENANT = env.str("API_RATE_LIMIT_PER_TENANT", default="600/minute")
API_RATE_LIMIT_PLATFORM = env.str("API_RATE_LIMIT_PLATFORM", default="300/minute")  # per operator
# Larger request bodies are refused with 413 before they are read (a 20 MB picture in base64 fits).
API_MAX_REQUEST_BYTES = env.int("API_MAX_REQUEST_BYTES", default=30 * 1024 * 1024)
API_IDEMPOTENCY_HOURS = 24
# JSON bodies nested deeper are refused with 400 (no request of the API needs more than a few levels).
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)

# --- Production hardening (DEBUG off) ---------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# Sessions are bearer secrets: they live in Redis (the cache), not in a table the application's
# database role could read with one injected query.
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp, a maintained library rather than a hand-written header).
# Scripts only from the portal itself: no inline script, no eval, no other origin, so injected
# markup cannot run. Styles allow inline attributes and elements: the similarity and progress bars
# set their width inline, and the API's Swagger UI and Redoc pages inject their own styles; a style
# cannot run code. Pictures may be data: and blob: URLs (the chosen picture's preview).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],  # Redoc (the API reference) searches in a worker it makes itself
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Public forms (portal/public_limits.py) ---------------------------------------------------
# POSTs of one public form (opt-out request, password reset) per address, and from everyone together.
PUBLIC_FORM_RATE_PER_ADDRESS = env.str("PUBLIC_FORM_RATE_PER_ADDRESS", default="5/h")
PUBLIC_FORM_RATE_TOTAL = env.str("PUBLIC_FORM_RATE_TOTAL", default="200/h")
# django-ratelimit names django-redis's backend as the Redis one it supports; Django's own
# RedisCache, used here, increments with Redis's atomic INCR as well, which is what it needs.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

# --- Product settings ------------------------------------------------------------------------
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")
# Members of a tenant that requires two-factor log-in (every law-enforcement tenant) must set it
# up (portal/web/accounts/two_factor.py). On in every deployment: no environment variable reads
# it. The test suite turns it off for the tests that are not about it (tests/conftest.py), since
# most of them sign members of its law-enforcement tenant in with a password alone.
TWO_FACTOR_REQUIREMENT_ENFORCED = True
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Face search portal")

# The face engine (portal/faces/engine.py); weights come from the face-recognition-models wheel, none downloaded.
FACE_ENGINE = {
    "deepface_home": env.str("DEEPFACE_HOME", default=str(VAR_DIR / "deepface")),
    "detect_max_side": env.int("FACE_DETECT_MAX_SIDE", default=1024),
    "min_confidence": env.float("FACE_MIN_CONFIDENCE", default=0.5),
    # dlib's CNN detector when HOG finds no face, on numpy's BLAS or dlib's own (README "The CNN on numpy's BLAS").
    "cnn_fallback": env.bool("FACE_CNN_FALLBACK", default=True), "cnn_network": env.str("FACE_CNN_NETWORK", default="numpy"),
    "cnn_max_side": env.int("FACE_CNN_MAX_SIDE", default=800), "cnn_upsample": env.int("FACE_CNN_UPSAMPLE", default=0),
    "hog_scan": env.str("FACE_HOG_SCAN", default="halves"), "hog_threads": env.int("FACE_HOG_THREADS", default=2),
    "max_bytes": env.int("FACE_MAX_BYTES", default=20 * 1024 * 1024),
    "max_pixels": env.int("FACE_MAX_PIXELS", default=40_000_000),
    "descriptor": env.str("FACE_DESCRIPTOR", default="numpy"),  # or "dlib": README "The descriptor on numpy's BLAS"
}
# Similarity (1 - cosine distance) from which a match is a lead, and from which it is strong. On ../shared/faces
# (Dlib, detect_max_side 1024): same person 0.914-1.000, different people 0.761-0.888 (README "Accuracy").
SEARCH_MATCH_THRESHOLD = env.float("SEARCH_MATCH_THRESHOLD", default=0.90)
SEARCH_STRONG_THRESHOLD = env.float("SEARCH_STRONG_THRESHOLD", default=0.93)
SEARCH_DEFAULT_K, SEARCH_MAX_K = 10, 100
# A search with a lead keeps its probe at least this long, whatever the tenant's shorter
# retention: EU AI Act Art. 26(6) asks for six months of records of each use.
SEARCH_LEAD_PROBE_MIN_DAYS = 183
# HNSW search breadth (iterative scans go on until the filters leave k rows). 400, not 200: recall@10 0.955
# -> 0.986 with the platform index at 1M for 8 ms at p95, a few % of a search (README, "A denser graph").
SEARCH_HNSW_EF = env.int("SEARCH_HNSW_EF", default=400)
# Exact scan of a tenant's partition below this many faces (README "Exact up to 12,000 faces"); k x the factor re-ranked.
SEARCH_EXACT_SCAN_BELOW = env.int("SEARCH_EXACT_SCAN_BELOW", default=12_000)
SEARCH_RERANK_FACTOR = env.int("SEARCH_RERANK_FACTOR", default=4)
