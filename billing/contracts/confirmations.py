"""What the confirmation steps of a contract's irreversible actions say (issue 16 §2): activation makes
the contract binding, termination ends service on the chosen day."""

from __future__ import annotations

from datetime import date

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
