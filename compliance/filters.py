"""The exception list's filters, shared by ``GET /compliance/exceptions`` and the exceptions page."""

from __future__ import annotations

import django_filters

from compliance.checks import CHECKS
from compliance.models import ComplianceException
from revops.core.filters import FilterSet


def _check_codes() -> list[tuple[str, str]]:
    return [(code, code) for code in sorted(CHECKS)]


class ExceptionFilter(FilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=ComplianceException.Status.choices)
    severity = django_filters.ChoiceFilter(
        field_name="severity", choices=ComplianceException.Severity.choices
    )
    check = django_filters.ChoiceFilter(field_name="check_code", choices=_check_codes, help_text="Check code")

    class Meta:
        model = ComplianceException
        fields: list[str] = []
