"""Batch build: the draft invoices of many (contract, billing date) requests in the caller's
transaction — lock, read once per kind of record, price in memory, write once per table.

Each billed (contract line, period, kind) gets a ``BillingClaim`` row in the same transaction — the
unique constraint on it is what makes a second invoice for the same period impossible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import DatabaseError, connection, transaction
from django.db.transaction import TransactionManagementError

from billing.catalog.reader import Catalog
from billing.contracts.models import Contract, ContractLine
from billing.invoicing.build.coupon_lines import coupon_lines
from billing.invoicing.build.due import BILLABLE_CONTRACT_STATUSES, contract_due_items, lines_and_claims
from billing.invoicing.build.late_usage import FINAL_STATUSES, late_usage_adjustments
from billing.invoicing.build.line_rating import lines_for_item, usage_questions
from billing.invoicing.build.totals import set_totals
from billing.invoicing.usage_source import PreparedUsage
from billing.models import BillingClaim, CouponRedemption, Invoice, InvoiceLine, PendingCharge
from billing.schedule import DueItem
from billing.usage.aggregation import usage_watermark
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record_many
from revops.errors import Conflict


@transaction.atomic
def invoice_build(
    *,
    contract_id: int,
    billing_date: date,
    run=None,
    now: datetime | None = None,
    actor=None,
    catalog: Catalog | None = None,
) -> Invoice | None:
    """Create the draft invoice of ``contract`` for ``billing_date`` with every item due on that date
    that no invoice has claimed yet, plus pending prorations and late-usage adjustments. Returns
    None when there is nothing to bill. Safe to call twice: the second call finds everything claimed."""
    return invoices_build([(contract_id, billing_date)], run=run, now=now, actor=actor, catalog=catalog)[
        (contract_id, billing_date)
    ]


Request = tuple[int, date]  # (contract id, billing date)


@dataclass
class BuildContext:
    """What the invoices of a set of contracts need, read with one query per kind of record for all of
    them, AFTER their rows are locked: nothing read here can be billed by anyone else before the
    caller's transaction ends (every invoice build locks its contract first). ``catalog``: where plans,
    products, meters and the default legal entity are read, once for the whole build."""

    watermark: datetime
    catalog: Catalog
    contracts: dict[int, Contract]
    lines: dict[int, list[ContractLine]]
    claimed: dict[int, set[tuple]]
    pending: dict[int, list[PendingCharge]]  # unbilled, up to the latest billing date requested
    existing: dict[Request, Invoice]
    finalized: set[int]  # contracts with a finalized or paid invoice (late usage is possible)
    redemptions: dict[int, list[CouponRedemption]]
    usage: PreparedUsage


def build_context(requests: Sequence[Request], *, watermark: datetime, catalog: Catalog) -> BuildContext:
    """Lock the requested contracts (one statement, in id order: two batches wait for each other
    instead of deadlocking) and load everything their invoices read."""
    ids = sorted({contract_id for contract_id, _ in requests})
    dates = sorted({billing_date for _, billing_date in requests})
    contracts = {
        c.pk: c
        for c in Contract.objects.select_for_update(of=("self",))
        .select_related("customer", "customer__legal_entity")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    lines, claimed = lines_and_claims(ids)
    pending: dict[int, list[PendingCharge]] = defaultdict(list)
    for charge in (
        PendingCharge.objects.select_for_update(of=("self",))
        .select_related("contract_line", "contract_line__product")
        .filter(contract_id__in=ids, invoice_line__isnull=True, service_start__lte=dates[-1])
    ):
        pending[charge.contract_id].append(charge)
    existing = {
        (invoice.contract_id, invoice.billing_date): invoice
        for invoice in Invoice.objects.select_for_update().filter(contract_id__in=ids, billing_date__in=dates)
    }
    finalized = set(
        Invoice.objects.filter(contract_id__in=ids, status__in=FINAL_STATUSES)
        .values_list("contract_id", flat=True)
        .distinct()
    )
    redemptions: dict[int, list[CouponRedemption]] = defaultdict(list)
    for redemption in CouponRedemption.objects.filter(
        contract_id__in=ids, applied_from__lte=dates[-1]
    ).select_related("coupon"):
        redemptions[redemption.contract_id].append(redemption)
    return BuildContext(
        watermark=watermark,
        catalog=catalog,
        contracts=contracts,
        lines=lines,
        claimed=claimed,
        pending=pending,
        existing=existing,
        finalized=finalized,
        redemptions=redemptions,
        usage=PreparedUsage(received_through=watermark, catalog=catalog),
    )


@dataclass
class _Due:
    """What one (contract, billing date) has to bill, before pricing."""

    contract: Contract
    billing_date: date
    items: list[DueItem]
    pending: list[PendingCharge]
    existing: Invoice | None


@dataclass
class InvoiceDraft:
    """One invoice priced in memory, written by :func:`write_drafts`."""

    invoice: Invoice  # new (not saved) or the existing draft, totals set
    topped_up: bool  # an existing draft gets the new lines
    claims: list[BillingClaim]
    lines: list[InvoiceLine]  # new lines, discounts included, in position order
    consumed: list[tuple[PendingCharge, InvoiceLine]]  # pending charges and their proration lines
    changes: dict  # the audit event's


def _due(ctx: BuildContext, contract_id: int, billing_date: date) -> _Due | None:
    contract = ctx.contracts.get(contract_id)
    if contract is None:
        raise Contract.DoesNotExist(f"Contract {contract_id} does not exist.")
    if contract.status not in BILLABLE_CONTRACT_STATUSES:
        return None
    items = [
        i
        for i in contract_due_items(
            contract,
            as_of=billing_date,
            lines=ctx.lines[contract_id],
            claimed=ctx.claimed[contract_id],
            catalog=ctx.catalog,
        )
        if i.billing_date == billing_date
    ]
    pending = [c for c in ctx.pending[contract_id] if c.service_start <= billing_date]
    existing = ctx.existing.get((contract_id, billing_date))
    if existing is not None and existing.status != Invoice.Status.DRAFT:
        if items or pending:
            raise Conflict(
                f"Invoice {existing.number} for {billing_date} is already finalized; "
                "new items for that date need a new billing date (run billing again later)."
            )
        return None
    return _Due(contract, billing_date, items, pending, existing)


def _draft(ctx: BuildContext, due: _Due, *, run) -> InvoiceDraft | None:
    contract, billing_date, items, pending, existing = (
        due.contract,
        due.billing_date,
        due.items,
        due.pending,
        due.existing,
    )
    watermark = ctx.watermark
    has_final = contract.pk in ctx.finalized
    if not items and not pending and existing is None:
        probe = Invoice(contract=contract, customer=contract.customer, billing_date=billing_date)
        if not late_usage_adjustments(
            invoice=probe,
            contract=contract,
            watermark=watermark,
            position=0,
            has_final=has_final,
            catalog=ctx.catalog,
        ):
            return None
    customer = contract.customer
    invoice = existing or Invoice(
        customer=customer,
        contract=contract,
        legal_entity=customer.legal_entity or ctx.catalog.default_legal_entity(),
        currency=contract.currency,
        billing_date=billing_date,
        period_start=billing_date,
        period_end=billing_date,
        billing_run=run,
        usage_watermark=watermark,
        tax_rate=customer.tax_rate,
    )
    lines_by_id = {line.pk: line for line in ctx.lines[contract.pk]}
    kept = [] if existing is None else list(existing.lines.all())  # before new lines: position below
    position = len(kept)
    claims = [
        BillingClaim(
            contract_line_id=item.line_id,
            period_start=item.period.start,
            period_end=item.period.end,
            kind=item.kind,
            invoice=invoice,
        )
        for item in items
    ]
    usage = ctx.usage.source(customer)
    new_lines: list[InvoiceLine] = []
    for item in items:
        new_lines.extend(
            lines_for_item(
                invoice=invoice,
                contract=contract,
                line=lines_by_id[item.line_id],
                item=item,
                watermark=watermark,
                position=position + len(new_lines),
                usage=usage,
                catalog=ctx.catalog,
            )
        )
    consumed = []
    for charge in pending:
        record = InvoiceLine(
            invoice=invoice,
            contract_line=charge.contract_line,
            kind=InvoiceLine.Kind.PRORATION,
            product=charge.contract_line.product if charge.contract_line else None,
            charge_code=charge.kind,
            description=charge.description,
            quantity=Decimal(1),
            amount=charge.amount,
            exact_amount=charge.exact_amount,
            service_start=charge.service_start,
            service_end=charge.service_end,
            position=position + len(new_lines),
            breakdown=[
                {"description": charge.description, "amount": str(charge.exact_amount or charge.amount)}
            ],
        )
        new_lines.append(record)
        consumed.append((charge, record))
    new_lines.extend(
        late_usage_adjustments(
            invoice=invoice,
            contract=contract,
            watermark=watermark,
            position=position + len(new_lines),
            has_final=has_final,
            catalog=ctx.catalog,
        )
    )
    # A top-up replaces the draft's discounts (recomputed on everything below).
    current = [ln for ln in kept if ln.kind != InvoiceLine.Kind.DISCOUNT] + new_lines
    discounts = coupon_lines(
        invoice=invoice,
        contract=contract,
        lines=current,
        position=len(current),
        redemptions=ctx.redemptions[contract.pk],
    )
    invoice.usage_watermark = watermark
    set_totals(invoice, [*current, *discounts])
    changes = {
        "contract": contract.number,
        "billing_date": billing_date,
        "items": [f"{i.kind}:{i.line_id}:{i.period.start}" for i in items],
        "lines": len(new_lines),
        "subtotal": invoice.subtotal,
        "total": invoice.total,
    }
    return InvoiceDraft(invoice, existing is not None, claims, [*new_lines, *discounts], consumed, changes)


def write_drafts(drafts: Sequence[InvoiceDraft], *, actor=None) -> None:
    """Write priced invoices with one statement per table for all of them (invoices, claims, lines,
    pending charges, audit events). Must run in the transaction that locked their contracts."""
    if not drafts:
        return
    topped_up = [d.invoice for d in drafts if d.topped_up]
    if topped_up:
        InvoiceLine.objects.filter(invoice__in=topped_up, kind=InvoiceLine.Kind.DISCOUNT).delete()
        for invoice in topped_up:
            invoice.save()
    Invoice.objects.bulk_create([d.invoice for d in drafts if not d.topped_up])
    BillingClaim.objects.bulk_create([claim for d in drafts for claim in d.claims])
    InvoiceLine.objects.bulk_create([line for d in drafts for line in d.lines])
    consumed = []
    for d in drafts:
        for charge, record in d.consumed:
            charge.invoice_line = record
            consumed.append(charge)
    if consumed:
        PendingCharge.objects.bulk_update(consumed, ["invoice_line"])
    audit_record_many(
        [
            {
                "actor": actor or "billing",
                "action": AuditAction.INVOICE_TOPPED_UP if d.topped_up else AuditAction.INVOICE_DRAFTED,
                "obj": d.invoice,
                "changes": d.changes,
            }
            for d in drafts
        ]
    )


def invoices_build(
    requests: Sequence[Request],
    *,
    run=None,
    now: datetime | None = None,
    actor=None,
    errors: dict[Request, Exception] | None = None,
    catalog: Catalog | None = None,
) -> dict[Request, Invoice | None]:
    """:func:`invoice_build` for several (contract, billing date) requests, at most one per contract,
    inside the caller's transaction: the contracts are locked and read with one query per kind of
    record, the usage of all of them is aggregated and fingerprinted with one query per meter and
    filter group, every invoice is priced in memory, then all are written with one statement per
    table. Returns each request's invoice (None: nothing to bill). ``catalog``: the caller's, when it
    reads the catalog once for several builds (a billing-run worker); a fresh one otherwise.

    With ``errors``, a request whose pricing raises is left out and its exception stored there (the
    others are built); a database error always propagates — the transaction can no longer be used, so
    the caller rolls back (to a savepoint) and builds the requests one at a time."""
    if len({contract_id for contract_id, _ in requests}) != len(requests):
        raise ValueError("invoices_build takes at most one billing date per contract.")
    if not connection.in_atomic_block:
        raise TransactionManagementError("invoices_build must run inside a transaction.")
    results: dict[Request, Invoice | None] = dict.fromkeys(requests)
    if not requests:
        return results

    def guarded(request: Request, compute):
        if errors is None:
            return compute()
        try:
            return compute()
        except DatabaseError:
            raise
        except Exception as exc:  # noqa: BLE001 - the caller parks the request with its message
            errors[request] = exc
            return None

    ctx = build_context(requests, watermark=usage_watermark(now), catalog=catalog or Catalog())
    dues: dict[Request, _Due] = {}
    for request in requests:
        due = guarded(request, lambda r=request: _due(ctx, *r))
        if due is not None:
            dues[request] = due
    questions: list[tuple] = []
    for due in dues.values():
        lines_by_id = {line.pk: line for line in ctx.lines[due.contract.pk]}
        for item in due.items:
            try:
                questions.extend(
                    usage_questions(
                        contract=due.contract, line=lines_by_id[item.line_id], item=item, catalog=ctx.catalog
                    )
                )
            except DatabaseError:
                raise
            except Exception:  # noqa: BLE001, S110 - not prepared: the pricing below reports it
                pass
    ctx.usage.prefetch(questions)
    drafts = []
    for request, due in dues.items():
        draft = guarded(request, lambda d=due: _draft(ctx, d, run=run))
        if draft is not None:
            drafts.append(draft)
            results[request] = draft.invoice
    write_drafts(drafts, actor=actor)
    return results
