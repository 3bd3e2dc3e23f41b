"""Settings of the admin service: every value comes from the environment (prefix GTV_)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared_kernel.logging import logging_dict_config
from shared_kernel.networks import split_list_setting
from shared_kernel.settings import DEV_ENV_FILE, CommonSettings, private_key_pem
from shared_kernel.ws_discovery import Target, WsDiscoveryClient


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
    # Absolute lifetime of a login: refreshing never extends a session past this.
    session_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    camera_cache_ttl_seconds: int = 300
    # The service runs as a least-privilege role; `manage.py migrate` connects as the
    # owner of its tables instead, to the same database (deploy/postgres/roles.sql,
    # docs/operations.md). GTV_DB_NAME, when set, names that database.
    database_url: str = "postgresql://gtv_admin@127.0.0.1:5432/gtvision"
    migration_database_url: str = "postgresql://gtv_admin_owner@127.0.0.1:5432/gtvision"
    db_name: str | None = None
    cache_key_prefix: str = "gtv:admin"
    login_throttle_rate: str = "10/min"
    # Every login from one address, whatever the username (credential stuffing).
    login_ip_throttle_rate: str = "30/min"
    # Per-account backoff: after this many failed logins in a row the account refuses
    # logins for login_lockout_seconds, doubling on each further lockout up to the max.
    login_lockout_threshold: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=60, ge=1)
    login_lockout_max_seconds: int = Field(default=3600, ge=1)
    # Secure (HTTPS-only) session and CSRF cookies; None: on unless environment is
    # "development" (the demo serves plain HTTP on 127.0.0.1).
    secure_cookies: bool | None = None
    api_max_body_bytes: int = 256 * 1024
    # ONVIF WS-Discovery (cameras/discovery.py): where Probes go, as IPv4 host[:port] or
    # CIDR[:port] (at most 1024 addresses each; port 3702 by default), comma separated or
    # a JSON list; plus, when set, the multicast group out of this local IPv4 address.
    # Every probed address must also pass the camera network policy.
    onvif_discovery_targets: Annotated[list[str], NoDecode] = []
    onvif_discovery_multicast_interface: str | None = None
    onvif_discovery_timeout_seconds: float = Field(default=2.0, gt=0, le=5)
    # How often `manage.py run_onvif_health` asks every ONVIF camera (seconds).
    onvif_health_interval_seconds: int = Field(default=300, ge=10)

    @field_validator("onvif_discovery_targets", mode="before")
    @classmethod
    def _split_targets(cls, value: Any) -> Any:
        return split_list_setting(value)

    @field_validator("onvif_discovery_targets")
    @classmethod
    def _valid_targets(cls, value: list[str]) -> list[str]:
        return [Target.parse(text).text for text in value]

    # How long an invitation link (a user created without a password) can be used.
    invitation_hours: int = Field(default=72, ge=1, le=24 * 30)


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
    # Before anything that validates the Host header (SecurityMiddleware, CommonMiddleware).
    "config.middleware.ProbeMiddleware",
    # Everything below answers its errors in the API's shape on JSON paths.
    "config.middleware.ErrorShapeMiddleware",
    "config.middleware.MethodGuardMiddleware",
    "config.middleware.BodySizeLimitMiddleware",
    "config.middleware.QueryTextGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ (Django admin, Swagger UI) from STATIC_ROOT under gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, CSRF, the session user and messages serve the Django admin; the API
    # (bearer tokens only) skips them (config.middleware.BrowserOnly).
    "config.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.BrowserCsrfViewMiddleware",
    "config.middleware.BrowserAuthenticationMiddleware",
    "config.middleware.BrowserMessageMiddleware",
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


def _connection(url: str) -> dict[str, str]:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    return {
        "NAME": ENV.db_name or parts.path.lstrip("/") or "gtvision",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
    }


def _database() -> dict[str, object]:
    return {
        # PostgreSQL, plus introspection of the admin/cidades schemas (config/db/).
        "ENGINE": "config.db",
        **_connection(ENV.database_url),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5},
    }


DATABASES = {"default": _database()}
# Who `manage.py migrate` connects as (tenancy/management/commands/migrate.py): the owner
# role, to the database above (the migration URL's own database name is not used).
MIGRATION_DATABASE = {
    key: value for key, value in _connection(ENV.migration_database_url).items() if key != "NAME"
}
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
# Where camera URLs may point (GTV_CAMERA_ALLOWED_NETWORKS / GTV_CAMERA_DENIED_NETWORKS),
# checked by cameras.services.check_rtsp_url on every save.
CAMERA_NETWORK_POLICY = ENV.camera_network_policy()
# ONVIF WS-Discovery prober (the DeviceProber port of cameras/discovery.py).
ONVIF_DISCOVERY = WsDiscoveryClient(
    [Target.parse(text) for text in ENV.onvif_discovery_targets],
    timeout=ENV.onvif_discovery_timeout_seconds,
    multicast_interface=ENV.onvif_discovery_multicast_interface or None)
ONVIF_HEALTH_INTERVAL_SECONDS = ENV.onvif_health_interval_seconds
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
LOGIN_IP_THROTTLE_RATE = ENV.login_ip_throttle_rate
LOGIN_LOCKOUT_THRESHOLD = ENV.login_lockout_threshold
LOGIN_LOCKOUT_SECONDS = ENV.login_lockout_seconds
LOGIN_LOCKOUT_MAX_SECONDS = ENV.login_lockout_max_seconds
SESSION_MAX_AGE = timedelta(hours=ENV.session_max_hours)
INVITATION_LIFETIME = timedelta(hours=ENV.invitation_hours)
# The one list of trusted reverse proxies (audit IPs, login throttling).
TRUSTED_PROXIES = ENV.trusted_proxies

JWT_ISSUER = ENV.jwt_issuer
JWT_AUDIENCE = ENV.jwt_audience

# --- Cookies and HTTPS (the Django admin; the APIs use bearer tokens) -----------------
_SECURE_COOKIES = (ENV.secure_cookies if ENV.secure_cookies is not None
                   else ENV.environment != "development")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(SESSION_MAX_AGE.total_seconds())
SESSION_COOKIE_NAME = "gtv_admin_session"
CSRF_COOKIE_NAME = "gtv_admin_csrftoken"
# HAProxy terminates TLS and sets X-Forwarded-Proto itself (a client's is replaced), so
# request.is_secure() is right behind it. Only trusted when a proxy is configured.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if ENV.trusted_proxies else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

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
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.tenant_on_update_hook",
        "config.openapi.errors_hook",
    ],
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
