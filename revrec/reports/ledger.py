"""The ledger browser's reads: the trial balance, filtered journal lines (every drill-down link is a filter), their
totals, and an entry with its source document."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from billing.models.invoices import draft_reference
from revops.core.ids import parse_id
from revops.errors import ValidationFailed
from revrec.models import Account, JournalEntry, JournalLine, ScheduleLine
from revrec.reports.common import (
    BILLING_SOURCES,
    POSITION_ROLES,
    TRIAL_BALANCE_BASIS,
    ZERO,
    _q,
    parse_period,
    parse_range,
    resolve_currency,
)

# --- ledger: trial balance, lines, entries ----------------------------------------------------------------


def trial_balance(*, start: str, end: str, currency: str) -> dict:
    start, end = parse_range(start, end)
    rows = (
        JournalLine.objects.filter(entry__currency=currency, entry__period__lt=end)
        .values("account_id")
        .annotate(
            od=Sum("debit", filter=Q(entry__period__lt=start)),
            oc=Sum("credit", filter=Q(entry__period__lt=start)),
            d=Sum("debit", filter=Q(entry__period__gte=start)),
            c=Sum("credit", filter=Q(entry__period__gte=start)),
        )
    )
    accounts = Account.objects.in_bulk([r["account_id"] for r in rows])
    out = []
    for r in rows:
        acct = accounts[r["account_id"]]
        opening = _q((r["od"] or ZERO) - (r["oc"] or ZERO), currency)
        debits, credits = _q(r["d"] or ZERO, currency), _q(r["c"] or ZERO, currency)
        out.append(
            {
                "account": acct,
                "code": acct.code,
                "name": acct.name,
                "role": acct.role,
                "opening": opening,
                "debits": debits,
                "credits": credits,
                "closing": opening + debits - credits,
            }
        )
    out.sort(key=lambda a: a["code"])
    totals = {k: sum((a[k] for a in out), ZERO) for k in ("opening", "debits", "credits", "closing")}
    return {
        "start": start,
        "end": end,
        "currency": currency,
        "basis": TRIAL_BALANCE_BASIS,
        "accounts": out,
        "totals": totals,
        "balanced": totals["debits"] == totals["credits"]
        and totals["closing"] == 0
        and totals["opening"] == 0,
    }


@dataclass
class LedgerFilter:
    """What the ledger browser and every drill-down link can ask for (all optional)."""

    currency: str | None = None
    account: str | None = None  # account code
    roles: tuple[str, ...] = ()
    period: str | None = None
    start: str | None = None
    end: str | None = None  # exclusive
    contract: int | None = None
    obligation: int | None = None
    po_key: str | None = None
    product: str | None = None  # product code
    customer: int | None = None
    kind: str | None = None  # billing | recognition
    billed_in: str | None = None  # obligations with billing posted in that period
    source: str | None = None
    entry: int | None = None

    KINDS = ("billing", "recognition")

    @classmethod
    def from_params(cls, params) -> LedgerFilter:
        def text(name):
            value = (params.get(name) or "").strip()
            return value or None

        def integer(name):
            value = text(name)
            if value is None:
                return None
            if parse_id(value) is None:
                raise ValidationFailed(f"{name} must be a number.", field=name)
            return int(value)

        def period(name):
            value = text(name)
            return parse_period(value, field=name) if value else None

        roles = tuple(r for r in (text("roles") or "").split(",") if r)
        kind = text("kind")
        if kind and kind not in cls.KINDS:
            raise ValidationFailed("kind must be 'billing' or 'recognition'.", field="kind")
        currency = text("currency")
        return cls(
            currency=resolve_currency(currency) if currency else None,
            account=text("account"),
            roles=roles,
            period=period("period"),
            start=period("start"),
            end=period("end"),
            contract=integer("contract"),
            obligation=integer("obligation"),
            po_key=text("po_key"),
            product=text("product"),
            customer=integer("customer"),
            kind=kind,
            billed_in=period("billed_in"),
            source=text("source"),
            entry=integer("entry"),
        )

    def as_params(self) -> dict:
        out = {}
        for name in (
            "currency", "account", "period", "start", "end", "contract", "obligation", "po_key",
            "product", "customer", "kind", "billed_in", "source", "entry",
        ):  # fmt: skip
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value
        if self.roles:
            out["roles"] = ",".join(self.roles)
        return out

    def is_empty(self) -> bool:
        return not {k: v for k, v in self.as_params().items() if k != "currency"}


def ledger_lines(f: LedgerFilter):
    """Journal lines matching a filter, newest entry first, with what the browser shows."""
    qs = JournalLine.objects.select_related("entry", "account", "contract", "obligation", "product")
    if f.currency:
        qs = qs.filter(entry__currency=f.currency)
    if f.account:
        qs = qs.filter(account__code=f.account)
    if f.roles:
        qs = qs.filter(account__role__in=f.roles)
    if f.period:
        qs = qs.filter(entry__period=f.period)
    if f.start:
        qs = qs.filter(entry__period__gte=f.start)
    if f.end:
        qs = qs.filter(entry__period__lt=f.end)
    if f.contract:
        qs = qs.filter(contract_id=f.contract)
    if f.obligation:
        qs = qs.filter(obligation_id=f.obligation)
    if f.po_key:
        qs = qs.filter(obligation__key=f.po_key)
    if f.product:
        qs = qs.filter(product__code=f.product)
    if f.customer:
        qs = qs.filter(contract__customer_id=f.customer)
    if f.kind == "billing":
        qs = qs.filter(entry__source_type__in=BILLING_SOURCES)
    elif f.kind == "recognition":
        qs = qs.exclude(entry__source_type__in=BILLING_SOURCES).exclude(entry__source_type="billing.payment")
    if f.billed_in:
        billed_pos = JournalLine.objects.filter(
            entry__period=f.billed_in,
            entry__source_type__in=BILLING_SOURCES,
            account__role__in=POSITION_ROLES,
            obligation__isnull=False,
        ).values("obligation__contract_id", "obligation__key")
        pairs = {(r["obligation__contract_id"], r["obligation__key"]) for r in billed_pos}
        condition = Q(pk__in=[])
        for contract_id, key in pairs:
            condition |= Q(obligation__contract_id=contract_id, obligation__key=key)
        qs = qs.filter(condition)
    if f.source:
        qs = qs.filter(entry__source=f.source)
    if f.entry:
        qs = qs.filter(entry_id=f.entry)
    return qs.order_by("-entry__period", "-entry_id", "id")


def ledger_totals(qs) -> dict:
    totals = qs.order_by().aggregate(d=Sum("debit"), c=Sum("credit"), n=Count("id"))
    debit, credit = totals["d"] or ZERO, totals["c"] or ZERO
    return {"debit": debit, "credit": credit, "net": debit - credit, "count": totals["n"]}


def entry_source(entry: JournalEntry) -> dict:
    """The business document behind an entry: {type, id, label, invoice_id, contract_id}."""
    from billing.contracts.models import Contract
    from billing.models import CreditNote, Invoice, Payment

    out = {
        "type": entry.source_type,
        "id": entry.source_id,
        "label": "",
        "invoice_id": None,
        "contract_id": None,
    }
    pk = int(entry.source_id) if str(entry.source_id).isdigit() else None
    if pk is None:
        return out
    if entry.source_type == "billing.invoice":
        inv = Invoice.objects.filter(pk=pk).values("number", "status").first()
        out["invoice_id"] = pk
        out["label"] = (
            f"Invoice {inv['number'] or f'draft {draft_reference(pk)}'}"
            if inv
            else f"Invoice #{pk} (missing)"
        )
    elif entry.source_type == "billing.creditnote":
        note = CreditNote.objects.filter(pk=pk).values("number", "invoice_id", "invoice__number").first()
        if note:
            out["invoice_id"] = note["invoice_id"]
            out["label"] = f"Credit note {note['number']} on invoice {note['invoice__number']}"
    elif entry.source_type == "billing.payment":
        pay = Payment.objects.filter(pk=pk).values("invoice_id", "invoice__number", "reference").first()
        if pay:
            out["invoice_id"] = pay["invoice_id"]
            out["label"] = f"Payment {pay['reference'] or f'#{pk}'} on invoice {pay['invoice__number']}"
    elif entry.source_type == "contracts.contract":
        number = Contract.objects.filter(pk=pk).values_list("number", flat=True).first()
        out["contract_id"] = pk
        out["label"] = f"Contract {number}" if number else f"Contract #{pk}"
    return out


def entry_detail(entry_id: int) -> dict | None:
    from billing.models import InvoiceLine

    entry = (
        JournalEntry.objects.select_related("contract", "contract__customer", "reverses")
        .filter(pk=entry_id)
        .first()
    )
    if entry is None:
        return None
    lines = list(entry.lines.select_related("account", "contract", "obligation", "product").order_by("id"))
    schedule_lines = list(
        ScheduleLine.objects.filter(posted_entry=entry)
        .select_related("schedule__obligation")
        .order_by("schedule__obligation__key", "period")
    )
    usage_lines = list(
        InvoiceLine.objects.filter(recognition__entry=entry)
        .select_related("invoice", "product")
        .order_by("invoice_id", "id")
    )
    return {
        "entry": entry,
        "lines": lines,
        "debits": sum((ln.debit for ln in lines), ZERO),
        "credits": sum((ln.credit for ln in lines), ZERO),
        "source": entry_source(entry),
        "reversed_by": JournalEntry.objects.filter(reverses=entry).first(),
        "schedule_lines": schedule_lines,
        "usage_lines": usage_lines,
    }
