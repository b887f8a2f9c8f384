"""Reads of contracts: the current revision of each line, the snapshot a contract version records, and
the price-override request waiting on a contract."""

from __future__ import annotations

from billing.contracts.models import Contract, ContractLine
from billing.contracts.overrides import KIND as OVERRIDE_KIND
from billing.contracts.variable import FIELDS as VARIABLE_FIELDS
from revops.jsonsafe import jsonable


def current_lines(contract: Contract) -> dict[str, ContractLine]:
    latest: dict[str, ContractLine] = {}
    for line in contract.lines.select_related("product", "plan").order_by("key", "revision"):
        latest[line.key] = line
    return latest


def contract_snapshot(contract: Contract) -> dict:
    """The contract as a version records it (append-only history): its terms and every line revision."""
    return jsonable(
        {
            "number": contract.number,
            "status": contract.status,
            "currency": contract.currency,
            "start_date": contract.start_date,
            "end_date": contract.end_date,
            "billing_anchor": contract.billing_anchor,
            "terminated_on": contract.terminated_on,
            "transaction_price": contract.transaction_price,
            "lines": [
                {
                    "key": ln.key,
                    "revision": ln.revision,
                    "product": ln.product.code,
                    "plan": ln.plan.code if ln.plan_id else None,
                    "billing": ln.billing,
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price,
                    "amount": ln.amount,
                    "ssp": ln.ssp,
                    "recognition": ln.recognition,
                    "service_start": ln.service_start,
                    "service_end": ln.service_end,
                    **({f: getattr(ln, f) for f in VARIABLE_FIELDS} if ln.variable_method else {}),
                    **({"progress_measure": ln.progress_measure} if ln.progress_measure != "output" else {}),
                    **({"ramp": ln.ramp} if ln.ramp else {}),
                }
                for ln in contract.lines.select_related("product", "plan")
            ],
        }
    )


def pending_override(contract: Contract):
    """The price-override approval waiting on CONTRACT, if any."""
    from revops.core.approvals.models import Approval

    return Approval.objects.filter(
        kind=OVERRIDE_KIND,
        object_type="contracts.contract",
        object_id=str(contract.pk),
        status=Approval.Status.PENDING,
    ).first()
