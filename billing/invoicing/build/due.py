"""Due items: what a contract has to bill by a date that no invoice has claimed yet (reads only)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from django.utils import timezone

from billing.catalog.reader import Catalog
from billing.contracts.models import Contract, ContractLine
from billing.contracts.terms import line_terms
from billing.models import BillingClaim, Invoice
from billing.schedule import ONE_TIME, DueItem, due_items

BILLABLE_CONTRACT_STATUSES = (Contract.Status.ACTIVE, Contract.Status.TERMINATED, Contract.Status.EXPIRED)


def lines_and_claims(contract_ids) -> tuple[dict[int, list[ContractLine]], dict[int, set[tuple]]]:
    """Every line (all revisions) and every billing claim ``(line id, period start, kind)`` of the
    given contracts, by contract id: two queries for any number of contracts (planning and building
    find the due items of many contracts at once)."""
    lines: dict[int, list[ContractLine]] = defaultdict(list)
    for line in ContractLine.objects.filter(contract_id__in=contract_ids).select_related("plan", "product"):
        lines[line.contract_id].append(line)
    claimed: dict[int, set[tuple]] = defaultdict(set)
    for contract_id, *claim in BillingClaim.objects.filter(
        contract_line__contract_id__in=contract_ids
    ).values_list("contract_line__contract_id", "contract_line_id", "period_start", "kind"):
        claimed[contract_id].add(tuple(claim))
    return lines, claimed


def contract_due_items(
    contract: Contract,
    *,
    as_of: date,
    lines: Sequence[ContractLine] | None = None,
    claimed: set[tuple] | None = None,
    today: date | None = None,
    catalog: Catalog | None = None,
) -> list[DueItem]:
    """Items due by ``as_of`` that no invoice has claimed, and never beyond the current period plus
    one billing interval from ``today`` (default: today). ``lines`` (with plan and product) and
    ``claimed`` ((contract_line_id, period_start, kind) of the contract's claims) may be passed by a
    caller that loaded them already, for many contracts at once; plans are read through ``catalog``."""
    if lines is None:
        lines = list(contract.lines.select_related("plan", "product"))
    terms = [line_terms(line, contract, catalog=catalog) for line in lines]
    items = due_items(
        terms,
        grid_start=contract.start_date,
        anchor=contract.billing_anchor,
        as_of=as_of,
        today=today or timezone.localdate(),
    )
    # A one-time line replaced by an amendment is billed by its latest revision (the difference), so
    # an earlier revision not yet billed is never billed on its own (accounting.md §10).
    replaced = {line.supersedes_id for line in lines if line.supersedes_id}
    items = [i for i in items if not (i.kind == ONE_TIME and i.line_id in replaced)]
    if claimed is None:
        claimed = set(
            BillingClaim.objects.filter(contract_line__contract=contract).values_list(
                "contract_line_id", "period_start", "kind"
            )
        )
    items = [i for i in items if (i.line_id, i.period.start, i.kind) not in claimed]
    return _redate_replaced_one_time(contract, items, lines=lines, replaced=replaced, as_of=as_of)


def _redate_replaced_one_time(
    contract: Contract, items: list[DueItem], *, lines, replaced: set, as_of: date
) -> list[DueItem]:
    """The difference of an amended one-time line (a revision superseding an earlier one) is billed once
    (accounting.md §10) — on its own date if that invoice is still open, else on the next invoice:
    the contract's next billing date after it with something due, or its own invoice dated ``as_of``
    (like a pending charge whose date is already invoiced). Its claim keeps the revision's start, so
    moving its billing date never bills it twice."""
    superseding = {line.pk for line in lines if line.supersedes_id}
    moved = [i for i in items if i.kind == ONE_TIME and i.line_id in superseding]
    if not moved:
        return items
    final_dates = set(
        Invoice.objects.filter(contract=contract, billing_date__in={i.billing_date for i in moved})
        .exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
        .values_list("billing_date", flat=True)
    )
    result = []
    for item in items:
        if item in moved and item.billing_date in final_dates:
            later = sorted(
                i.billing_date for i in items if i not in moved and i.billing_date > item.billing_date
            )
            if not later and as_of <= item.billing_date:
                continue  # due on the next billing date after its own
            item = replace(item, billing_date=later[0] if later else as_of)
        result.append(item)
    return result
