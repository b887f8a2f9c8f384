"""revops/fields.py: money is Decimal + a currency column (docs/accounting.md §1). django-money is not a
dependency, so no module — migrations included — may import it; a fresh `make install` would fail to."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

APPS = ("revops", "billing", "revrec", "compliance")
IMPORT = re.compile(r"^\s*(import|from)\s+djmoney\b", re.M)


def test_no_module_imports_django_money():
    offenders = [
        str(path.relative_to(settings.BASE_DIR))
        for app in APPS
        for path in Path(settings.BASE_DIR, app).rglob("*.py")
        if IMPORT.search(path.read_text())
    ]
    assert offenders == []


def test_django_money_is_not_pinned():
    base = Path(settings.BASE_DIR)
    assert "django-money" not in (base / "pyproject.toml").read_text()
    assert not re.search(r"^django-money==", (base / "requirements.lock").read_text(), re.M)
