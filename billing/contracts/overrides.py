"""Price overrides beyond the threshold need a second person (maker-checker).

A contract line's ``unit_price`` replaces its plan's list price (billing.contracts.terms._override).
When what the line pays (price × quantity, or a one-time amount) is more than
``PRICE_OVERRIDE_APPROVAL_PCT`` percent (default 20) below what the list of the plan version in force
on the line's start charges for the same thing, when the line carries a custom price with no list to
compare with (no plan), or when an amendment lowers what a line pays by more than that percent
(:func:`line_override`), the contract does not activate — and an
amendment does not apply — until an approver other than the requester approves a ``price_override``
request. The request's payload holds exactly what will be applied (the lines with their list and
override prices, the contract version, the amendment's changes); approving re-derives the overrides
from the contract as it is then and applies only if they are still exactly those (reads here, the
writes are in billing.contracts.services)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal

from django.conf import settings

from billing.catalog.selectors import published_versions, version_def
from billing.contracts.models import Contract, ContractLine
from billing.contracts.ramp import is_ramp, priced_as, ramp_steps
from billing.pricing import version_in_force

KIND = "price_override"
# Approved requests of these kinds approve the prices their payload's "overrides" list (a renewal priced
# below list is approved as a contract_renewal: billing.contracts.services.renewals).
APPROVING_KINDS = (KIND, "contract_renewal")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
FEE_PRICE_KEYS = {"flat": "amount", "standard": "unit_amount"}


def custom_prices_need_approval() -> bool:
    """Whether a priced line with no list to compare with (no plan, or a plan without a fee) always
    waits for an approver (PRICE_OVERRIDE_CUSTOM_APPROVAL, on unless switched off)."""
    return bool(getattr(settings, "PRICE_OVERRIDE_CUSTOM_APPROVAL", True))


def threshold_pct() -> Decimal:
    """The largest discount off list (percent) a contract line may carry without approval."""
    return Decimal(str(getattr(settings, "PRICE_OVERRIDE_APPROVAL_PCT", "20")))


# While ``plan_versions_cached()`` is active: plan id -> its published versions (pure definitions).
_PLAN_VERSIONS: ContextVar[dict | None] = ContextVar("override_plan_versions", default=None)


@contextmanager
def plan_versions_cached():
    """Read each plan's published versions once for everything done inside (a control walking every
    contract line asks for the same few plans' lists over and over)."""
    token = _PLAN_VERSIONS.set({})
    try:
        yield
    finally:
        _PLAN_VERSIONS.reset(token)


def _published_defs(plan) -> list:
    cache = _PLAN_VERSIONS.get()
    if cache is None:
        return [version_def(v) for v in published_versions(plan)]
    if plan.pk not in cache:
        cache[plan.pk] = [version_def(v) for v in published_versions(plan)]
    return cache[plan.pk]


def plan_list_fee(plan, on: date) -> tuple[Decimal, str] | None:
    """The list price a line's ``unit_price`` overrides and its model: the plan's fee charge (flat
    ``amount`` or standard ``unit_amount``, no meter) in the published version in force on ``on``. The
    highest one when the version has several; None when the plan has no such fee."""
    versions = _published_defs(plan)
    if not versions:
        return None
    version = version_in_force(versions, on)
    prices = []
    for charge in version.charges:
        key = FEE_PRICE_KEYS.get(charge.model)
        if charge.meter is None and key and charge.properties.get(key) not in (None, ""):
            prices.append((Decimal(str(charge.properties[key])), charge.model))
    return max(prices, key=lambda p: p[0]) if prices else None


def plan_list_price(plan, on: date) -> Decimal | None:
    fee = plan_list_fee(plan, on)
    return fee[0] if fee else None


def line_pays(line: ContractLine, contract: Contract) -> tuple[Decimal | None, Decimal | None]:
    """(what the customer pays for the line, what the list would charge for the same thing), per
    billing period for a recurring line and once for a one-time line; None where there is no price
    (a usage-only line) or no list (no plan, or a plan without a fee).

    The list charges the plan's fee × quantity. A flat fee is priced per 1 unit of the fee: the list
    charges at least one whole fee, so a quantity below 1 on a flat fee (200 × 0.0001) is a discount
    measured like any other, not a way around it. A one-time line pays its ``amount`` (or unit_price
    × quantity) against the plan's fee for the same quantity."""
    start = line.service_start or contract.start_date
    quantity = Decimal(line.quantity)
    fee = plan_list_fee(line.plan, start) if line.plan_id else None
    listed = None
    if fee is not None:
        list_unit, model = fee
        listed = list_unit * (max(quantity, Decimal(1)) if model == "flat" else quantity)
    if line.amount is not None and (
        line.billing == ContractLine.Billing.ONE_TIME or getattr(line, "ramp_step_amount", False)
    ):
        return Decimal(line.amount), listed
    price = line.unit_price if line.unit_price is not None else (fee[0] if fee else None)
    if price is None:
        return None, listed
    return Decimal(price) * quantity, listed


def line_override(line: ContractLine, contract: Contract) -> dict | None:
    """The line's price as the approval shows and binds it, when it needs an approver (the one rule
    used by activation, amendments and the control ``price_overrides_approved``):

    - ``list``: the line pays more than the threshold below what the list charges for the same thing
      (price × quantity against list × quantity; a flat fee's list is at least one whole fee);
    - ``custom``: the line carries its own price and has no list to compare with (no plan, or a plan
      without a fee) — a custom-priced line always needs approval (an amended revision of a line
      that was custom-priced already needs one only when it cuts what the line pays, ``reduced``); a line without any price (usage only) does not;
    - ``reduced``: an amendment lowers what the line pays (quantity or price) by more than the
      threshold against the revision it replaces."""
    if is_ramp(line):
        found = line_overrides(line, contract)
        return found[0] if found else None
    return _override_of(line, contract)


def line_overrides(line: ContractLine, contract: Contract) -> list[dict]:
    """Every override of LINE that needs an approver: :func:`line_override` for a line, and for a ramp
    line one per step (accounting.md §5a) — each step is a line price like any other, measured
    against the list in force on the step's date (``ramp_from`` names the step)."""
    if not is_ramp(line):
        found = _override_of(line, contract)
        return [found] if found else []
    out = []
    for step in ramp_steps(line):
        priced = priced_as(line, step)
        if step.amount is not None:  # the line's fee per period, against list × the line's quantity
            priced.unit_price, priced.quantity, priced.amount = None, line.quantity, step.amount
            priced.ramp_step_amount = True
        priced.service_start = step.start  # the list in force when the step starts
        found = _override_of(priced, contract, previous=None)
        if found is not None:
            out.append({**found, "ramp_from": step.start.isoformat()})
    return out


_SUPERSEDED = object()


def _override_of(line: ContractLine, contract: Contract, previous=_SUPERSEDED) -> dict | None:
    paid, listed = line_pays(line, contract)
    if paid is None:
        return None
    thr = threshold_pct()
    reasons, discount, reduction, before = [], None, None, None
    if previous is _SUPERSEDED:
        previous = line.supersedes if line.supersedes_id else None
    if listed is None:
        # A revision of a line that was custom-priced already (same product, still no list): its price
        # was decided when the line was; only a cut beyond the threshold needs a new decision (below).
        carried = previous is not None and previous.plan_id == line.plan_id
        priced = line.unit_price is not None or line.amount is not None
        if priced and not carried and custom_prices_need_approval():
            reasons.append("custom")
    elif listed > 0:
        discount = (listed - paid) * HUNDRED / listed
        if discount > thr:
            reasons.append("list")
    if previous is not None:
        before, _ = line_pays(previous, contract)
        if before is not None and before > 0:
            reduction = (before - paid) * HUNDRED / before
            if reduction > thr:
                reasons.append("reduced")
    if not reasons:
        return None
    start = line.service_start or contract.start_date
    list_unit = plan_list_price(line.plan, start) if line.plan_id else None
    pct = Decimal("0.01")
    return {
        "key": line.key,
        "revision": line.revision,
        "product": line.product.code,
        "plan": line.plan.code if line.plan_id else None,
        "billing": line.billing,
        "quantity": norm(line.quantity),
        "list_price": str(list_unit) if list_unit is not None else None,
        "unit_price": norm(line.unit_price) if line.unit_price is not None else None,
        "amount": norm(line.amount) if line.amount is not None else None,
        "pays": norm(paid),
        "list_pays": norm(listed) if listed is not None else None,
        "discount_pct": str(discount.quantize(pct)) if discount is not None else None,
        "previous_pays": norm(before) if reduction is not None else None,
        "reduction_pct": str(reduction.quantize(pct)) if reduction is not None else None,
        "reasons": reasons,
        "service_start": str(start),
    }


def override_headline(override: dict, currency: str) -> str:
    """One line for a summary: why this line needs an approver."""
    step = f" from {override['ramp_from']} (ramp step)" if override.get("ramp_from") else ""
    head = f"{override['key']} pays {override['pays']} {currency}{step}"
    parts = []
    if "list" in override["reasons"]:
        parts.append(f"against {override['list_pays']} at list ({override['discount_pct']}% off)")
    if "custom" in override["reasons"]:
        parts.append("a custom price with no list price")
    if "reduced" in override["reasons"]:
        parts.append(f"down from {override['previous_pays']} ({override['reduction_pct']}% less)")
    return f"{head}: " + "; ".join(parts)


def override_weight(override: dict) -> Decimal:
    """How far below what it is measured against the line goes (100 for a custom price)."""
    if "custom" in override["reasons"]:
        return HUNDRED
    return max(Decimal(override.get("discount_pct") or 0), Decimal(override.get("reduction_pct") or 0))


def contract_overrides(contract: Contract, *, version: int | None = None) -> list[dict]:
    """The overrides beyond the threshold among the contract's lines (those created in ``version``
    only, for an amendment), in line order."""
    lines = contract.lines.select_related("product", "plan").order_by("position", "key", "revision")
    if version is not None:
        lines = lines.filter(created_in_version=version)
    return [o for line in lines for o in line_overrides(line, contract)]


def norm(value) -> str:
    """A decimal as a canonical string (100, 100.0 and 100.00 alike)."""
    return format(Decimal(str(value)).normalize(), "f")


def _opt(value) -> str:
    return "" if value in (None, "") else norm(value)


def override_key(item: dict) -> tuple:
    """What identifies an approved price on a line revision: key, revision, unit price, quantity, amount
    (and the ramp step's date, for a step of a ramp line)."""
    return (
        item.get("key"),
        int(item.get("revision") or 0),
        _opt(item.get("unit_price")),
        _opt(item.get("quantity")),
        _opt(item.get("amount")),
        item.get("ramp_from") or "",
    )


def approved_override_keys(contract: Contract) -> set[tuple]:
    """:func:`override_key` of every override an approver signed off on this contract."""
    from revops.core.approvals.models import Approval

    out = set()
    for payload in Approval.objects.filter(
        kind__in=APPROVING_KINDS,
        object_type="contracts.contract",
        object_id=str(contract.pk),
        status=Approval.Status.APPROVED,
    ).values_list("payload", flat=True):
        for item in (payload or {}).get("overrides", []):
            out.add(override_key(item))
    return out


def approved_override_keys_for(contract_ids: Iterable[int]) -> dict[int, set[tuple]]:
    """:func:`approved_override_keys` of several contracts in one query: contract id -> keys."""
    from revops.core.approvals.models import Approval

    out: dict[int, set[tuple]] = defaultdict(set)
    rows = Approval.objects.filter(
        kind__in=APPROVING_KINDS,
        object_type="contracts.contract",
        object_id__in=[str(pk) for pk in contract_ids],
        status=Approval.Status.APPROVED,
    ).values_list("object_id", "payload")
    for object_id, payload in rows:
        for item in (payload or {}).get("overrides", []):
            out[int(object_id)].add(override_key(item))
    return out


def signature(overrides: list[dict]) -> list[tuple]:
    """What binds an approval to the lines: key, revision, plan, list and override price, quantity,
    amount, and what the line pays."""
    return sorted(
        (
            *override_key(o),
            o.get("plan") or "",
            _opt(o.get("list_price")),
            _opt(o.get("pays")),
        )
        for o in overrides
    )
