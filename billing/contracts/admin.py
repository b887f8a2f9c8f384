"""Django admin: a read-only list of contracts (they change through their services and pages)."""

from __future__ import annotations

from django.contrib import admin

from billing.contracts.models import Contract
from revops.parties.admin import ReadOnlyAdmin


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer", "status", "currency", "start_date", "end_date", "transaction_price")
    list_filter = ("status", "currency")
    search_fields = ("number", "customer__name", "customer__external_id")
    list_select_related = ("customer",)
