"""The billing lists' sort keys and CSV columns (revops.core.listing): invoices, customers, a
customer's daily usage and a price version's impact. The pages filter; these say how rows are
ordered and exported."""

from __future__ import annotations

from django.db.models import DecimalField, ExpressionWrapper, F
from django.utils import timezone

from revops.core.listing import Column, Sorting

MONEY = DecimalField(max_digits=30, decimal_places=10)

INVOICE_SORT_KEYS = {
    "number": ("sequence",),
    "status": ("status",),
    "customer": ("customer__name",),
    "contract": ("contract__number",),
    "billing_date": ("billing_date",),
    "period": ("period_start",),
    "due": ("due_date",),
    "total": ("total",),
    "balance": ("balance",),
}
# The review queue works oldest first; the other statuses newest first.
INVOICE_QUEUE_SORTING = Sorting(INVOICE_SORT_KEYS, default="billing_date")
INVOICE_SORTING = Sorting(INVOICE_SORT_KEYS, default="-billing_date")


def with_balance(qs):
    """Invoices annotated with ``balance`` (total − paid − credited), a sortable column."""
    return qs.annotate(
        balance=ExpressionWrapper(F("total") - F("amount_paid") - F("amount_credited"), output_field=MONEY)
    )


def _overdue(inv) -> bool:
    return (
        inv.status == "finalized"
        and inv.due_date is not None
        and inv.due_date < timezone.localdate()
        and inv.balance_due > 0
    )


INVOICE_COLUMNS = [
    Column("number", "number"),
    Column("draft_reference", lambda inv: "" if inv.number else f"D-{inv.pk}"),
    Column("status", "status"),
    Column("customer_external_id", "customer.external_id"),
    Column("customer", "customer.name"),
    Column("contract", "contract.number"),
    Column("billing_date", "billing_date"),
    Column("period_start", "period_start"),
    Column("period_end_exclusive", "period_end"),
    Column("issue_date", "issue_date"),
    Column("due_date", "due_date"),
    Column("currency", "currency"),
    Column("subtotal", "subtotal"),
    Column("discount", "discount"),
    Column("tax", "tax"),
    Column("credits_applied", "credits_applied"),
    Column("total", "total"),
    Column("amount_paid", "amount_paid"),
    Column("amount_credited", "amount_credited"),
    Column("balance_due", "balance_due"),
    Column("overdue", _overdue),
]

CUSTOMER_SORTING = Sorting(
    {
        "name": ("name",),
        "external_id": ("external_id",),
        "currency": ("currency",),
        "contracts": ("n_contracts",),
        "active": ("n_active",),
        "balance": ("open_balance",),
    },
    default="name",
)
CUSTOMER_COLUMNS = [
    Column("external_id", "external_id"),
    Column("name", "name"),
    Column("email", "email"),
    Column("currency", "currency"),
    Column("timezone", "timezone"),
    Column("tax_rate", "tax_rate"),
    Column("contracts", "n_contracts"),
    Column("active_contracts", "n_active"),
    Column("open_balance", "open_balance"),
]

USAGE_COLUMNS = [Column("date", "date"), Column("value", "value")]

IMPACT_COLUMNS = [
    Column("customer_external_id", "customer"),
    Column("customer", "name"),
    Column("contract", "contract"),
    Column("line", "line"),
    Column("period_start", "period_start"),
    Column("period_end_exclusive", "period_end"),
    Column("currency", "currency"),
    Column("current_prices", "old"),
    Column("this_version", "new"),
    Column("difference", "delta"),
]


def impact_rows(result: dict):
    """One CSV row per compared contract line of a price version's impact (pricing_impact)."""
    for row in result["customers"]:
        for c in row["contracts"]:
            yield {
                "customer": row["customer"],
                "name": row["name"],
                "currency": row["currency"],
                "contract": c["contract"],
                "line": c["line"],
                "period_start": c["period"][0],
                "period_end": c["period"][1],
                "old": c["old"],
                "new": c["new"],
                "delta": c["new"] - c["old"],
            }
