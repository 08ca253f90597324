"""Settings from the environment, with safe defaults for a local run.

Production: set DJANGO_ENV=production, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
import structlog

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ASSAY_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("DJANGO_ENV", "development") == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

_DEV_SECRET = "assay-local-development-only-not-a-secret-7c4f1e9b2d"  # noqa: S105 - dev default
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and len(SECRET_KEY) < 50:
    raise RuntimeError("SECRET_KEY must be set (50+ characters) when DJANGO_ENV=production")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "huey.contrib.djhuey",
    "ninja",  # serves the API docs' Swagger UI from its own static files, not a CDN
    "assay.core",
    "assay.brands",
    "assay.catalog",
    "assay.orders",
    "assay.webhooks",
    "assay.policies",
    "assay.returns",
    "assay.resolutions",
    "assay.integrations.shopify",
    "assay.integrations.stripe",
    "assay.integrations.imports",
    "assay.api",
    "assay.backoffice",
    "assay.portal",
    "assay.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
    }
]

# The embedded default is SQLite tuned for concurrent writers (see PERFORMANCE.md):
# WAL, IMMEDIATE transactions, a 20 s busy timeout and synchronous=NORMAL.
_SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
}
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'assay.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME", "")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Statements bound on the server (the webhook intake's insert) are prepared after this many
    # runs on a connection; Django's own queries bind on the client and are never prepared. Empty
    # turns it off, for a pooler that cannot hold prepared statements (PgBouncer < 1.21 in
    # transaction mode). Django leaves it off by default for that reason.
    _prepare = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = int(_prepare) if _prepare else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work: the django.tasks API executed by Huey. SQLite storage locally, Redis when
# TASKS_BACKEND=redis (REDIS_URL), or inline when TASKS_BACKEND=immediate (tests).
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "sqlite")
TASKS = {"default": {"BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend"}}
if TASKS_BACKEND == "redis":
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("HUEY_NAME", "assay"),
        "url": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "immediate": False,
        "consumer": {"workers": int(os.environ.get("WORKERS", "2")), "worker_type": "thread"},
    }
elif TASKS_BACKEND == "immediate":
    HUEY = {"huey_class": "huey.MemoryHuey", "name": "assay", "immediate": True}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "assay",
        "filename": os.environ.get("HUEY_SQLITE_PATH", str(VAR_DIR / "tasks.sqlite3")),
        "immediate": False,
        "consumer": {"workers": int(os.environ.get("WORKERS", "2")), "worker_type": "thread"},
    }

# One cache shared by every server process (the portal's lookup rate limits count in it): Redis
# when CACHE_URL (redis://...) or REDIS_URL is set, else files under var/ (shared by the gunicorn
# workers of one host).
CACHE_URL = os.environ.get("CACHE_URL", "") or os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# Shopper portal: order lookups allowed per minute per client address and per order number
# (0 turns a limit off, e.g. for a load test from one address). Behind a reverse proxy, name the
# header that carries the client's address (e.g. HTTP_X_FORWARDED_FOR; its last entry is used).
PORTAL_LOOKUPS_PER_CLIENT = int(os.environ.get("PORTAL_LOOKUPS_PER_CLIENT", "20"))
PORTAL_LOOKUPS_PER_ORDER = int(os.environ.get("PORTAL_LOOKUPS_PER_ORDER", "10"))
CLIENT_IP_HEADER = os.environ.get("CLIENT_IP_HEADER", "")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/app/login/"
LOGIN_REDIRECT_URL = "/app/"
LOGOUT_REDIRECT_URL = "/app/login/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise expects it even before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Inbound webhooks: Shopify bodies are a few KB; anything far larger is refused before parsing.
WEBHOOK_MAX_BODY_BYTES = int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(WEBHOOK_MAX_BODY_BYTES, 2_621_440)

# Staff returns queue: a request still awaiting a decision this long after it came in is past the SLA.
# The address shoppers reach Assay at: payment pages send them back to their return's status page.
PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000")
# Seconds a payment provider has to answer one call (connect and read); the payout lease is 60 s.
PAYOUT_PROVIDER_TIMEOUT = float(os.environ.get("PAYOUT_PROVIDER_TIMEOUT", "10"))
RETURNS_REVIEW_SLA_HOURS = int(os.environ.get("RETURNS_REVIEW_SLA_HOURS", "24"))

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if not PRODUCTION
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "assay@localhost")

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Webhook and health paths must answer plain HTTP behind a TLS-terminating proxy probe.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processor": structlog.processors.JSONRenderer(),
            "foreign_pre_chain": [
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso"),
            ],
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Its own handler here keeps the worker from adding a second, plain-text one.
        "huey": {"handlers": ["console"], "level": os.environ.get("HUEY_LOG_LEVEL", "WARNING"), "propagate": False},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
