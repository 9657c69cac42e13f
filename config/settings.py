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
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


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


DEBUG = _bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

# Services the suite must use, not skip, when set (CI sets it).
REQUIRE_SERVICES = _bool("REQUIRE_SERVICES", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
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
    "drf_spectacular_sidecar",
    "core",
    "accounts",
    "reference",
    "institutions",
    "trainees",
    "certificates",
    "subsidies",
    "reports",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
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
# 1st at 02:00 (Asia/Shanghai, CELERY_TIMEZONE); and an hourly sweep of lost report jobs.
CELERY_BEAT_SCHEDULE["reports-monthly-claims"] = {
    "task": "reports.tasks.schedule_monthly_reports",
    "schedule": crontab(minute=0, hour=2, day_of_month=1),
}
CELERY_BEAT_SCHEDULE["reports-fail-stale"] = {
    "task": "reports.tasks.fail_stale_reports",
    "schedule": 60 * 60,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
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
    },
}
# Failed API logins (POST /api/v1/auth/token/) allowed per username and address within the
# window before that pair is refused with 429 (core/api_throttles.py).
API_LOGIN_FAILURE_LIMIT = _int("API_LOGIN_FAILURE_LIMIT", default=5)
API_LOGIN_FAILURE_WINDOW = _int("API_LOGIN_FAILURE_WINDOW", default=15 * 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
# Bulk claim decisions (subsidies/bulk.py): a job whose worker died is queued again or failed
# within minutes, never left running.
CELERY_BEAT_SCHEDULE["subsidies-sweep-bulk-jobs"] = {
    "task": "subsidies.tasks.sweep_claim_bulk_jobs",
    "schedule": 60,
}
