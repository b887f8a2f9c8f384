"""Base settings. The environment is read here, in one place; test.py and production.py override.

Embedded defaults: with no DATABASE_URL the app uses an SQLite file in the project; with no
REDIS_URL Celery runs tasks in-process, so the quick start needs no server at all.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


def derived_key(secret: str, purpose: str) -> str:
    """HKDF-SHA256 (RFC 5869, extract then one block of expand) of ``secret`` for one ``purpose``: a
    key of its own per use, so one secret never serves two purposes as is."""
    import hashlib
    import hmac

    prk = hmac.new(b"concord-key-derivation", secret.encode(), hashlib.sha256).digest()
    return hmac.new(prk, purpose.encode() + b"\x01", hashlib.sha256).hexdigest()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789abcdef")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
# The audit chain's HMAC key (revops.core.audit). From the environment only, never stored in the
# database; production requires it or derives it from SECRET_KEY (revops/settings/production.py).
AUDIT_CHAIN_KEY = env("AUDIT_CHAIN_KEY", "dev-only-audit-chain-key-change-me-0123456789abcdef")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "revops.core",
    "revops.parties",
    "compliance",
    "billing",
    "revrec",
    "axes",  # after the apps: their user_login_failed receivers run before axes marks a lockout
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "revops.core.security.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "revops.core.security.NulQueryMiddleware",  # before any view reads request.GET
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "revops.core.identity.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "revops.core.security.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: turns a lockout into its page
]

ROOT_URLCONF = "revops.urls"
WSGI_APPLICATION = "revops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "revops.core.context_processors.navigation",
            ],
        },
    }
]

DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env("DB_CONN_MAX_AGE", "60")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers wait instead of
    # failing with "database is locked" half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in brute force (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from
# one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES (every login form: /login/ and
# /admin/login/; the API takes bearer tokens only). Failures and lockouts are audit events.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_LOCKOUT_MINUTES = int(env("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = (
    False  # a lockout lasts LOGIN_LOCKOUT_MINUTES from when it began
)
AXES_CLIENT_IP_CALLABLE = "revops.core.security.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Idle sessions end: activity renews a signed-in session's expiry (at most once a minute,
# revops.core.security.IdleSessionMiddleware), so SESSION_IDLE_MINUTES without a request signs out.
SESSION_COOKIE_AGE = int(env("SESSION_IDLE_MINUTES", "30")) * 60
SESSION_RENEW_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Content-Security-Policy (revops.core.security): scripts and styles from this origin only. The API
# docs page (Swagger UI) needs inline styles and data: images. CSP_REPORT_ONLY=1 only reports.
CSP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CSP_ROUTE_POLICIES = {
    "/api/docs/": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
}
CSP_REPORT_ONLY = env_bool("CSP_REPORT_ONLY", False)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["revops.core.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["revops.core.api.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "revops.core.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["revops.core.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["revops.core.api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "revops.core.api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "revops.core.api.schema.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": ["revops.core.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env("API_RATE_LIMIT", "6000/min")},
    # Unauthenticated requests are limited per client IP. X-Forwarded-For is trusted only for the
    # number of proxies in front of the app (set TRUSTED_PROXIES=1 behind one load balancer); with 0
    # the socket address is used, so a client cannot dodge the limit by sending its own header.
    "NUM_PROXIES": int(env("TRUSTED_PROXIES", "0")),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Concord API",
    "DESCRIPTION": "Billing and revenue recognition on one model layer. Money is a decimal string "
    "next to an ISO currency code; errors are RFC 9457 problem details.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "SECURITY": [{"bearerAuth": []}],
    # Several fields share a name ("method", "kind") across different choice sets; each set gets its
    # own stable component name.
    "ENUM_NAME_OVERRIDES": {
        "VariableMethodEnum": ["expected_value", "most_likely_amount"],
        "CouponKindEnum": ["percent", "fixed"],
        "ObligationCostKindEnum": "revrec.models.ObligationCost.Kind",
        "PlanVersionStatusEnum": "billing.models.PlanVersion.Status",
        "CreditGrantKindEnum": ["purchased", "goodwill"],
        "SspMethodEnum": ["observable", "adjusted_market", "cost_plus", "residual"],
        "RunStatusEnum": "billing.models.BillingRun.Status",
        "ScheduleStatusEnum": "revrec.models.RevenueSchedule.Status",
        "ScheduleTreatmentEnum": "revrec.models.RevenueSchedule.Treatment",
        "SspStatusEnum": "revrec.models.SSPEntry.Status",
        "PeriodStatusEnum": "revrec.models.AccountingPeriod.Status",
        "ApprovalStatusEnum": "revops.core.approvals.models.Approval.Status",
        "JournalSourceEnum": "revrec.models.JournalEntry.Source",
        "RecognitionMethodEnum": "revops.parties.models.RecognitionMethod",
        "ContractStatusEnum": ["draft", "pending_approval", "active", "terminated", "expired"],
        "MonthEndStageEnum": "compliance.month_end.STAGE_CODES",
        "MonthEndActionEnum": "compliance.month_end.ACTION_CODES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "revops.core.api.schema.add_problem_responses",
    ],
}

# --- Email (notifications) -------------------------------------------------------------------
# Django's email settings; notifications are emailed only when an email backend is configured
# (EMAIL_BACKEND or EMAIL_HOST set), by the task core.send_notification_email after commit.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env("EMAIL_USE_TLS", "0") == "1"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "concord@localhost")
NOTIFICATION_EMAIL = env("EMAIL_BACKEND") is not None or env("EMAIL_HOST") is not None
# Links in notification emails are made absolute with this (the URL people open Concord at).
NOTIFICATION_BASE_URL = env("NOTIFICATION_BASE_URL", "http://127.0.0.1:8000")

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_TIMEZONE = "UTC"
# "priority": a worker takes from the queues it consumes in their order (the default queue first,
# then its documents queue; revops/celery.py), not round-robin between them.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60, "queue_order_strategy": "priority"}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "concord")
# Background delivery work (issue 15): these tasks go to "<default queue>.documents", which every
# worker consumes only when its default queue is empty (revops.celery.route_task), so rendering
# 10,000 invoice PDFs after a month end's finalization never delays finalization, revenue runs or
# the compliance run; the control ``invoice_documents_stored`` allows for the delay.
CELERY_TASK_ROUTES = ("revops.celery.route_task",)
DOCUMENT_TASKS = frozenset({"billing.render_invoice_documents"})
# Task modules Celery imports besides each app's ``tasks`` module (autodiscovery): billing keeps one
# per feature. Services never import them; they name tasks through revops.core.enqueue.
CELERY_IMPORTS = ("billing.invoicing.tasks", "billing.usage.tasks", "billing.webhooks.tasks")
# How often drafts whose grace period ended are looked for (billing.invoicing.auto_finalize): a draft
# finalizes at most this long after its grace period ends.
AUTO_FINALIZE_EVERY_SECONDS = int(env("AUTO_FINALIZE_EVERY_SECONDS", "300"))
# Recurring jobs. Every entry names a task registered with an explicit, stable name.
CELERY_BEAT_SCHEDULE: dict = {
    "jobs-reap-stale": {"task": "core.reap_stale_jobs", "schedule": timedelta(minutes=5)},
    "audit-verify-chain": {"task": "compliance.verify_audit_chain", "schedule": crontab(minute=15, hour=2)},
    # Renewals, trial conversions and scheduled changes due today (a billing run also applies them first).
    "billing-apply-due-lifecycle": {
        "task": "billing.apply_due_lifecycle",
        "schedule": crontab(minute=20, hour=0),
    },
    "billing-daily-run": {"task": "billing.daily_billing_run", "schedule": crontab(minute=30, hour=0)},
    "billing-expire-credits": {"task": "billing.expire_credits", "schedule": crontab(minute=15, hour=0)},
    # Finalized invoices whose document task was lost are rendered again (issue 15 §2).
    "billing-render-missing-documents": {
        "task": "billing.render_missing_documents",
        "schedule": timedelta(minutes=2),
    },
    # Drafts whose grace period ended finalize themselves (billing.invoicing.auto_finalize).
    "billing-auto-finalize-drafts": {
        "task": "billing.auto_finalize_drafts",
        "schedule": timedelta(seconds=AUTO_FINALIZE_EVERY_SECONDS),
    },
    # One resumer for every kind of run an app registers (billing runs, revenue runs).
    "jobs-resume-stalled-runs": {"task": "core.resume_stalled_runs", "schedule": timedelta(minutes=1)},
    "revrec-consume-billing-events": {
        "task": "revrec.consume_billing_events",
        "schedule": timedelta(seconds=30),
    },
    "revrec-monthly-revenue-run": {
        "task": "revrec.monthly_revenue_run",
        "schedule": crontab(minute=0, hour=3, day_of_month=2),
    },
    "webhooks-dispatch": {"task": "billing.dispatch_webhooks", "schedule": timedelta(seconds=30)},
    "webhooks-retry-due": {"task": "billing.retry_due_webhooks", "schedule": timedelta(minutes=1)},
    "compliance-nightly-checks": {"task": "compliance.run_checks", "schedule": crontab(minute=30, hour=2)},
    "usage-ensure-partitions": {
        "task": "billing.ensure_event_partitions",
        "schedule": crontab(minute=5, hour=1),
    },
}

# --- Concord --------------------------------------------------------------------------------
# A contract line priced more than this many percent below its plan's list price needs a second
# person's approval (a ``price_override`` request) before the contract activates or the amendment applies.
PRICE_OVERRIDE_APPROVAL_PCT = env("PRICE_OVERRIDE_APPROVAL_PCT", "20")
# A priced contract line with no list price to compare with (no plan) waits for an approver.
PRICE_OVERRIDE_CUSTOM_APPROVAL = env("PRICE_OVERRIDE_CUSTOM_APPROVAL", "1") == "1"
BILLING_RUN_PARALLELISM = int(env("BILLING_RUN_PARALLELISM", "4"))
# Revenue runs (revrec.services.runs): work tasks sent per run, and contracts per batch (transaction).
REVENUE_RUN_PARALLELISM = int(env("REVENUE_RUN_PARALLELISM", env("BILLING_RUN_PARALLELISM", "4")))
REVENUE_RUN_BATCH_SIZE = int(env("REVENUE_RUN_BATCH_SIZE", "100"))
# First schedules of bulk activations (revrec.services.schedule_batches): obligations per batch (transaction),
# workers sent for the contracts activated in one transaction when they are more than one batch.
REVREC_SCHEDULE_BATCH_SIZE = int(env("REVREC_SCHEDULE_BATCH_SIZE", "500"))
REVREC_SCHEDULE_PARALLELISM = int(env("REVREC_SCHEDULE_PARALLELISM", "2"))
# Finalization runs (billing.invoicing.finalization): workers sent per run, drafts per transaction.
FINALIZATION_PARALLELISM = int(env("FINALIZATION_PARALLELISM", str(BILLING_RUN_PARALLELISM)))
FINALIZATION_BATCH_SIZE = int(env("FINALIZATION_BATCH_SIZE", "100"))
# A run whose job has not reported progress for this long is re-queued by the beat job.
BILLING_RUN_STALL_SECONDS = int(env("BILLING_RUN_STALL_SECONDS", "120"))
# Usage cut-off: a billing run bills events received up to this many seconds before it starts. It must
# outlast the longest ingestion transaction (its statements time out after 60 s), so an event stamped
# before the cut-off can never commit after an invoice billed up to it. Checked at start-up.
USAGE_SETTLE_SECONDS = int(env("USAGE_SETTLE_SECONDS", "300"))
# Webhooks reach public addresses only (billing/webhooks/egress.py); 1 allows loopback and private
# receivers, for development against a receiver on the same machine.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
# A finalized invoice's document (PDF and its SHA-256) is rendered by a worker after the finalization
# commits; the control ``invoice_documents_stored`` flags one still without it this long after.
INVOICE_DOCUMENT_MAX_DELAY_SECONDS = int(env("INVOICE_DOCUMENT_MAX_DELAY_SECONDS", "900"))
CONCORD = {
    "LEGAL_ENTITY": env("CONCORD_LEGAL_ENTITY", "Concord Demo Inc."),
    "DEFAULT_CURRENCY": env("CONCORD_DEFAULT_CURRENCY", "USD"),
    "WEBHOOK_SECRET": env("WEBHOOK_SECRET", "whsec_dev_only"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": env("CELERY_TRACE_LOG_LEVEL", "WARNING")},
        "billing.webhooks": {"level": "WARNING"},
    },
}
