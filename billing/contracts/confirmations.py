"""What the confirmation steps of a contract's irreversible actions say (issue 16 §2): activation makes
the contract binding, termination ends service on the chosen day."""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import reverse

from billing.contracts.models import Contract
from revops.core.confirm import Confirmation
from revops.formatting import day, money


def _facts(contract: Contract) -> list[tuple[str, str]]:
    return [
        ("Customer", contract.customer.name),
        ("Term", f"{day(contract.start_date)} – {day(contract.end_date)} (end exclusive)"),
        ("Transaction price", money(contract.transaction_price, contract.currency)),
    ]


def activation_confirmation(contract: Contract) -> Confirmation:
    return Confirmation(
        title=f"Activate contract {contract.number} for {contract.customer.name}?",
        subject=contract.number,
        consequence=(
            "Activation cannot be undone. The contract becomes binding: billing runs bill what is due "
            "from its start, revenue recognition allocates its transaction price and builds its revenue "
            "schedules (an approver signs them off), and it can no longer be edited as a draft — later "
            "changes are amendments, ending it is a termination."
        ),
        facts=_facts(contract),
        button=f"Activate {contract.number}",
        back=reverse("contract", args=[contract.pk]),
    )


def termination_confirmation(contract: Contract, effective: date) -> Confirmation:
    return Confirmation(
        title=f"Terminate contract {contract.number} on {day(effective)}?",
        subject=contract.number,
        consequence=(
            f"Termination cannot be undone. From {day(effective)} nothing more is served or billed to "
            f"{contract.customer.name}; fees billed in advance past that day are credited on the next "
            "invoice, and revenue recognition proposes a contract modification for the remaining "
            "revenue (an approver signs it off)."
        ),
        facts=[*_facts(contract), ("Terminate on (first day not served)", day(effective))],
        button=f"Terminate {contract.number} on {day(effective)}",
        back=reverse("contract", args=[contract.pk]),
        danger=True,
    )


def cancellation_confirmation(contract: Contract, preview: dict) -> Confirmation:
    """``preview``: billing.contracts.services.scheduled.cancellation_preview (date and credit)."""
    at, effective, c = preview["at"], preview["effective_date"], contract.currency
    name = contract.customer.name
    if at == "now":
        credit = money(-preview["credit"], c) if preview["credit"] else money(0, c)
        consequence = (
            f"Cancelling now cannot be undone: {contract.number} is terminated today, {day(effective)}, and "
            f"nothing more is served or billed to {name}. Fees billed in advance past today are credited on "
            f"the next invoice: {credit}. Revenue recognition proposes a contract modification for the "
            "remaining revenue (an approver signs it off)."
        )
        facts = [
            *_facts(contract),
            ("Last day served", day(effective - timedelta(days=1))),
            ("Credit", credit),
        ]
        button = f"Cancel {contract.number} now"
    else:
        when = "the current billing period" if at == "period_end" else "the term"
        consequence = (
            f"{contract.number} is scheduled to end at the end of {when}: {name} is served and billed up to "
            f"{day(effective - timedelta(days=1))} and nothing after, so no credit is due. Until then the "
            "cancellation is listed on the contract and can be withdrawn; on "
            f"{day(effective)} it applies itself"
            + (
                " and revenue recognition proposes the contract modification."
                if at == "period_end"
                else " and the contract does not renew."
            )
        )
        facts = [
            *_facts(contract),
            ("Last day served", day(effective - timedelta(days=1))),
            ("Credit", money(0, c)),
        ]
        button = f"Schedule the cancellation on {day(effective)}"
    return Confirmation(
        title=f"Cancel contract {contract.number} {'now' if at == 'now' else 'on ' + day(effective)}?",
        subject=contract.number,
        consequence=consequence,
        facts=facts,
        button=button,
        back=reverse("contract", args=[contract.pk]),
        danger=True,
    )


def trial_cancel_confirmation(contract: Contract, ends_on: date, trials: list) -> Confirmation:
    priced = [t for t in trials if t.price is not None]
    paid_trial = (
        f" The trial price billed ({', '.join(money(t.price, contract.currency) for t in priced)}) stands:"
        " the trial is served to its end and recognized over its days."
        if priced
        else " The trial was free: nothing was billed and no revenue is recognized for it."
    )
    return Confirmation(
        title=f"Cancel contract {contract.number} during its trial?",
        subject=contract.number,
        consequence=(
            f"Cancelling cannot be undone. The contract ends on {day(ends_on)}, when the trial would have "
            f"converted: the paid period is never billed to {contract.customer.name} and never recognized "
            "(revenue recognition proposes the modification that removes it; an approver signs it off)."
            + paid_trial
        ),
        facts=[*_facts(contract), ("Ends on (the conversion date)", day(ends_on))],
        button=f"Cancel {contract.number} during the trial",
        back=reverse("contract", args=[contract.pk]),
        danger=True,
    )
