"""Revenue recognition consumes what billing announces on the outbox (house style: billing never
imports revrec). Invoices, voids, credit notes, payments (and their reversals) and prepaid credit grants post inside the publishing transaction;
contract activation (and a renewal, for its new term) allocates and queues schedule generation after
commit (the contracts activated in one transaction together, generated in batches by the workers)."""

from __future__ import annotations

from django.utils import timezone

from revops.core.models import OutboxEvent

CONSUMER = "revrec"
TOPICS = (
    "invoice.finalized",
    "invoice.voided",
    "credit_note.issued",
    "payment.received",
    "payment.reversed",
    "credit_grant.created",
    "credit_grant.expired",
    "contract.activated",
    "contract.amended",
    "contract.terminated",
    "contract.renewed",
)


def handle(event: OutboxEvent) -> None:
    from billing.contracts.models import Contract
    from billing.models import CreditExpiry, CreditGrant, CreditNote, Invoice, Payment
    from revrec.services import postings
    from revrec.services.obligations import obligations_create
    from revrec.services.postings import invoices
    from revrec.services.schedule_batches import schedules_generate_later

    if event.topic == "invoice.finalized":
        invoices.post_invoice(Invoice.objects.get(pk=event.object_id))
    elif event.topic == "invoice.voided":
        invoice = Invoice.objects.get(pk=event.object_id)
        invoices.post_invoice_void(invoice, day=timezone.localdate(invoice.voided_at))
    elif event.topic == "credit_note.issued":
        postings.post_credit_note(CreditNote.objects.get(pk=event.object_id))
    elif event.topic == "payment.received":
        postings.post_payment(Payment.objects.get(pk=event.object_id))
    elif event.topic == "payment.reversed":
        from billing.models import PaymentReversal
        from revrec.services.payment_reversals import post_payment_reversal

        post_payment_reversal(PaymentReversal.objects.get(pk=event.object_id))
    elif event.topic == "credit_grant.created":
        postings.post_credit_grant(CreditGrant.objects.get(pk=event.object_id))
    elif event.topic == "credit_grant.expired":
        postings.post_credit_expiry(CreditExpiry.objects.get(pk=event.object_id))
    elif event.topic == "contract.activated":
        contract = Contract.objects.get(pk=event.object_id)
        obligations_create(contract=contract, actor=_actor(event))
        # Sent when the transaction commits, with every other contract activated in it (batched).
        schedules_generate_later(contract_id=contract.pk, actor_id=event.payload.get("actor_id"))
    elif event.topic == "contract.renewed":
        from datetime import date

        from revrec.services.renewals import renewal_obligations_create

        contract = Contract.objects.get(pk=event.object_id)
        renewal_obligations_create(
            contract=contract,
            keys=list(event.payload.get("lines") or []),
            term_start=date.fromisoformat(str(event.payload["term_start"])),
            actor=_actor(event),
        )
        # A renewal is a new contract at its own prices (accounting.md §11): its schedules as at activation.
        schedules_generate_later(contract_id=contract.pk, actor_id=event.payload.get("actor_id"))
    elif event.topic in ("contract.amended", "contract.terminated"):
        from revrec.services.modifications import modification_propose

        modification_propose(contract=Contract.objects.get(pk=event.object_id), actor=_actor(event))


def handle_many(events: list[OutboxEvent]) -> None:
    """The events of one ``outbox_publish_many``: finalized invoices are posted together
    (:func:`revrec.services.postings.invoices.post_invoices`), anything else one event at a time."""
    from billing.models import Invoice
    from revrec.services.postings import invoices

    finalized = [event for event in events if event.topic == "invoice.finalized"]
    if finalized:  # post_invoices reads the invoices itself: only their ids are passed
        invoices.post_invoices([Invoice(pk=int(event.object_id)) for event in finalized])
    for event in events:
        if event.topic != "invoice.finalized":
            handle(event)


def _actor(event: OutboxEvent):
    from django.contrib.auth import get_user_model

    actor_id = event.payload.get("actor_id")
    return get_user_model().objects.filter(pk=actor_id).first() if actor_id else "revrec"


def consume_missed() -> int:
    from revops.core.outbox import outbox_consume

    return outbox_consume(consumer=CONSUMER, topics=TOPICS, handle=handle)
