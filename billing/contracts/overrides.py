"""Price overrides beyond the threshold need a second person (maker-checker).

A contract line's ``unit_price`` replaces its plan's list price (billing.contracts.terms._override).
When that price is more than ``PRICE_OVERRIDE_APPROVAL_PCT`` percent (default 20) below the list
price of the plan version in force on the line's start, the contract does not activate — and an
amendment does not apply — until an approver other than the requester approves a ``price_override``
request. The request's payload holds exactly what will be applied (the lines with their list and
override prices, the contract version, the amendment's changes); approving re-derives the overrides
from the contract as it is then and applies only if they are still exactly those (reads here, the
writes are in billing.contracts.services)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings

from billing.catalog.selectors import published_versions, version_def
from billing.pricing import version_in_force
from revops.contracts.models import Contract, ContractLine

KIND = "price_override"
ZERO = Decimal(0)
HUNDRED = Decimal(100)
FEE_PRICE_KEYS = {"flat": "amount", "standard": "unit_amount"}


def threshold_pct() -> Decimal:
    """The largest discount off list (percent) a contract line may carry without approval."""
    return Decimal(str(getattr(settings, "PRICE_OVERRIDE_APPROVAL_PCT", "20")))


def plan_list_price(plan, on: date) -> Decimal | None:
    """The list price a line's ``unit_price`` overrides: the plan's fee charge (flat ``amount`` or
    standard ``unit_amount``, no meter) in the published version in force on ``on``. The highest one
    when the version has several; None when the plan has no such fee."""
    versions = [version_def(v) for v in published_versions(plan)]
    if not versions:
        return None
    version = version_in_force(versions, on)
    prices = []
    for charge in version.charges:
        key = FEE_PRICE_KEYS.get(charge.model)
        if charge.meter is None and key and charge.properties.get(key) not in (None, ""):
            prices.append(Decimal(str(charge.properties[key])))
    return max(prices) if prices else None


def line_override(line: ContractLine, contract: Contract) -> dict | None:
    """The line's override as the approval shows and binds it, when it is beyond the threshold."""
    if line.plan_id is None or line.unit_price is None:
        return None
    start = line.service_start or contract.start_date
    list_price = plan_list_price(line.plan, start)
    if not list_price or list_price <= 0:
        return None
    discount = (list_price - line.unit_price) * HUNDRED / list_price
    if discount <= threshold_pct():
        return None
    return {
        "key": line.key,
        "revision": line.revision,
        "product": line.product.code,
        "plan": line.plan.code,
        "quantity": norm(line.quantity),
        "list_price": str(list_price),
        "unit_price": norm(line.unit_price),
        "discount_pct": str(discount.quantize(Decimal("0.01"))),
        "service_start": str(start),
    }


def contract_overrides(contract: Contract, *, version: int | None = None) -> list[dict]:
    """The overrides beyond the threshold among the contract's lines (those created in ``version``
    only, for an amendment), in line order."""
    lines = contract.lines.select_related("product", "plan").order_by("position", "key", "revision")
    if version is not None:
        lines = lines.filter(created_in_version=version)
    return [o for o in (line_override(line, contract) for line in lines) if o is not None]


def norm(value) -> str:
    """A decimal as a canonical string (100, 100.0 and 100.00 alike)."""
    return format(Decimal(str(value)).normalize(), "f")


def approved_override_keys(contract: Contract) -> set[tuple[str, int, str]]:
    """(key, revision, unit_price) of every override an approver signed off on this contract."""
    from compliance.models import Approval

    out = set()
    for payload in Approval.objects.filter(
        kind=KIND,
        object_type="contracts.contract",
        object_id=str(contract.pk),
        status=Approval.Status.APPROVED,
    ).values_list("payload", flat=True):
        for item in (payload or {}).get("overrides", []):
            out.add((item.get("key"), int(item.get("revision") or 0), norm(item.get("unit_price"))))
    return out


def signature(overrides: list[dict]) -> list[tuple]:
    """What binds an approval to the lines: key, revision, plan, list and override price, quantity."""
    return sorted(
        (
            o["key"],
            int(o["revision"]),
            o["plan"],
            norm(o["list_price"]),
            norm(o["unit_price"]),
            norm(o["quantity"]),
        )
        for o in overrides
    )
