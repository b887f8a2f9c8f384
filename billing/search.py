"""What billing adds to the global search (revops.core.search): customers (name, external id),
contracts (C-number), invoices (number or draft reference), credit notes and plans; the document
resolver behind the audit trail's number filter; and human names for billing records in audit rows.

Numbers match exactly: "353" is INV-000353 (sequence 353), CN-000353 or C-00353 — never the record
whose internal id is 353. A draft is found by its draft reference ("D-000353"), or by the bare
number while it is still a draft, and is always shown as "D-…", never as an invoice number."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from billing.models import CreditNote, Invoice, Payment, Plan
from billing.models.invoices import DRAFT_PREFIX, draft_reference
from revops.core.ids import parse_ids
from revops.core.search.query import Query
from revops.core.search.registry import (
    DocumentTrail,
    Hit,
    Link,
    Provider,
    register_labeller,
    register_provider,
    register_resolver,
)
from revops.formatting import day, money
from revops.parties.models import Customer

DRAFT = DRAFT_PREFIX.rstrip("-")  # "D"
CONTRACT = "C"
CREDIT_NOTE = "CN"


def _trail_link(number: str) -> Link:
    return Link("Audit trail", f"{reverse('audit-trail')}?{urlencode({'ref': number})}", area="audit")


# --- matching -----------------------------------------------------------------------------------


def invoice_matches(query: Query):
    """Invoices whose number (or, with the D- prefix, draft reference) is exactly the query."""
    qs = Invoice.objects.select_related("customer", "contract")
    if not query.is_number:
        return qs.filter(number__iexact=query.text) if query.text else qs.none()
    if query.has_prefix(DRAFT):
        return qs.filter(pk=query.sequence)
    if query.bare_number:
        return qs.filter(
            Q(sequence=query.sequence, number__isnull=False) | Q(pk=query.sequence, status="draft")
        )
    return qs.filter(
        Q(number__iexact=query.text) | Q(sequence=query.sequence, number__istartswith=f"{query.prefix}-")
    )


def credit_note_matches(query: Query):
    qs = CreditNote.objects.select_related("invoice__customer")
    if query.is_number and (query.bare_number or query.has_prefix(CREDIT_NOTE)):
        return qs.filter(number__iexact=f"{CREDIT_NOTE}-{query.sequence:06d}")
    return qs.filter(number__iexact=query.text) if query.text else qs.none()


def contract_matches(query: Query):
    from billing.contracts.models import Contract

    qs = Contract.objects.select_related("customer")
    if query.is_number and (query.bare_number or query.has_prefix(CONTRACT)):
        return qs.filter(number__iexact=f"{CONTRACT}-{query.sequence:05d}")
    return qs.filter(number__iexact=query.text) if query.text else qs.none()


# --- providers ----------------------------------------------------------------------------------


def find_invoices(query: Query, limit: int) -> list[Hit]:
    hits = []
    for inv in invoice_matches(query).order_by("-billing_date", "-id")[:limit]:
        shown = inv.number or inv.draft_reference
        if inv.number and query.has_prefix(DRAFT):
            note = f" · finalized from draft {inv.draft_reference}"
        else:
            note = ""
        links = [_trail_link(shown)]
        if inv.status == Invoice.Status.FINALIZED and inv.balance_due > 0:
            links.insert(
                0, Link("Record payment", reverse("invoice", args=[inv.pk]) + "#payment", write=True)
            )
        hits.append(
            Hit(
                title=shown,
                url=reverse("invoice", args=[inv.pk]),
                subtitle=f"{'Draft invoice' if not inv.number else 'Invoice'} · {inv.customer.name} · "
                f"contract {inv.contract.number} · billed {day(inv.billing_date)} · "
                f"{money(inv.total, inv.currency)}{note}",
                badge=inv.get_status_display(),
                exact=True,
                links=links,
            )
        )
    return hits


def find_credit_notes(query: Query, limit: int) -> list[Hit]:
    return [
        Hit(
            title=note.number,
            url=reverse("invoice", args=[note.invoice_id]) + "#credit-notes",
            subtitle=f"Credit note · {note.invoice.customer.name} · on {note.invoice.number} · "
            f"issued {day(note.issue_date)} · {money(note.total, note.currency)}",
            exact=True,
            links=[_trail_link(note.number)],
        )
        for note in credit_note_matches(query)[:limit]
    ]


def find_contracts(query: Query, limit: int) -> list[Hit]:
    return [
        Hit(
            title=c.number,
            url=reverse("contract", args=[c.pk]),
            subtitle=f"Contract · {c.customer.name} · {day(c.start_date)} – {day(c.end_date)} · "
            f"{money(c.transaction_price, c.currency)}",
            badge=c.get_status_display(),
            exact=True,
            links=[_trail_link(c.number)],
        )
        for c in contract_matches(query)[:limit]
    ]


def find_customers(query: Query, limit: int) -> list[Hit]:
    text = query.text
    if not text:
        return []
    qs = Customer.objects.filter(Q(name__icontains=text) | Q(external_id__icontains=text))
    hits = []
    for c in qs.order_by("name", "id")[:limit]:
        exact = c.external_id.lower() == text.lower() or c.name.lower() == text.lower()
        hits.append(
            Hit(
                title=c.name,
                url=reverse("customer", args=[c.pk]),
                subtitle=f"Customer · {c.external_id} · {c.currency}",
                exact=exact,
                links=[
                    Link(
                        "Invoices",
                        f"{reverse('invoices')}?{urlencode({'status': 'all', 'customer': c.external_id})}",
                    ),
                    _trail_link(c.external_id),
                ],
            )
        )
    return hits


def find_plans(query: Query, limit: int) -> list[Hit]:
    text = query.text
    if not text or query.bare_number:
        return []
    qs = Plan.objects.filter(Q(code__icontains=text) | Q(name__icontains=text)).order_by("name", "id")
    return [
        Hit(
            title=p.name,
            url=reverse("pricing-plan", args=[p.code]),
            subtitle=f"Price plan · {p.code} · {p.get_interval_display().lower()}",
            exact=p.code.lower() == text.lower(),
        )
        for p in qs[:limit]
    ]


# --- the audit trail's number filter ------------------------------------------------------------


def invoice_refs(invoice) -> tuple[tuple[str, str], ...]:
    """The records an invoice's audit trail covers: the invoice, its payments (recorded, reversed) and
    its credit notes — the global search's "Audit trail of INV-…" and the invoice page's audit box."""
    refs = [("billing.invoice", str(invoice.pk))]
    refs += [("billing.payment", str(p.pk)) for p in invoice.payments.all()]
    refs += [("billing.creditnote", str(n.pk)) for n in invoice.credit_notes.all()]
    return tuple(refs)


def resolve_documents(query: Query) -> list[DocumentTrail]:
    trails = []
    for inv in invoice_matches(query).prefetch_related("payments", "credit_notes")[:10]:
        refs = invoice_refs(inv)
        shown = inv.number or inv.draft_reference
        kind = "Invoice" if inv.number else "Draft invoice"
        trails.append(DocumentTrail(f"{kind} {shown} · {inv.customer.name}", shown, "billing", refs))
    for note in credit_note_matches(query)[:10]:
        trails.append(
            DocumentTrail(
                f"Credit note {note.number} · {note.invoice.customer.name}",
                note.number,
                "billing",
                (("billing.creditnote", str(note.pk)),),
            )
        )
    for c in contract_matches(query)[:10]:
        trails.append(
            DocumentTrail(
                f"Contract {c.number} · {c.customer.name}",
                c.number,
                "contracts",
                (("contracts.contract", str(c.pk)),),
            )
        )
    if query.text and not query.is_number:
        for c in Customer.objects.filter(external_id__iexact=query.text)[:1]:
            trails.append(
                DocumentTrail(
                    f"Customer {c.name} ({c.external_id})",
                    c.external_id,
                    "customers",
                    (("contracts.customer", str(c.pk)),),
                )
            )
    return trails


# --- human names in audit rows ------------------------------------------------------------------


def _ints(ids: list[str]) -> list[int]:
    return parse_ids(ids)


def label_invoices(ids: list[str]) -> dict[str, str]:
    rows = Invoice.objects.filter(pk__in=_ints(ids)).values_list("pk", "number", "customer__name")
    return {
        str(pk): f"{f'Invoice {number}' if number else f'Draft invoice {draft_reference(pk)}'} · {name}"
        for pk, number, name in rows
    }


def label_credit_notes(ids: list[str]) -> dict[str, str]:
    rows = CreditNote.objects.filter(pk__in=_ints(ids)).values_list("pk", "number")
    return {str(pk): f"Credit note {number}" for pk, number in rows}


def label_payments(ids: list[str]) -> dict[str, str]:
    rows = Payment.objects.filter(pk__in=_ints(ids)).values_list("pk", "invoice__number")
    return {str(pk): f"Payment on {number}" for pk, number in rows}


def label_contracts(ids: list[str]) -> dict[str, str]:
    from billing.contracts.models import Contract

    rows = Contract.objects.filter(pk__in=_ints(ids)).values_list("pk", "number")
    return {str(pk): f"Contract {number}" for pk, number in rows}


def label_customers(ids: list[str]) -> dict[str, str]:
    rows = Customer.objects.filter(pk__in=_ints(ids)).values_list("pk", "name")
    return {str(pk): f"Customer {name}" for pk, name in rows}


def register() -> None:
    for provider in (
        Provider("invoices", "Invoices", "billing", find_invoices, order=10),
        Provider("credit_notes", "Credit notes", "billing", find_credit_notes, order=20),
        Provider("contracts", "Contracts", "contracts", find_contracts, order=30),
        Provider("customers", "Customers", "customers", find_customers, order=40),
        Provider("plans", "Price plans", "catalog", find_plans, order=50),
    ):
        register_provider(provider)
    register_resolver("billing", resolve_documents)
    register_labeller("billing.invoice", label_invoices)
    register_labeller("billing.creditnote", label_credit_notes)
    register_labeller("billing.payment", label_payments)
    register_labeller("contracts.contract", label_contracts)
    register_labeller("contracts.customer", label_customers)
