"""Test settings: fast hashing, in-process tasks (a real worker is started explicitly by the tests
that need one), throttling relaxed."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

AUDIT_CHAIN_KEY = "test-audit-chain-key-0123456789abcdef-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
# The webhook tests run their receivers on 127.0.0.1; tests/billing/webhooks/test_egress.py turns the
# public-address guard back on.
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
DEBUG = False
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "100000/min"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Each test process (and each pytest-xdist worker) writes invoice PDFs and exports into a media folder of
# its own, so concurrent runs never see each other's files. Worker processes started by the tests inherit
# the folder through the environment.
_MEDIA_DIR = (
    Path(tempfile.gettempdir())
    / f"concord-test-media-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
)
MEDIA_ROOT = _MEDIA_DIR
os.environ["MEDIA_ROOT"] = str(_MEDIA_DIR)
atexit.register(shutil.rmtree, _MEDIA_DIR, ignore_errors=True)

# The suites' fixtures build plan-less, custom-priced contracts by the dozen (allocation, recognition,
# reports); the custom-price rule is exercised by its own tests, which switch it on
# (tests/billing/contracts/test_price_override_bypasses.py and test_price_overrides.py).
PRICE_OVERRIDE_CUSTOM_APPROVAL = False
