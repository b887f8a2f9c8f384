"""The ledger side of a payment reversal (billing.invoicing.payments): the payment's entry reversed,
Dr AR / Cr Cash, through the one posting function (revrec.services.ledger.journal_entry_post), so it
never lands in a closed period — dated in one, it posts into the first open period as a correction
(accounting.md §9)."""

from __future__ import annotations

from billing.models import PaymentReversal
from revrec.models import JournalEntry
from revrec.services.ledger import Draft, account, journal_entry_post


def post_payment_reversal(reversal: PaymentReversal) -> JournalEntry | None:
    """Post the reversing entry of ``reversal`` (None when already posted). It names the payment's
    own entry as the one it reverses."""
    reversal = PaymentReversal.objects.select_related("payment", "invoice", "invoice__contract").get(
        pk=reversal.pk
    )
    payment, invoice = reversal.payment, reversal.invoice
    contract = invoice.contract
    memo = f"Payment on {invoice.number} reversed: {reversal.reason}"[:300]
    draft = Draft()
    draft.dr(account("ar"), reversal.amount, contract=contract, memo=f"Invoice {invoice.number}")
    draft.cr(account("cash"), reversal.amount, contract=contract, memo=memo)
    return journal_entry_post(
        draft=draft,
        day=reversal.date,
        source=JournalEntry.Source.REVERSAL,
        source_type="billing.payment",  # the document behind it, as for the payment's own entry
        source_id=payment.pk,
        source_key=f"payment-reversal:{reversal.pk}",
        memo=memo,
        currency=reversal.currency,
        contract=contract,
        reverses=JournalEntry.objects.filter(source_key=f"payment:{payment.pk}").first(),
    )
