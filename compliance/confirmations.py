"""What the confirmation steps of the close say (issue 16 §2): closing a period, and finalizing the
drafts the month end points at (count and totals first, as the review queue's bulk finalize does)."""

from __future__ import annotations

from django.urls import reverse

from revops.core.confirm import Confirmation
from revops.formatting import money

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
    back = reverse("compliance-month-end", args=[key])
    if code == "close":
        return close_confirmation(key, back=back)
    from billing.invoicing.finalization import finalization_preview
    from compliance.month_end import finalize_filter

    preview = finalization_preview(filters=finalize_filter(key))
    count = preview["count"]
    return Confirmation(
        title=f"Finalize {count} draft{'s' if count != 1 else ''} of {key}?",
        subject=f"Month end {key}",
        consequence=(
            "Finalizing cannot be undone: each invoice takes the next gapless number, draws prepaid "
            "credits and posts its journal entry; a finalized invoice can only be voided or credited."
            + (f" {preview['held']} of them wait for an approval and stay drafts." if preview["held"] else "")
        ),
        lines=[
            (
                f"{row['currency']} · {row['n']} draft{'s' if row['n'] != 1 else ''}",
                money(row["total"], row["currency"]),
            )
            for row in preview["totals"]
        ],
        lines_title="Drafts and their total per currency",
        button=f"Finalize {count} draft{'s' if count != 1 else ''}",
        back=back,
    )
