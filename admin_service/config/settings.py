"""Settings of the admin service: every value comes from the environment (prefix GTV_)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared_kernel.logging import logging_dict_config
from shared_kernel.settings import DEV_ENV_FILE, CommonSettings, private_key_pem


class AdminSettings(CommonSettings):
    model_config = SettingsConfigDict(
        env_prefix="GTV_", env_file=DEV_ENV_FILE, env_file_encoding="utf-8", extra="ignore"
    )

    django_secret_key: SecretStr = SecretStr("")
    debug: bool = False
    allowed_hosts: list[str] = ["127.0.0.1", "localhost", "testserver"]
    csrf_trusted_origins: list[str] = ["http://127.0.0.1:8080", "https://127.0.0.1:8443"]
    jwt_private_key: SecretStr | None = None
    jwt_private_key_file: Path | None = None
    access_token_minutes: int = 15
    refresh_token_days: int = 1
    camera_cache_ttl_seconds: int = 300
    db_name: str | None = None
    cache_key_prefix: str = "gtv:admin"
    login_throttle_rate: str = "10/min"
    api_max_body_bytes: int = 256 * 1024
    # Reverse proxies (HAProxy, Kong) whose X-Forwarded-For is believed: IPs or CIDRs,
    # comma separated or a JSON list. Empty: the TCP peer is the client (config/proxies.py).
    trusted_proxies: Annotated[list[str], NoDecode] = []

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        from config.proxies import parse_networks

        return [str(net) for net in parse_networks(value)]


ENV = AdminSettings()
if not ENV.django_secret_key.get_secret_value():
    raise RuntimeError("GTV_DJANGO_SECRET_KEY is not set (run `make keys` on a dev machine)")

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = ENV.django_secret_key.get_secret_value()
DEBUG = ENV.debug
ALLOWED_HOSTS = ENV.allowed_hosts
CSRF_TRUSTED_ORIGINS = ENV.csrf_trusted_origins

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tenancy",
    "accounts",
    "cameras",
    "audit",
    "outbox",
]

MIDDLEWARE = [
    "config.middleware.CorrelationIdMiddleware",
    "config.metrics.RequestMetricsMiddleware",
    # Everything below answers its errors in the API's shape on JSON paths.
    "config.middleware.ErrorShapeMiddleware",
    "config.middleware.MethodGuardMiddleware",
    "config.middleware.BodySizeLimitMiddleware",
    "config.middleware.QueryTextGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ (Django admin, Swagger UI) from STATIC_ROOT under gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database() -> dict[str, object]:
    from urllib.parse import unquote, urlsplit

    url = urlsplit(ENV.database_url)
    return {
        # PostgreSQL, plus introspection of the admin/cidades schemas (config/db/).
        "ENGINE": "config.db",
        "NAME": ENV.db_name or url.path.lstrip("/") or "gtvision",
        "USER": unquote(url.username or "postgres"),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname or "127.0.0.1",
        "PORT": str(url.port or 5432),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5},
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR.parent / "var" / "static"  # filled by `manage.py collectstatic`
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed names (cached for a year by browsers) and gzip copies (config/static.py).
    "staticfiles": {"BACKEND": "config.static.StaticFilesStorage"},
}

LOGGING = logging_dict_config("admin_service", ENV.log_level)

CAMERA_CREDENTIALS_KEY = ENV.camera_credentials_key.get_secret_value()
REDIS_URL = ENV.redis_url
AMQP_URL = ENV.amqp_url
CAMERA_CACHE_TTL_SECONDS = ENV.camera_cache_ttl_seconds

JWT_PRIVATE_KEY = private_key_pem(ENV.jwt_private_key, ENV.jwt_private_key_file)
JWT_PUBLIC_KEY = ENV.public_key_pem()

# --- Cache (Redis): camera list reads, throttling counters -------------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": ENV.cache_key_prefix,
        "TIMEOUT": CAMERA_CACHE_TTL_SECONDS,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# Bodies above this are refused with 413 on /api/ paths before any parsing.
API_MAX_BODY_BYTES = ENV.api_max_body_bytes
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)

# --- REST API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "config.rest.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "config.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # DRF's own X-Forwarded-For reading is off: throttles identify clients through
    # config.proxies.client_ip and TRUSTED_PROXIES, like the audit log does.
    "NUM_PROXIES": 0,
}
LOGIN_THROTTLE_RATE = ENV.login_throttle_rate
# The one list of trusted reverse proxies (audit IPs, login throttling).
TRUSTED_PROXIES = ENV.trusted_proxies

JWT_ISSUER = ENV.jwt_issuer
JWT_AUDIENCE = ENV.jwt_audience
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": JWT_PRIVATE_KEY,
    "VERIFYING_KEY": JWT_PUBLIC_KEY,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=ENV.access_token_minutes),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=ENV.refresh_token_days),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 5,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "GT-Vision admin service API",
    "DESCRIPTION": (
        "Tenants (prefeituras), cameras, locations, zones, users and the audit log. "
        "Errors share one shape: {\"error\": {\"code\", \"message\", \"details\"}}."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI and Redoc from our own static files: city networks are often offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge fetched from validator.swagger.io either.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
