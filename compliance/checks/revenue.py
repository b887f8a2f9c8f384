"""Revenue invariants: allocations sum to the transaction price and schedules to the allocation, revenue
never exceeds what was allocated, the SSP in force is the one used, only approved schedules post
(accounting.md §7.1, §7.2, §7.5)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from billing.contracts.models import Contract
from compliance.checks.registry import Finding, check, ref
from revops.money import stored_sum


def _sum(qs, field_name: str) -> Decimal:
    return stored_sum(qs.aggregate(s=Sum(field_name))["s"])


@check(
    "allocation_equals_price",
    title="Allocations sum to the transaction price",
    invariant="Σ allocations of a contract = its transaction price, exactly (§7.1)",
    severity="critical",
)
def allocation_equals_price() -> list[Finding]:
    from revrec.models import ContractModification, PerformanceObligation

    out = []
    pending = set(
        ContractModification.objects.filter(status="pending_approval").values_list("contract_id", flat=True)
    )
    rows = (
        PerformanceObligation.objects.filter(status="active", variable=False)
        .values("contract_id")
        .annotate(
            total=Sum("allocated_amount"), fixed=Sum("fixed_price"), variable=Sum("variable_consideration")
        )
    )
    for row in rows:
        if row["contract_id"] in pending:
            continue
        contract = Contract.objects.get(pk=row["contract_id"])
        # the transaction price: fixed consideration + constrained variable consideration (§10a)
        row["total"] = stored_sum(row["total"])
        row["fixed"] = stored_sum(row["fixed"]) + stored_sum(row["variable"])
        if row["total"] != row["fixed"]:
            out.append(
                Finding(
                    *ref(contract),
                    f"{contract.number}: allocations sum to {row['total']} but the "
                    f"consideration of its obligations is {row['fixed']}.",
                    {"allocated": row["total"], "price": row["fixed"]},
                )
            )
        if contract.status == "active" and row["fixed"] != contract.transaction_price:
            out.append(
                Finding(
                    *ref(contract),
                    f"{contract.number}: obligations carry {row['fixed']} but the contract's "
                    f"transaction price is {contract.transaction_price}.",
                    {"obligations": row["fixed"], "transaction_price": contract.transaction_price},
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
    from revrec.models import RevenueSchedule

    out = []
    for sched in RevenueSchedule.objects.filter(
        status="approved", obligation__status="active"
    ).select_related("obligation"):
        total = _sum(sched.lines.all(), "amount")
        if total != sched.obligation.allocated_amount:
            out.append(
                Finding(
                    *ref(sched),
                    f"Schedule v{sched.version} of {sched.obligation.key} sums to {total}; "
                    f"the obligation's allocation is {sched.obligation.allocated_amount}.",
                    {"schedule": total, "allocation": sched.obligation.allocated_amount},
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
    from revrec.models import JournalLine, PerformanceObligation

    out = []
    rows = (
        JournalLine.objects.filter(account__role__in=["revenue", "revenue_sub"], obligation__variable=False)
        .values("obligation_id")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    )
    for row in rows:
        po = PerformanceObligation.objects.get(pk=row["obligation_id"])
        earned = stored_sum(row["c"]) - stored_sum(row["d"])
        if earned > po.allocated_amount:
            out.append(
                Finding(
                    *ref(po),
                    f"{po.key}: recognized {earned} exceeds its allocation {po.allocated_amount}.",
                    {"recognized": earned, "allocated": po.allocated_amount},
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
    from revrec.models import PerformanceObligation
    from revrec.services.obligations import ssp_in_force

    out = []
    for po in PerformanceObligation.objects.filter(status="active", variable=False).select_related(
        "contract", "product", "ssp_entry"
    ):
        if po.ssp_source.startswith("override"):
            continue
        # At inception the contract start; a modification re-allocates at its effective date (§10).
        as_of = po.ssp_as_of or po.contract.start_date
        in_force = ssp_in_force(po.product, po.currency, as_of)
        if (in_force.pk if in_force else None) != po.ssp_entry_id:
            out.append(
                Finding(
                    *ref(po),
                    f"{po.contract.number}/{po.key} used {po.ssp_source or 'no SSP'}; the SSP in "
                    f"force on {as_of} is {f'v{in_force.version}' if in_force else 'none'}.",
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

    out = []
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
