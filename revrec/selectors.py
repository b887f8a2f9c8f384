"""Revenue reads: obligations with their schedules and balances, computed live from the ledger and
schedules (no nightly tables), so a finalized invoice or an approved schedule shows at once."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Prefetch, Q, Sum

from revops.money import stored_sum
from revrec.models import JournalLine, PerformanceObligation, RevenueRunItem, RevenueSchedule, ScheduleLine

ZERO = Decimal(0)


def obligations_of(contract, *, active_only: bool = True):
    qs = (
        PerformanceObligation.objects.filter(contract=contract)
        .select_related("product")
        .prefetch_related(
            "lines",
            Prefetch(
                "schedules",
                queryset=RevenueSchedule.objects.order_by("-version").prefetch_related(
                    Prefetch("lines", queryset=ScheduleLine.objects.order_by("period"))
                ),
            ),
        )
    )
    if active_only:
        qs = qs.filter(status=PerformanceObligation.Status.ACTIVE)
    return qs.order_by("id")


def current_schedule(po: PerformanceObligation) -> RevenueSchedule | None:
    schedules = list(po.schedules.all())
    for status in (
        RevenueSchedule.Status.APPROVED,
        RevenueSchedule.Status.PENDING_APPROVAL,
        RevenueSchedule.Status.DRAFT,
        RevenueSchedule.Status.REJECTED,
    ):
        for sched in schedules:
            if sched.status == status:
                return sched
    return schedules[0] if schedules else None


def po_balances(po_ids) -> dict[int, dict[str, Decimal]]:
    rows = (
        JournalLine.objects.filter(obligation_id__in=list(po_ids))
        .values("obligation_id", "account__role")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    )
    out: dict[int, dict[str, Decimal]] = {}
    for r in rows:
        bucket = out.setdefault(r["obligation_id"], {})
        role = "revenue" if r["account__role"] == "revenue_sub" else r["account__role"]
        bucket[role] = bucket.get(role, ZERO) + stored_sum(r["d"]) - stored_sum(r["c"])
    return out


def po_payload(po: PerformanceObligation, balances: dict | None = None) -> dict:
    """An obligation with its balances and current schedule; amounts are Decimals (the API's
    ``ObligationRevenueOut`` renders them at the currency's minor unit)."""
    sched = current_schedule(po)
    bal = (balances or {}).get(po.pk, {})
    recognized = -bal.get("revenue", ZERO)
    data = {
        "id": po.pk,
        "key": po.key,
        "line_keys": sorted({ln.key for ln in po.lines.all()}),
        "product": po.product.code,
        "ssp": po.ssp,
        "ssp_source": po.ssp_source,
        "allocated_amount": po.allocated_amount,
        "variable": po.variable,
        "recognition": po.recognition,
        "start": po.start,
        "end": po.end,
        "recognized_to_date": recognized,
        "deferred": -bal.get("deferred", ZERO),
        "unbilled": bal.get("unbilled", ZERO),
    }
    data["schedule"] = (
        None
        if sched is None
        else {
            "id": sched.pk,
            "version": sched.version,
            "status": sched.status,
            "treatment": sched.treatment,
            "periods": [
                {
                    "period": ln.period,
                    "amount": ln.amount,
                    "recognized": ln.posted_entry_id is not None,
                }
                for ln in sched.lines.all()
            ],
        }
    )
    return data


def contract_revenue(contract) -> dict:
    pos = list(obligations_of(contract))
    balances = po_balances([po.pk for po in pos])
    return {
        "contract": contract.pk,
        "currency": contract.currency,
        "performance_obligations": [po_payload(po, balances) for po in pos],
    }


def closed_through():
    """The last day of the latest closed accounting period, or None (the kernel's ``revops.books``)."""
    from revrec.models import AccountingPeriod
    from revrec.services.periods import last_day

    latest = (
        AccountingPeriod.objects.filter(status=AccountingPeriod.Status.CLOSED)
        .order_by("-period")
        .values_list("period", flat=True)
        .first()
    )
    return last_day(latest) if latest else None


def product_has_postings(product) -> bool:
    """Whether any journal line was posted for the product (directly or through one of its POs)."""
    from django.db.models import Q

    return JournalLine.objects.filter(Q(product=product) | Q(obligation__product=product)).exists()


def estimates_not_reassessed(period: str) -> list[dict]:
    """Lines with variable consideration, on contracts in force during ``period``, whose estimate was
    not (re-)assessed in it: neither estimated at inception in the period nor re-estimated as of a date
    in it (IFRS 15.59: re-estimated at the end of each reporting period; accounting.md §10a)."""
    from billing.contracts.models import Contract, ContractLine
    from billing.contracts.variable import variable_terms
    from revrec.models import VariableEstimate
    from revrec.services.periods import period_bounds

    start, end = period_bounds(period)
    lines = ContractLine.objects.filter(
        contract__status__in=[Contract.Status.ACTIVE, Contract.Status.TERMINATED, Contract.Status.EXPIRED],
        contract__start_date__lt=end,
        contract__end_date__gt=start,
    ).exclude(variable_method="")
    by_contract: dict[int, dict[str, list]] = {}
    for line in lines.select_related("contract"):
        by_contract.setdefault(line.contract_id, {}).setdefault(line.key, []).append(line)
    latest = {
        (row["contract_id"], row["line_key"]): row["as_of"]
        for row in VariableEstimate.objects.filter(contract_id__in=list(by_contract), as_of__lt=end)
        .order_by("as_of")
        .values("contract_id", "line_key", "as_of")
    }
    out = []
    for keys in by_contract.values():
        for key, revisions in sorted(keys.items()):
            terms = variable_terms(revisions)
            contract = terms.contract
            if contract.terminated_on and contract.terminated_on <= start:
                continue
            last = latest.get((contract.pk, key), contract.start_date)
            if last < start:
                out.append({"contract": contract, "line": key, "last_assessed": last})
    return out


# --- revenue runs ---------------------------------------------------------------------------------------


def revenue_run_failures(run, *, limit: int = 100) -> list[dict]:
    """The run's parked contracts with their errors (at most ``limit``)."""
    return [
        {"contract": item.contract.number, "contract_id": item.contract_id, "error": item.error}
        for item in run.items.filter(status=RevenueRunItem.Status.FAILED)
        .select_related("contract")
        .order_by("id")[:limit]
    ]


def revenue_run_outcomes(runs: list, *, failures: int = 20) -> dict[int, dict]:
    """{run id: {"entries", "failed", "failures"}} for a page of runs: their items counted with one
    query, the parked contracts (at most ``failures`` per run) read only for runs that have some."""
    s = RevenueRunItem.Status
    out = {run.pk: {"entries": run.entries_created, "failed": 0, "failures": []} for run in runs}
    rows = (
        RevenueRunItem.objects.filter(run__in=runs)
        .values("run")
        .annotate(entries=Count("entry"), failed=Count("id", filter=Q(status=s.FAILED)))
    )
    for row in rows:
        out[row["run"]].update(entries=row["entries"], failed=row["failed"])
    for run in runs:
        if out[run.pk]["failed"]:
            out[run.pk]["failures"] = revenue_run_failures(run, limit=failures)
    return out


def revenue_due_contracts(period: str) -> int:
    """How many contracts a revenue run for ``period`` would recognize something for right now (0:
    nothing recognizable through the period's end is left unposted) — exactly what
    ``revrec.services.postings.recognize_contracts_period`` reads for the contracts a run plans
    (``revrec.services.runs.RUN_CONTRACT_STATUSES``, started before the period ends): approved schedule
    lines of the period or earlier without their entry (except those a pending modification holds: its
    effective month and later), and usage lines of finalized or paid invoices whose service started
    before the period ends and that no entry recognized. Set-based: one EXISTS per kind, and a count
    of the contracts only when one of them finds something."""
    from django.db.models import Exists, OuterRef
    from django.db.models.functions import TruncMonth

    from billing.contracts.models import Contract
    from billing.models import InvoiceLine
    from revrec.models import ContractModification
    from revrec.services.periods import period_bounds
    from revrec.services.postings import USAGE_KINDS
    from revrec.services.runs import RUN_CONTRACT_STATUSES

    _start, end = period_bounds(period)
    held = (
        ContractModification.objects.filter(
            contract_id=OuterRef("schedule__obligation__contract_id"),
            status=ContractModification.Status.PENDING_APPROVAL,
        )
        .annotate(month=TruncMonth("effective_date"))
        .filter(month__lte=OuterRef("start"))
    )
    schedule = ScheduleLine.objects.filter(
        period__lte=period,
        posted_entry__isnull=True,
        schedule__status=RevenueSchedule.Status.APPROVED,
        schedule__obligation__contract__status__in=RUN_CONTRACT_STATUSES,
        schedule__obligation__contract__start_date__lt=end,
    ).filter(~Exists(held))
    usage = InvoiceLine.objects.filter(
        invoice__status__in=["finalized", "paid"],
        kind__in=USAGE_KINDS,
        service_start__lt=end,
        recognition__isnull=True,
        invoice__contract__status__in=RUN_CONTRACT_STATUSES,
        invoice__contract__start_date__lt=end,
    )
    if not schedule.exists() and not usage.exists():
        return 0
    return Contract.objects.filter(
        Q(pk__in=schedule.values("schedule__obligation__contract_id"))
        | Q(pk__in=usage.values("invoice__contract_id"))
    ).count()
