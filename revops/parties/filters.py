"""List filters naming a customer, shared by every list scoped to one (revops.core.filters)."""

from __future__ import annotations

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Q

from revops.core.filters import FilterSet, RefFilter, RefIdFilter
from revops.parties.models import Customer


class CustomerScopedFilterSet(FilterSet):
    """``?customer=<external_id>`` or ``?customer_id=<id>`` (two parameters, never one guessed from
    the other, api.md); an unknown customer is the parameter's error."""

    customer = RefFilter(
        field_name="customer",
        model=Customer,
        to_field="external_id",
        label_text="customer",
        help_text="The customer's external_id",
    )
    customer_id = RefIdFilter(
        field_name="customer", model=Customer, label_text="customer", help_text="The customer's id"
    )
    exclusive = (("customer", "customer_id"),)


class CustomerFilter(FilterSet):
    """The customer list: a search over name and external_id, and the billing currency."""

    q = django_filters.CharFilter(
        method="search", max_length=200, help_text="Part of the name or external_id (any case)"
    )
    currency = django_filters.CharFilter(
        field_name="currency",
        max_length=3,
        min_length=3,
        validators=[RegexValidator(r"^[A-Za-z]{3}$", "A currency is a three-letter ISO 4217 code.")],
        help_text="ISO 4217 code (any case)",
        method="by_currency",
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        return (
            queryset.filter(Q(name__icontains=value) | Q(external_id__icontains=value)) if value else queryset
        )

    def by_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper())
