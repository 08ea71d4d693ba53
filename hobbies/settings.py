"""Hobbies Community settings: one module, every switch an environment variable.

Each helper below reads one variable, falls back to the embedded default for a laptop
install, and fails loudly (ImproperlyConfigured) on a value it cannot parse.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

# Runtime state of a laptop install (database, media, generated secret) lives in one folder.
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).resolve()


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY is required when DJANGO_ENV=production")
    # Development: generate once and keep it in an ignored file so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

COMMUNITY_NAME = env_str("COMMUNITY_NAME", "F13 Hobbies Community")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "hobbies",  # the project's own commands (hobbies/management/commands: aws_env); no models
    "hobbies.accounts",
    "chat",
]

MIDDLEWARE = [
    # First, so it times the whole stack: HTTP request counts and latency by view (hobbies/metrics/http.py).
    "hobbies.metrics.http.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy, Permissions-Policy, no caching of signed-in pages (hobbies/security.py).
    "hobbies.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during authenticate() into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hobbies.urls"
ASGI_APPLICATION = "hobbies.asgi.application"
WSGI_APPLICATION = None

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
                "hobbies.context_processors.community",
                # The header's Dashboard link, for administrators and moderators (chat/web/context.py).
                "chat.web.context.dashboard_link",
                # The signed-in pages' sidebar, read only when a template uses it (chat/web/sidebar.py).
                "chat.web.sidebar.sidebar",
            ],
        },
    },
]

# Database: SQLite in WAL mode by default; DATABASE_URL (postgres://...) to scale out.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
# A request's connection closes with the request (under ASGI each request has its own thread, so
# it could not be reused); the sockets' one thread per process keeps its own (chat/realtime/socket_db.py).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
SOCKET_DB_CONN_MAX_AGE = env_int("SOCKET_DB_CONN_MAX_AGE", 300, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so
        # concurrent writers queue on busy_timeout instead of failing with "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file, not shared-cache memory, so threads in concurrency tests queue on locks
    # the way real workers do.
    # One file per test process, so two runs at once (or a run beside `make run`) never collide.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-db-{os.getpid()}.sqlite3")}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer: in-memory for one process; REDIS_URL for several workers.
REDIS_URL = env_str("REDIS_URL", "")


# Each worker process receives every group it serves on one hub channel (chat/realtime/hub.py): room for bursts.
HUB_CHANNEL_CAPACITY = {"hub.*": env_int("HUB_CHANNEL_CAPACITY", 10000)}


def redis_channel_layer(url: str) -> dict:
    # redis-py 8 reads with a 5 s socket timeout by default, which aborts channels_redis's
    # blocking receive (BZPOPMIN) on every idle socket (channels_redis issue #422): no read timeout.
    # One immediate retry on a connection error: after a Redis restart the first command on each
    # pooled connection would otherwise fail (a lost publication, a refused socket).
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    host = {"address": url, "socket_timeout": None, "socket_connect_timeout": 5, "retry": Retry(NoBackoff(), 1)}
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [host], "channel_capacity": HUB_CHANNEL_CAPACITY},
    }


if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    # Channels' own in-memory layer with its per-delivery housekeeping made periodic (chat/realtime/layers.py).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.realtime.layers.InMemoryChannelLayer",
            "CONFIG": {"channel_capacity": HUB_CHANNEL_CAPACITY},
        }
    }

# Accounts
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: it refuses locked-out usernames before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts-signin"
LOGIN_REDIRECT_URL = "chat-channels"
LOGOUT_REDIRECT_URL = "accounts-signin"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "hobbies.accounts.validators.CommunityPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Extra post-authentication hooks: dotted paths of callables hook(user=..., request=..., method=...).
POST_AUTH_HOOKS = env_list("POST_AUTH_HOOKS", [])

# Login throttling (django-axes): 5 failures per user name per 30 minutes, as Zulip does.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "hobbies.accounts.throttling.username_from_request"
AXES_LOCKOUT_CALLABLE = "hobbies.accounts.throttling.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Behind a proxy the client address comes from X-Forwarded-For; without one, from the socket.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# --- OpenID Connect sign-in (Cognito or any OIDC provider, via mozilla-django-oidc) -----------
# Off by default. hobbies/accounts/oidc_config.py resolves the provider's endpoints here, at
# start-up (explicit settings > Cognito preset or discovery), so a configuration that cannot work
# stops the process with a clear message instead of failing at the first sign-in.
# docs/deploy.md explains every variable; .env.example lists them.
OIDC_ENABLED = env_bool("OIDC_ENABLED", False)
LOCAL_LOGIN_ENABLED = env_bool("LOCAL_LOGIN_ENABLED", True)
OIDC_PROVIDER_LABEL = env_str("OIDC_PROVIDER_LABEL", "single sign-on")
OIDC_REQUIRE_APPROVAL = env_bool("OIDC_REQUIRE_APPROVAL", False)
OIDC_ADMIN_GROUPS = env_list("OIDC_ADMIN_GROUPS", [])
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "cognito:groups")
# Cookies ignore ports: a provider on the same host must not share the session cookie's name.
SESSION_COOKIE_NAME = env_str("SESSION_COOKIE_NAME", "sessionid")
if not (LOCAL_LOGIN_ENABLED or OIDC_ENABLED):
    raise ImproperlyConfigured("LOCAL_LOGIN_ENABLED=false needs OIDC_ENABLED=true, or nobody can sign in")
if OIDC_ENABLED:
    from hobbies.accounts import oidc_config

    OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
    OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
    oidc_config.require(OIDC_RP_CLIENT_ID=OIDC_RP_CLIENT_ID, OIDC_RP_CLIENT_SECRET=OIDC_RP_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
    OIDC_TIMEOUT = env_int("OIDC_TIMEOUT_SECONDS", 10, minimum=1)
    _provider = oidc_config.resolve_endpoints(
        discovery_url=env_str("OIDC_OP_DISCOVERY_URL", ""),
        issuer=env_str("OIDC_OP_ISSUER", ""),
        cognito_user_pool_id=env_str("COGNITO_USER_POOL_ID", ""),
        cognito_region=env_str("COGNITO_REGION", ""),
        cognito_domain=env_str("COGNITO_DOMAIN", ""),
        explicit={field: env_str(name, "") for field, name in oidc_config.ENDPOINT_SETTINGS.items()},
        timeout=OIDC_TIMEOUT,
        require_https=PRODUCTION,
    )
    OIDC_OP_ISSUER = _provider.issuer
    OIDC_OP_AUTHORIZATION_ENDPOINT = _provider.authorization
    OIDC_OP_TOKEN_ENDPOINT = _provider.token
    OIDC_OP_USER_ENDPOINT = _provider.userinfo
    OIDC_OP_JWKS_ENDPOINT = _provider.jwks
    OIDC_OP_LOGOUT_ENDPOINT = _provider.end_session
    OIDC_OP_LOGOUT_REDIRECT_PARAM = _provider.logout_redirect_param
    OIDC_OP_LOGOUT_URL_METHOD = "hobbies.accounts.oidc.provider_logout_url"
    OIDC_CALLBACK_CLASS = "hobbies.accounts.oidc.CallbackView"
    OIDC_USE_PKCE = env_bool("OIDC_USE_PKCE", True)
    OIDC_TOKEN_USE_BASIC_AUTH = env_bool("OIDC_TOKEN_USE_BASIC_AUTH", False)
    # Kept in the session to send as id_token_hint when signing out at the provider.
    OIDC_STORE_ID_TOKEN = True
    # SessionRefresh re-checks with the provider (prompt=none) once the ID token is this old.
    OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = env_int("OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS", 15 * 60, minimum=30)
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("hobbies.accounts.oidc.CommunityOIDCBackend")
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "mozilla_django_oidc.middleware.SessionRefresh",
    )
if not LOCAL_LOGIN_ENABLED:
    # No password sign-in anywhere, the admin's login form included.
    AUTHENTICATION_BACKENDS.remove("django.contrib.auth.backends.ModelBackend")
# --- end of OpenID Connect sign-in ------------------------------------------------------------

# Internationalisation
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Static files and media
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production, serve straight from the source folders so no collectstatic is needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Attachments (chat/attachments/, chat/services/attachments.py; docs/attachments.md) ---------
# Storage is chosen here only: "local" keeps files under MEDIA_ROOT (uploaded through a Django
# view); "s3" uses django-storages' S3Storage on a private bucket (browsers upload with a
# pre-signed POST). Credentials are never settings: boto3 reads AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, a profile or an instance role, as usual.
ATTACHMENTS_BACKEND = env_str("ATTACHMENTS_BACKEND", "local")
if ATTACHMENTS_BACKEND not in {"local", "s3"}:
    raise ImproperlyConfigured(f"ATTACHMENTS_BACKEND must be local or s3, not {ATTACHMENTS_BACKEND!r}")
ATTACHMENTS_MAX_BYTES = env_int("ATTACHMENTS_MAX_BYTES", 25 * 1024 * 1024, minimum=1)
ATTACHMENTS_MAX_FILES = env_int("ATTACHMENTS_MAX_FILES", 10, minimum=1)
ATTACHMENTS_DAILY_QUOTA_BYTES = env_int("ATTACHMENTS_DAILY_QUOTA_BYTES", 250 * 1024 * 1024, minimum=1)
# Uploads one person may have started and not finished (nor removed) at once.
ATTACHMENTS_MAX_PENDING_UPLOADS = env_int("ATTACHMENTS_MAX_PENDING_UPLOADS", 20, minimum=1)
# Images whose decoding would hold more pixels (of 4 bytes) get no thumbnail; chat/attachments/
# thumbnails.py counts each format's real cost. The default keeps a thumbnail under ~100 MB.
ATTACHMENTS_THUMBNAIL_MAX_PIXELS = env_int("ATTACHMENTS_THUMBNAIL_MAX_PIXELS", 16_000_000, minimum=1)
# Never SVG or HTML: both run script when opened from the app's origin.
ATTACHMENTS_ALLOWED_TYPES = env_list(
    "ATTACHMENTS_ALLOWED_TYPES",
    [
        *("image/jpeg", "image/png", "image/gif", "image/webp"),
        "application/pdf",
        *("text/plain", "text/csv", "text/markdown"),
        *("application/rtf", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        *("application/zip", "application/gzip", "application/x-tar", "application/x-7z-compressed"),
    ],
)
if forbidden := {"image/svg+xml", "text/html", "application/xhtml+xml"} & set(ATTACHMENTS_ALLOWED_TYPES):
    raise ImproperlyConfigured(f"ATTACHMENTS_ALLOWED_TYPES must not allow {', '.join(sorted(forbidden))}")
# Lifetime of a pre-signed upload form (S3) and of a pre-signed download link (at most 5 minutes).
ATTACHMENTS_UPLOAD_EXPIRES = env_int("ATTACHMENTS_UPLOAD_EXPIRES", 600, minimum=30)
ATTACHMENTS_DOWNLOAD_EXPIRES = env_int("ATTACHMENTS_DOWNLOAD_EXPIRES", 300, minimum=10)
if ATTACHMENTS_DOWNLOAD_EXPIRES > 300:
    raise ImproperlyConfigured("ATTACHMENTS_DOWNLOAD_EXPIRES must be at most 300 seconds")
if ATTACHMENTS_BACKEND == "s3":
    AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "")
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("ATTACHMENTS_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL", "") or None  # S3-compatible stores
    AWS_S3_ADDRESSING_STYLE = env_str("AWS_S3_ADDRESSING_STYLE", "") or None  # "path" for most of them
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "region_name": AWS_S3_REGION_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "addressing_style": AWS_S3_ADDRESSING_STYLE,
            "signature_version": "s3v4",
            "default_acl": None,  # objects stay private (the bucket's default); no public ACLs
            "querystring_auth": True,
            "querystring_expire": ATTACHMENTS_DOWNLOAD_EXPIRES,
            "file_overwrite": False,
        },
    }
else:
    # No "location": the storage follows MEDIA_ROOT. Nothing serves MEDIA_URL: files leave
    # through the access-checked download view only.
    STORAGES["attachments"] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# --- end of Attachments -------------------------------------------------------------------------

# --- Messaging backend (chat/backends/; docs/chime.md) ------------------------------------------
# "local": the embedded default, the database is the messaging service. "chime": Amazon Chime SDK
# messaging is, and `manage.py chime_relay` brings its events (a Kinesis stream) back to browsers.
# Credentials and endpoints are boto3's own variables (AWS_ACCESS_KEY_ID, AWS_PROFILE, instance
# roles, AWS_ENDPOINT_URL_CHIME_SDK_MESSAGING, ...), never settings.
MESSAGING_BACKEND = env_str("MESSAGING_BACKEND", "local")
if MESSAGING_BACKEND not in {"local", "chime"}:
    raise ImproperlyConfigured(f"MESSAGING_BACKEND must be local or chime, not {MESSAGING_BACKEND!r}")
_ARN_PATTERNS = {
    "CHIME_APP_INSTANCE_ARN": r"arn:aws[a-z-]*:chime:[a-z0-9-]+:\d{12}:app-instance/[A-Za-z0-9-]{1,64}",
    "CHIME_ADMIN_USER_ARN": r"arn:aws[a-z-]*:chime:[a-z0-9-]+:\d{12}:app-instance/[A-Za-z0-9-]{1,64}/user/"
    r"[A-Za-z0-9]([A-Za-z0-9:_.@-]{0,62}[A-Za-z0-9])?",
    "CHIME_EVENT_STREAM_ARN": r"arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[A-Za-z0-9_.-]{1,128}",
}


def env_arn(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        raise ImproperlyConfigured(f"MESSAGING_BACKEND=chime needs {name}")
    if not re.fullmatch(_ARN_PATTERNS[name], raw):
        raise ImproperlyConfigured(f"{name} is not a valid ARN of its kind: {raw!r}")
    return raw


CHIME_REGION = env_str("CHIME_REGION", "us-east-1")
if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", CHIME_REGION):
    raise ImproperlyConfigured(f"CHIME_REGION must be an AWS region like us-east-1, not {CHIME_REGION!r}")
CHIME_APP_INSTANCE_ARN = CHIME_ADMIN_USER_ARN = CHIME_EVENT_STREAM_ARN = ""
if MESSAGING_BACKEND == "chime":
    CHIME_APP_INSTANCE_ARN = env_arn("CHIME_APP_INSTANCE_ARN")
    CHIME_ADMIN_USER_ARN = env_arn("CHIME_ADMIN_USER_ARN")
    if not CHIME_ADMIN_USER_ARN.startswith(CHIME_APP_INSTANCE_ARN + "/user/"):
        raise ImproperlyConfigured("CHIME_ADMIN_USER_ARN must be an AppInstanceUser of CHIME_APP_INSTANCE_ARN")
    CHIME_EVENT_STREAM_ARN = env_arn("CHIME_EVENT_STREAM_ARN")
    # Everyone who signs in gets their AppInstanceUser (also created lazily before a first call).
    if env_bool("CHIME_CREATE_USERS_ON_SIGN_IN", True):
        POST_AUTH_HOOKS = [*POST_AUTH_HOOKS, "chat.backends.ensure_messaging_user"]
# How long the relay waits between empty reads of a shard (Kinesis allows 5 reads a second per shard).
CHIME_RELAY_POLL_SECONDS = float(env_int("CHIME_RELAY_POLL_MS", 1000, minimum=200)) / 1000
# --- end of Messaging backend -------------------------------------------------------------------

# Request bodies are capped where the server reads them (hobbies/server.py), before any view runs:
# larger ones are answered 413 as soon as they pass the cap, declared or streamed. The upload
# route's cap leaves room for the multipart envelope around the largest allowed file.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 4 * 1024 * 1024, minimum=64 * 1024)
UPLOAD_REQUEST_MAX_BYTES = env_int("UPLOAD_REQUEST_MAX_BYTES", ATTACHMENTS_MAX_BYTES + 1024 * 1024, minimum=1)
if UPLOAD_REQUEST_MAX_BYTES < ATTACHMENTS_MAX_BYTES + 64 * 1024:
    raise ImproperlyConfigured(
        f"UPLOAD_REQUEST_MAX_BYTES must be at least ATTACHMENTS_MAX_BYTES + 65536 "
        f"({ATTACHMENTS_MAX_BYTES + 64 * 1024}), not {UPLOAD_REQUEST_MAX_BYTES}"
    )

# Logging: one line of key=value per record, to stderr (CloudWatch picks stderr up on AWS);
# LOG_FORMAT=json writes one JSON object per line instead, for CloudWatch Logs Insights (hobbies/logformat.py).
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "kv")
if LOG_FORMAT not in {"kv", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be kv or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "kv": {"format": "time=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"},
        "json": {"()": "hobbies.logformat.JsonFormatter"},
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Metrics (hobbies/metrics/; docs/operations.md#metrics) -------------------------------------
# Prometheus at /metrics, for a scraper with METRICS_TOKEN (bearer) or from METRICS_ALLOWED_IPS
# (addresses or networks); with neither, nobody may read it.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])


def env_networks(name: str, values: list[str]) -> list:
    import ipaddress

    try:
        return [ipaddress.ip_network(value, strict=False) for value in values]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must list IP addresses or networks: {error}") from None


METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_IPS", METRICS_ALLOWED_IPS)
# The server processes (python -m hobbies.server) of one deployment on one host share this folder
# (prometheus-client's multiprocess mode), so a scrape of any worker sums them all; the first worker
# to start empties it. Other processes join by setting PROMETHEUS_MULTIPROC_DIR to it.
METRICS_DIR = Path(env_str("METRICS_DIR", str(DATA_DIR / "metrics")))
# CloudWatch: embedded-metric-format lines on stdout, every METRICS_FLUSH_SECONDS, in METRICS_NAMESPACE.
METRICS_CLOUDWATCH = env_bool("METRICS_CLOUDWATCH", False)
METRICS_NAMESPACE = env_str("METRICS_NAMESPACE", "HobbiesCommunity")
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/#:-]{0,254}", METRICS_NAMESPACE):
    raise ImproperlyConfigured(f"METRICS_NAMESPACE is not a CloudWatch namespace: {METRICS_NAMESPACE!r}")
METRICS_FLUSH_SECONDS = env_int("METRICS_FLUSH_SECONDS", 60, minimum=1)

# Production profile: everything `manage.py check --deploy` asks for.
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# Lockouts count per user name by design (Zulip's rule); axes warns when ip_address is not a
# lockout parameter, but adding it would let one address lock out every user name it tries.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# --- Messaging (real time) ---
MESSAGE_RATE_PER_SECOND = env_int("MESSAGE_RATE_PER_SECOND", 10, minimum=1)
MESSAGE_RATE_BURST = env_int("MESSAGE_RATE_BURST", 20, minimum=1)
# How many missed events a reconnecting client is replayed before it is told to reload.
SYNC_REPLAY_LIMIT = env_int("SYNC_REPLAY_LIMIT", 1000, minimum=1)
# Distinct emoji reactions one message can carry (issue 17).
REACTIONS_PER_MESSAGE = env_int("REACTIONS_PER_MESSAGE", 20, minimum=1)
# The PostgreSQL text-search configuration of the message index (read when migration 0007 runs).
SEARCH_LANGUAGE = env_str("SEARCH_LANGUAGE", "english")
if not re.fullmatch(r"[a-z_]+", SEARCH_LANGUAGE):
    raise ImproperlyConfigured(f"SEARCH_LANGUAGE must name a text-search configuration, not {SEARCH_LANGUAGE!r}")
WS_MAX_FRAME_BYTES = env_int("WS_MAX_FRAME_BYTES", 16 * 1024, minimum=1024)
PRESENCE_TIMEOUT = env_int("PRESENCE_TIMEOUT", 90, minimum=5)
PRESENCE_FLUSH_SECONDS = float(env_int("PRESENCE_FLUSH_MS", 2000, minimum=50)) / 1000
# A status text is forgotten this long after it was set or its person was last seen.
PRESENCE_STATUS_TTL = env_int("PRESENCE_STATUS_TTL", 86400, minimum=60)
# A tab nobody has typed, clicked or scrolled in for this long (or hidden that long) says it is
# idle; a person whose every tab is idle shows as away (chat/services/presence.py).
PRESENCE_IDLE_SECONDS = env_int("PRESENCE_IDLE_SECONDS", 300, minimum=1)
# Every socket is told the latest seq of its streams this often (a `heads` frame), and at once
# when the channel layer comes back; what it missed is sent from the database first.
WS_HEADS_SECONDS = env_int("WS_HEADS_SECONDS", 30, minimum=1)
# Each socket checks this often that its session still signs its person in (a sign-out or
# deactivation closes it at once through the channel layer; this catches what that missed).
WS_SESSION_CHECK_SECONDS = env_int("WS_SESSION_CHECK_SECONDS", 60, minimum=1)
TYPING_TTL_SECONDS = 3

# --- Moderation ---
# Reports one person may send per hour (at most this many at once); in Redis when REDIS_URL is set.
REPORT_RATE_PER_HOUR = env_int("REPORT_RATE_PER_HOUR", 10, minimum=1)
