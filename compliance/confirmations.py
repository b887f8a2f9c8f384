"""What the confirmation steps of the close say (issue 16 §2): closing a period. Finalizing the drafts
the month end points at is confirmed by the review queue's own bulk-finalize step (count, total per
currency and the digest of the exact drafts: ``billing.views.invoices.finalize_confirmation``)."""

from __future__ import annotations

from django.urls import reverse

from revops.core.confirm import Confirmation

# Month-end actions that cannot be undone and so are confirmed first.
CONFIRMED_STEPS = ("close", "finalize")


def close_confirmation(key: str, *, back: str | None = None) -> Confirmation:
    return Confirmation(
        title=f"Ask an approver to close {key}?",
        subject=f"Period {key}",
        consequence=(
            f"When an approver other than you approves this request, {key} closes and nothing posts into "
            "it any more: its balances and every report as of it are frozen (a snapshot of the ledger is "
            "taken), and anything dated in it later — a payment, a credit note, late usage — posts into "
            "the first open period as a correction. Reopening needs a request and another person's "
            "approval. Until it is decided you can withdraw the request."
        ),
        button=f"Ask to close {key}",
        back=back or reverse("compliance-period", args=[key]),
    )


def month_end_confirmation(key: str, code: str) -> Confirmation:
    """The month end's confirmation of ``close``. Its ``finalize`` is confirmed by the review queue's
    bulk-finalize step (``billing.views.invoices.finalize_confirmation``: the drafts' count, total per
    currency and digest), not here."""
    if code != "close":
        raise ValueError(f"The month end confirms its close here, not {code!r}.")
    return close_confirmation(key, back=reverse("compliance-month-end", args=[key]))
