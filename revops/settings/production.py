"""Production settings: PostgreSQL + Redis, HTTPS only. SECRET_KEY must come from the environment."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import derived_key, env, env_bool, env_list

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment for production.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost")

# The audit chain's HMAC key: AUDIT_CHAIN_KEY from the environment (recommended: its own secret, so
# rotating SECRET_KEY does not change it). Unset, it is derived from SECRET_KEY with HKDF-SHA256 for the
# purpose "concord audit chain v1" — then SECRET_KEY must never change, or the chain no longer verifies.
# Never the development default, never stored in the database.
AUDIT_CHAIN_KEY = env("AUDIT_CHAIN_KEY") or derived_key(SECRET_KEY, "concord audit chain v1")
if AUDIT_CHAIN_KEY.startswith("dev-only") or len(AUDIT_CHAIN_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_CHAIN_KEY must be a secret of at least 32 characters in production.")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
