"""The contract page's ramp section (issue 17 §5, accounting.md §5a): for each ramp line, its steps
with the invoices the contract prices for them next to the revenue the schedule recognizes over the
same days, and the contract asset or deferred revenue left at each step's end. Shown on billing's
contract page through ``billing.contracts.extensions.register_contract_panel`` (billing never imports
revrec)."""

from __future__ import annotations

from django.template.loader import render_to_string

from revops.formatting import money, unit_price
from revrec.reports.ramp import contract_ramps

POSITIONS = {
    "contract_asset": "contract asset (unbilled receivable)",
    "contract_liability": "deferred revenue (contract liability)",
    "none": "nil",
}


def ramp_rows(contract) -> list[dict]:
    c = contract.currency
    out = []
    for ramp in contract_ramps(contract):
        steps = []
        for step in ramp["steps"]:
            price = (
                f"{unit_price(step['unit_price'], c)} per unit"
                if step["unit_price"] is not None
                else f"{money(step['amount'], c)} per period"
            )
            steps.append(
                {
                    **step,
                    "m_price": price,
                    "m_billing": money(step["billing"], c),
                    "m_revenue": money(step["revenue"], c),
                    "m_difference": money(step["difference"], c),
                    "m_balance": money(abs(step["balance_at_end"]), c),
                    "m_position": POSITIONS[step["position_at_end"]],
                    "m_billed": money(step["billed"], c),
                    "m_recognized": money(step["recognized"], c),
                }
            )
        out.append(
            {
                **ramp,
                "steps": steps,
                "m_allocated": money(ramp["allocated_amount"], c)
                if ramp["allocated_amount"] is not None
                else "",
                "m_billing_total": money(ramp["billing_total"], c),
                "m_revenue_total": money(ramp["revenue_total"], c),
            }
        )
    return out


def ramp_panel(contract) -> str:
    ramps = ramp_rows(contract)
    if not ramps:
        return ""
    return render_to_string("revrec/_ramp_panel.html", {"contract": contract, "ramps": ramps})
