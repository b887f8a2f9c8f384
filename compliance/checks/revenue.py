"""Revenue invariants: allocations sum to the transaction price and schedules to the allocation, revenue
never exceeds what was allocated, the SSP in force is the one used, only approved schedules post
(accounting.md §7.1, §7.2, §7.5)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, DecimalField, Exists, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan

from billing.contracts.models import Contract
from compliance.checks.registry import Finding, check, failing_rows, model_ref, ref
from revops.money import stored_sum

ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=4))


def _z(name: str):
    """An aggregate of the group as compared in SQL: 0 when it is NULL (no rows), as ``stored_sum`` reads it."""
    return Coalesce(F(name), ZERO, output_field=ZERO.output_field)


@check(
    "allocation_equals_price",
    title="Allocations sum to the transaction price",
    invariant="Σ allocations of a contract = its transaction price, exactly (§7.1)",
    severity="critical",
)
def allocation_equals_price() -> list[Finding]:
    """One grouped query: per contract (none awaiting a modification's approval), its obligations'
    allocations against their consideration and the contract's transaction price."""
    from revrec.models import ContractModification, PerformanceObligation

    pending = ContractModification.objects.filter(
        status="pending_approval", contract_id=OuterRef("contract_id")
    )
    rows = (
        PerformanceObligation.objects.filter(status="active", variable=False)
        .filter(~Exists(pending))
        .values("contract_id", "contract__number", "contract__status", "contract__transaction_price")
        .annotate(
            total=Sum("allocated_amount"),
            fixed=Sum("fixed_price"),
            variable=Sum("variable_consideration"),
        )
        .order_by("contract_id")
    )
    # the transaction price: fixed consideration + constrained variable consideration (§10a)
    consideration = _z("fixed") + _z("variable")
    having = ~Q(Exact(_z("total"), consideration)) | (
        Q(contract__status="active") & ~Q(Exact(F("contract__transaction_price"), consideration))
    )
    out = []
    for row in failing_rows(rows, having):
        number, price = row["contract__number"], row["contract__transaction_price"]
        total = stored_sum(row["total"])
        fixed = stored_sum(row["fixed"]) + stored_sum(row["variable"])
        if total != fixed:
            out.append(
                Finding(
                    model_ref(Contract),
                    str(row["contract_id"]),
                    f"{number}: allocations sum to {total} but the "
                    f"consideration of its obligations is {fixed}.",
                    {"allocated": total, "price": fixed},
                )
            )
        if row["contract__status"] == "active" and fixed != price:
            out.append(
                Finding(
                    model_ref(Contract),
                    str(row["contract_id"]),
                    f"{number}: obligations carry {fixed} but the contract's transaction price is {price}.",
                    {"obligations": fixed, "transaction_price": price},
                )
            )
    return out


@check(
    "schedule_equals_allocation",
    title="Schedules sum to the allocation",
    invariant="Σ schedule lines of a PO = its allocation, exactly (§7.2)",
    severity="critical",
)
def schedule_equals_allocation() -> list[Finding]:
    """One grouped query: each approved schedule of an active obligation, Σ lines against the allocation."""
    from revrec.models import RevenueSchedule

    rows = (
        RevenueSchedule.objects.filter(status="approved", obligation__status="active")
        .values("pk", "version", "obligation__key", "obligation__allocated_amount")
        .annotate(total=Sum("lines__amount"))
        .order_by("pk")
    )
    out = []
    for row in failing_rows(rows, ~Q(Exact(_z("total"), F("obligation__allocated_amount")))):
        total, allocated = stored_sum(row["total"]), row["obligation__allocated_amount"]
        if total != allocated:
            out.append(
                Finding(
                    model_ref(RevenueSchedule),
                    str(row["pk"]),
                    f"Schedule v{row['version']} of {row['obligation__key']} sums to {total}; "
                    f"the obligation's allocation is {allocated}.",
                    {"schedule": total, "allocation": allocated},
                )
            )
    return out


@check(
    "recognized_within_allocation",
    title="Recognized to date ≤ allocated",
    invariant="Revenue recognized for a fixed-consideration PO never exceeds its allocation (§7.5)",
    severity="critical",
)
def recognized_within_allocation() -> list[Finding]:
    """One grouped query: revenue credited net of debits per fixed obligation, over its allocation."""
    from revrec.models import JournalLine, PerformanceObligation

    rows = (
        JournalLine.objects.filter(account__role__in=["revenue", "revenue_sub"], obligation__variable=False)
        .values("obligation_id", "obligation__key", "obligation__allocated_amount")
        .annotate(c=Sum("credit"), d=Sum("debit"))
        .order_by("obligation_id")
    )
    out = []
    for row in failing_rows(rows, Q(GreaterThan(_z("c"), _z("d") + F("obligation__allocated_amount")))):
        earned = stored_sum(row["c"]) - stored_sum(row["d"])
        allocated = row["obligation__allocated_amount"]
        if earned > allocated:
            out.append(
                Finding(
                    model_ref(PerformanceObligation),
                    str(row["obligation_id"]),
                    f"{row['obligation__key']}: recognized {earned} exceeds its allocation {allocated}.",
                    {"recognized": earned, "allocated": allocated},
                )
            )
    return out


@check(
    "ssp_in_force_used",
    title="The SSP used is the one in force on the contract date",
    invariant="Allocations use the approved SSP in force on the contract date (or the modification date)",
    severity="high",
)
def ssp_in_force_used() -> list[Finding]:
    """One query: each active fixed obligation with the SSP in force on its date (a subquery, the
    rule of ``revrec.services.obligations.ssp_in_force``), returning those that used another."""
    from revrec.models import PerformanceObligation, SSPEntry

    in_force = SSPEntry.objects.filter(
        product_id=OuterRef("product_id"),
        currency=OuterRef("currency"),
        status=SSPEntry.Status.APPROVED,
        effective_from__lte=OuterRef("as_of"),
    ).order_by("-effective_from", "-version")
    rows = (
        PerformanceObligation.objects.filter(status="active", variable=False)
        .exclude(ssp_source__startswith="override")
        # At inception the contract start; a modification re-allocates at its effective date (§10).
        .annotate(as_of=Coalesce("ssp_as_of", "contract__start_date"))
        .annotate(
            in_force_id=Subquery(in_force.values("pk")[:1]),
            in_force_version=Subquery(in_force.values("version")[:1]),
        )
        .annotate(
            same=Case(
                When(in_force_id=F("ssp_entry_id"), then=Value(True)),
                When(in_force_id__isnull=True, ssp_entry_id__isnull=True, then=Value(True)),
                default=Value(False),
            )
        )
        .filter(same=False)
        .values("pk", "key", "ssp_source", "as_of", "in_force_version", "contract__number")
        .order_by("pk")
    )
    out = []
    for row in rows.iterator(chunk_size=2000):
        version = row["in_force_version"]
        out.append(
            Finding(
                model_ref(PerformanceObligation),
                str(row["pk"]),
                f"{row['contract__number']}/{row['key']} used {row['ssp_source'] or 'no SSP'}; the SSP in "
                f"force on {row['as_of']} is {f'v{version}' if version is not None else 'none'}.",
            )
        )
    return out


@check(
    "schedules_posted_only_when_approved",
    title="No schedule posts without approval",
    invariant="Only approved schedules post",
    severity="critical",
)
def schedules_posted_only_when_approved() -> list[Finding]:
    from revrec.models import ScheduleLine

    out = []  # at most 200 of each kind, read with their schedules: two queries
    bad = ScheduleLine.objects.filter(posted_entry__isnull=False).exclude(
        schedule__status__in=["approved", "superseded"]
    )
    for line in bad.select_related("schedule")[:200]:
        out.append(
            Finding(
                *ref(line.schedule),
                f"Schedule v{line.schedule.version} ({line.schedule.status}) has a posted "
                f"line for {line.period}.",
            )
        )
    unapproved_superseded = ScheduleLine.objects.filter(
        posted_entry__isnull=False, schedule__status="superseded", schedule__decided_at__isnull=True
    )
    for line in unapproved_superseded.select_related("schedule")[:200]:
        out.append(
            Finding(
                *ref(line.schedule),
                f"Schedule v{line.schedule.version} posted {line.period} but was never approved.",
            )
        )
    return out
