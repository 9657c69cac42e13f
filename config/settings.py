"""Settings for the whole system, driven by environment variables (django-environ).

Defaults give a working development system with no services: SQLite, and Celery tasks
run in-process. ``DATABASE_URL`` switches to PostgreSQL; ``REDIS_URL`` switches the
Celery broker and the cache to Redis. A malformed value fails at start-up with
``ImproperlyConfigured`` naming the variable.
"""

from pathlib import Path
from urllib.parse import urlparse

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# ENV_FILE lets a test (or an operator) point at another file, or at none (/dev/null).
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _int(name: str, default: int) -> int:
    raw = env.str(name, default="").strip()
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None


def _redact(raw: str) -> str:
    """The URL without its password, for error messages."""
    parsed = urlparse(raw)
    if parsed.password:
        return raw.replace(f":{parsed.password}@", ":***@", 1)
    return raw


def _url(name: str, schemes: set[str], default: str = "") -> str:
    raw = env.str(name, default=default).strip()
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must be a URL with scheme {' or '.join(sorted(schemes))}, got {_redact(raw)!r}"
        )
    try:
        parsed.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number: {_redact(raw)!r}") from None
    return raw


def _database(raw: str) -> dict:
    try:
        config = env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types on bad URLs
        raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from exc
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL names no database: {_redact(raw)!r}")
    return config


def _redis(raw: str) -> str:
    if not raw:
        return ""
    parsed = urlparse(raw)
    if not parsed.hostname:
        raise ImproperlyConfigured(f"REDIS_URL names no host: {_redact(raw)!r}")
    db = parsed.path.strip("/")
    if db and not db.isdigit():
        raise ImproperlyConfigured(f"REDIS_URL database must be a number, got {db!r} in {_redact(raw)!r}")
    return raw


# Off unless asked for: the debug page prints settings and URLs to whoever raises an error.
# `make setup` writes a generated SECRET_KEY into .env, so a fresh clone runs with DEBUG off.
DEBUG = _bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off (`make setup` generates one into .env)"
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

# Services the suite must use, not skip, when set (CI sets it).
REQUIRE_SERVICES = _bool("REQUIRE_SERVICES", default=False)

INSTALLED_APPS = [
    "core.admin_site.AdminConfig",  # django.contrib.admin, with core.admin_site.AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "health_check",
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "audit",
    "reference",
    "institutions",
    "trainees",
    "certificates",
    "subsidies",
    "reports",
    "dashboard",
    "demo",
    "portal",
    "payments",
    "risk",
]

MIDDLEWARE = [
    # Outermost: it sees the cookies every other middleware set (session, CSRF).
    "core.middleware.SecureCookiesOverTlsMiddleware",
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.context.AccessContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

_database_url = _url("DATABASE_URL", {"sqlite", "postgres", "postgresql", "pgsql"}, default="")
if _database_url:
    DATABASES = {"default": _database(_database_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            # Claims serialise on a row lock; SQLite has none, so make writers wait
            # for each other instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
# Persistent connections: a production server thread reuses its connection instead of paying
# PostgreSQL's connection set-up on every request; the health check drops a dead one first.
DATABASES["default"].setdefault("CONN_MAX_AGE", _int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Every query binds its parameters on the server, and psycopg prepares a statement on its second
# run on a connection, so PostgreSQL stops planning it again (core/postgresql). psycopg drops
# them all on any rollback, so they are prepared again soon after one.
# Turn off behind PgBouncer older than 1.21 in transaction mode.
PREPARED_STATEMENTS = _bool("PREPARED_STATEMENTS", default=True)
if PREPARED_STATEMENTS and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "core.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("server_side_binding", True)
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Password logins through the shared login throttle (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.ThrottledModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Everyone gets Chinese: the bureaus' admin and the API's messages are in Chinese by policy,
# whatever language a browser or client asks for, so there is no LocaleMiddleware. English
# stays listed (the msgids are English) for a later, explicit language switch.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# Excel imports (core/xlsx_import.py): a larger file or more data rows is refused unread.
XLSX_IMPORT_MAX_BYTES = _int("XLSX_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
XLSX_IMPORT_MAX_ROWS = _int("XLSX_IMPORT_MAX_ROWS", default=100_000)
# A claim's supporting document (居住证 scan or photo): PDF, JPEG or PNG up to this size.
CLAIM_DOCUMENT_MAX_BYTES = _int("CLAIM_DOCUMENT_MAX_BYTES", default=5 * 1024 * 1024)

REDIS_URL = _redis(_url("REDIS_URL", {"redis", "rediss"}, default=""))

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _int("CELERY_TASK_SOFT_TIME_LIMIT", default=30 * 60)
CELERY_TASK_TIME_LIMIT = _int("CELERY_TASK_TIME_LIMIT", default=35 * 60)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {}
# Reports (reports/tasks.py): last month's claims filing report for every city bureau on the
# 1st at 02:00 (Asia/Shanghai, CELERY_TIMEZONE); and the sweep of background jobs whose worker
# died or whose message was lost (reports/jobs.py): re-sent, or failed with a reason.
CELERY_BEAT_SCHEDULE["reports-monthly-claims"] = {
    "task": "reports.tasks.schedule_monthly_reports",
    "schedule": crontab(minute=0, hour=2, day_of_month=1),
}
JOB_HEARTBEAT_SECONDS = _int("JOB_HEARTBEAT_SECONDS", default=15)
JOB_STALE_SECONDS = _int("JOB_STALE_SECONDS", default=60)
JOB_SWEEP_SECONDS = _int("JOB_SWEEP_SECONDS", default=30)
JOB_MAX_ATTEMPTS = _int("JOB_MAX_ATTEMPTS", default=3)
CELERY_BEAT_SCHEDULE["jobs-sweep"] = {"task": "reports.tasks.sweep_jobs", "schedule": JOB_SWEEP_SECONDS}
# The queue tasks go to unless routed: a test's private worker sets it, so that its beat and
# its sweeper send there too.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Sending a task fails fast when Redis does not answer, so a request can say so at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3}
# Report files go through Django's storage API (STORAGES below: MEDIA_ROOT, or an S3-compatible
# store when STORAGE_BUCKET is set). REPORTS_TEMP_DIR: where a worker writes before saving.
REPORTS_TEMP_DIR = env.str("REPORTS_TEMP_DIR", default="")

# Risk (risk/tasks.py): every open claim's risk signals recomputed nightly at 01:30.
CELERY_BEAT_SCHEDULE["risk-nightly-signals"] = {
    "task": "risk.tasks.recompute_open_claims",
    "schedule": crontab(minute=30, hour=1),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "core.api_filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.api_parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

SPECTACULAR_SETTINGS = {
    # Swagger UI and ReDoc from this server's static files (drf-spectacular-sidecar): the docs
    # open on an intranet that cannot reach a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "浙江省数字技术工程师培育项目 API",
    "DESCRIPTION": "培训计划、证书与职业培训补贴申领",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components, so read-only fields (ids, masked numbers,
    # statuses) are not offered as input and required output fields are marked required.
    "COMPONENT_SPLIT_REQUEST": True,
    # The error body {"code", "message", "detail"} on every operation (core/api_schema.py).
    "PREPROCESSING_HOOKS": ["core.api_schema.only_api_paths"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api_schema.add_error_responses",
        "core.api_texts.translate_operations",
    ],
    "ENUM_NAME_OVERRIDES": {
        "LevelEnum": "reference.models.Level.choices",
        "PlanStatusEnum": "institutions.models.PlanStatus.choices",
        "ClaimStatusEnum": "subsidies.models.ClaimStatus.choices",
        "CompletionResultEnum": "trainees.models.CompletionResult.choices",
        "ReportJobStatusEnum": "reports.models.JobStatus.choices",
        "ReportKindEnum": "reports.models.ReportKind.choices",
        "ListingStatusEnum": "institutions.models.ListingStatus.choices",
        "BureauKindEnum": ["city", "province"],
        "DocumentKindEnum": "subsidies.models.DocumentKind.choices",
        "SessionModeEnum": "trainees.models.SessionMode.choices",
        "AttendanceSourceEnum": "trainees.models.AttendanceSource.choices",
    },
}
# Failed logins allowed per account within the window (the defaults of the per-account limit
# and window below; kept under their old names for existing .env files).
API_LOGIN_FAILURE_LIMIT = _int("API_LOGIN_FAILURE_LIMIT", default=5)
API_LOGIN_FAILURE_WINDOW = _int("API_LOGIN_FAILURE_WINDOW", default=15 * 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.middleware.RequestIdFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "plain"}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# Text messages (core/sms.py): the log backend writes each SMS, with its one-time code, to
# the "core.sms" logger (read it there in development); production names its gateway's class.
SMS_BACKEND = env.str("SMS_BACKEND", default="core.sms.LogBackend")
LOGGING["loggers"] = {"core.sms": {"handlers": ["console"], "level": "INFO", "propagate": False}}
# The trainee service (portal/): log in by resident ID or phone; staff use the admin's own form.
# Both backends count attempts in the one login throttle (accounts/throttle.py).
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "portal.auth.TraineeBackend"]
# -- Personal information (issue 18; core/crypto.py, audit/, docs/pii.md) -----------------------
# Keys for encrypting personal information at rest: a JSON key file outside the repository
# (manage.py generate_pii_keys), or PII_KEYS ("id:base64,id:base64") + PII_ACTIVE_KEY_ID +
# PII_INDEX_KEY. Without either, development (DEBUG on) generates a key file beside the code
# with a warning; production (DEBUG off) refuses to start.
PII_KEY_FILE = env.str("PII_KEY_FILE", default="").strip()
PII_KEYS = env.str("PII_KEYS", default="").strip()
PII_ACTIVE_KEY_ID = env.str("PII_ACTIVE_KEY_ID", default="").strip()
PII_INDEX_KEY = env.str("PII_INDEX_KEY", default="").strip()
PII_DEVELOPMENT_KEY_FILE = ""
if PII_KEY_FILE and PII_KEYS:
    raise ImproperlyConfigured("Set PII_KEY_FILE or PII_KEYS, not both")
if not (PII_KEY_FILE or PII_KEYS):
    if not DEBUG:
        raise ImproperlyConfigured(
            "No key for personal information: set PII_KEY_FILE (manage.py generate_pii_keys) "
            "or PII_KEYS and PII_INDEX_KEY when DEBUG is off"
        )
    PII_DEVELOPMENT_KEY_FILE = str(BASE_DIR / ".pii-dev-keys.json")
elif PII_KEY_FILE and not DEBUG and Path(PII_KEY_FILE).resolve().is_relative_to(BASE_DIR):
    raise ImproperlyConfigured("PII_KEY_FILE must be outside the code directory when DEBUG is off")

# The access log (访问审计) keeps rows in the database at least this many days; older ones are
# archived to files in the storage (manage.py archive_access_log, nightly), never dropped.
AUDIT_RETENTION_DAYS = _int("AUDIT_RETENTION_DAYS", default=180)
if AUDIT_RETENTION_DAYS < 180:
    raise ImproperlyConfigured("AUDIT_RETENTION_DAYS must be at least 180 (网络安全等级保护: six months)")
# How many reverse proxies in front of the application write X-Forwarded-For (1 behind the
# proxy of docs/deploy.md); 0 trusts only the socket's address (REMOTE_ADDR). The login
# throttle, the certificate look-up limit and the access log take the client's address from
# it (core/addresses.py). AUDIT_TRUSTED_PROXIES is its earlier name.
TRUSTED_PROXIES = _int("TRUSTED_PROXIES", default=_int("AUDIT_TRUSTED_PROXIES", default=0))
# make backup (audit/backup.py): where backups go; in production a disk or mount apart from the server.
BACKUP_DIR = Path(env.str("BACKUP_DIR", default=str(BASE_DIR / "backups")))
CELERY_BEAT_SCHEDULE["audit-verify-chains"] = {
    "task": "audit.tasks.verify_audit_chains",
    "schedule": crontab(minute=30, hour=3),
}
CELERY_BEAT_SCHEDULE["audit-archive-access-log"] = {
    "task": "audit.tasks.archive_access_log",
    "schedule": crontab(minute=0, hour=4),
}

# --- Production serving (issue 11) -------------------------------------------------------
# Static files are served by whitenoise from STATIC_ROOT (`make setup` runs collectstatic).
# Without hashed names: a manifest storage would make every page that names a static file
# fail wherever collectstatic has not run (tests, a fresh clone before set-up).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# An S3-compatible object store for uploaded and generated files when several machines
# share them (docs/deploy.md). Everything else about the store comes from the environment.
STORAGE_BUCKET = env.str("STORAGE_BUCKET", default="")
if STORAGE_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET,
            "endpoint_url": env.str("STORAGE_ENDPOINT_URL", default="") or None,
            "region_name": env.str("STORAGE_REGION", default="") or None,
            "access_key": env.str("STORAGE_ACCESS_KEY", default="") or None,
            "secret_key": env.str("STORAGE_SECRET_KEY", default="") or None,
            "location": env.str("STORAGE_PREFIX", default=""),
            # Files are private: downloads go through the application's permission checks.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# TLS. Off by default so that `make run` answers on plain http://127.0.0.1; a deployment
# behind TLS sets these (docs/deploy.md) and `check --deploy` is then clean. Session and CSRF
# cookies are marked Secure on any request that arrived over TLS in any case
# (core.middleware.SecureCookiesOverTlsMiddleware).
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
if _bool("SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that sets (and strips client-sent) X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Request bodies: a JSON body larger than this is refused with a JSON 400 (core/api_parsers.py);
# uploads are bounded separately by XLSX_IMPORT_MAX_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = _int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
API_JSON_MAX_DEPTH = 32

# Logins (accounts/throttle.py): the admin login and the API token share one counter in the
# database, per account and per address; a failure is counted before the password is checked,
# so parallel guesses cannot outrun it. Redis plays no part, so logins work without it.
LOGIN_FAILURE_LIMIT_PER_ACCOUNT = _int("LOGIN_FAILURE_LIMIT_PER_ACCOUNT", default=API_LOGIN_FAILURE_LIMIT)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = _int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=30)
LOGIN_FAILURE_WINDOW = _int("LOGIN_FAILURE_WINDOW", default=API_LOGIN_FAILURE_WINDOW)
# API tokens expire after this many seconds without use (accounts/authentication.py).
API_TOKEN_IDLE_SECONDS = _int("API_TOKEN_IDLE_SECONDS", default=7 * 24 * 60 * 60)

# The progress dashboard's figures are kept this many seconds per audience (a bureau, or
# provincial staff); 0 computes them on every request (dashboard/views.py).
DASHBOARD_CACHE_SECONDS = _int("DASHBOARD_CACHE_SECONDS", default=30)
# The trainee service's unfiltered search form of the training notices (its reference lists),
# kept this many seconds; 0 renders it on every request (portal/views.py).
PORTAL_FORM_CACHE_SECONDS = _int("PORTAL_FORM_CACHE_SECONDS", default=60)
# The trainee service's public pages (notices, standards, how to claim), as a visitor without
# a session sees them, kept this many seconds; 0 renders them on every request.
PORTAL_PUBLIC_CACHE_SECONDS = _int("PORTAL_PUBLIC_CACHE_SECONDS", default=30)

# Health (/health/): a worker is alive when its heartbeat (core/tasks.py, sent by beat every
# minute) is younger than this.
WORKER_HEARTBEAT_MAX_AGE = _int("WORKER_HEARTBEAT_MAX_AGE", default=3 * 60)
CELERY_BEAT_SCHEDULE["core-worker-heartbeat"] = {"task": "core.tasks.worker_heartbeat", "schedule": 60}
# Import previews never confirmed: their kept uploads are deleted once the preview has expired.
CELERY_BEAT_SCHEDULE["core-purge-import-uploads"] = {
    "task": "core.tasks.purge_import_uploads",
    "schedule": 60 * 60,
}
CELERY_BEAT_SCHEDULE["accounts-purge-login-counters"] = {
    "task": "accounts.tasks.purge_login_counters",
    "schedule": 60 * 60,
}
CELERY_BEAT_SCHEDULE["accounts-purge-idle-tokens"] = {
    "task": "accounts.tasks.purge_idle_tokens",
    "schedule": 60 * 60,
}
# Bulk claim decisions (subsidies/bulk.py): a job whose worker died is queued again or failed
# within minutes, never left running.
CELERY_BEAT_SCHEDULE["subsidies-sweep-bulk-jobs"] = {
    "task": "subsidies.tasks.sweep_claim_bulk_jobs",
    "schedule": 60,
}
# Claims a bulk job decides per transaction (0: the code's default, subsidies.bulk.CHUNK).
BULK_JOB_CHUNK = _int("BULK_JOB_CHUNK", 0)
