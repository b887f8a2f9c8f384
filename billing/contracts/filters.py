"""The contract list's filters, shared by ``GET /contracts`` and the contracts page."""

from __future__ import annotations

import django_filters

from billing.contracts.models import Contract
from revops.parties.filters import CustomerScopedFilterSet


class ContractFilter(CustomerScopedFilterSet):
    status = django_filters.ChoiceFilter(field_name="status", choices=Contract.Status.choices)

    class Meta:
        model = Contract
        fields: list[str] = []
