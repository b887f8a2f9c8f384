"""Contract lifecycle: create (draft) → activate → amend (effective-dated, prorated, versioned) →
terminate. Every change writes a ContractVersion (who, what, when) and an audit event, in the same
transaction. Billing follows from the lines: an amendment ends a line on its effective date and adds
the next revision from that date, so both are prorated by days on the same period grid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from billing.contracts.overrides import KIND as OVERRIDE_KIND
from billing.contracts.overrides import (
    contract_overrides,
    override_headline,
    override_weight,
    signature,
    threshold_pct,
)
from billing.contracts.terms import line_range, plan_interval, plan_versions_for_line
from billing.contracts.variable import FIELDS as VARIABLE_FIELDS
from billing.contracts.variable import clean_variable_terms, variable_in_price
from billing.models import BillingClaim, InvoiceLine, PendingCharge, Plan
from billing.pricing import InMemoryUsage, rate_period
from billing.rating import RatingError
from billing.rating.engine import MAX_AMOUNT as MAX_DOCUMENT_AMOUNT
from billing.schedule import FEE_ADVANCE, line_periods
from compliance.audit import audit_record
from revops.contracts.models import Contract, ContractLine, ContractVersion, Product, RecognitionMethod
from revops.contracts.services.customers import customer_by_external_id
from revops.core.outbox import outbox_publish
from revops.dates import RANGE_MESSAGE, date_in_range
from revops.errors import Conflict, DomainError, FieldError, InvalidTransition, ValidationFailed
from revops.fields import AMOUNT_DIGITS, AMOUNT_PLACES
from revops.jsonsafe import jsonable
from revops.money import MoneyError, is_currency, minor_units, parse_decimal, round_money

ZERO = Decimal(0)
BILLINGS = [c[0] for c in ContractLine.Billing.choices]


# --- validation -----------------------------------------------------------------------------------


def _decimal(value, path: str, errors: list[FieldError], *, minimum: Decimal | None = ZERO) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = parse_decimal(value, field=path)
    except MoneyError as exc:
        errors.append(FieldError(path, str(exc).split(": ", 1)[-1]))
        return None
    if minimum is not None and number < minimum:
        errors.append(FieldError(path, f"Must be at least {minimum}."))
        return None
    return number


def _date(value, path: str, errors: list[FieldError]) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            errors.append(FieldError(path, "A date YYYY-MM-DD is required."))
            return None
    if not date_in_range(value):
        errors.append(FieldError(path, RANGE_MESSAGE))
        return None
    return value


LINE_FIELDS = {
    "key",
    "product",
    "plan",
    "quantity",
    "unit_price",
    "amount",
    "ssp",
    "ssp_reason",
    "recognition",
    "service_start",
    "service_end",
    "billing",
    "series",
    *VARIABLE_FIELDS,
}


def clean_lines(
    lines: Any,
    *,
    currency: str,
    start: date | None,
    end: date | None,
    prefix: str = "lines",
    existing_keys: set[str] | None = None,
) -> tuple[list[dict], list[FieldError]]:
    errors: list[FieldError] = []
    if not isinstance(lines, list):
        return [], [FieldError(prefix, "Must be a list of lines.")]
    products = {
        p.code: p
        for p in Product.objects.filter(code__in=[ln.get("product") for ln in lines if isinstance(ln, dict)])
    }
    plans = {
        p.code: p
        for p in Plan.objects.filter(code__in=[ln.get("plan") for ln in lines if isinstance(ln, dict)])
    }
    cleaned, keys = [], set(existing_keys or ())
    for i, raw in enumerate(lines):
        path = f"{prefix}[{i}]"
        if not isinstance(raw, dict):
            errors.append(FieldError(path, "Must be an object."))
            continue
        for name in sorted(set(raw) - LINE_FIELDS):
            errors.append(FieldError(f"{path}.{name}", "Unknown field."))
        key = raw.get("key")
        if not key or not isinstance(key, str):
            errors.append(FieldError(f"{path}.key", "A line key is required (e.g. 'platform')."))
        elif key in keys:
            errors.append(FieldError(f"{path}.key", f"Duplicate line key '{key}'."))
        keys.add(key)
        product = products.get(raw.get("product"))
        if product is None:
            errors.append(FieldError(f"{path}.product", f"Unknown product '{raw.get('product')}'."))
        plan = None
        if raw.get("plan"):
            plan = plans.get(raw["plan"])
            if plan is None:
                errors.append(FieldError(f"{path}.plan", f"Unknown plan '{raw['plan']}'."))
            elif plan.currency != currency:
                errors.append(
                    FieldError(
                        f"{path}.plan", f"The plan is priced in {plan.currency}, the contract in {currency}."
                    )
                )
            elif not plan.versions.filter(status="published").exists():
                errors.append(FieldError(f"{path}.plan", "The plan has no published version yet."))
        quantity = _decimal(raw.get("quantity", 1), f"{path}.quantity", errors)
        unit_price = _decimal(raw.get("unit_price"), f"{path}.unit_price", errors)
        amount = _decimal(raw.get("amount"), f"{path}.amount", errors)
        ssp = _decimal(raw.get("ssp"), f"{path}.ssp", errors)
        billing = raw.get("billing") or (
            "recurring" if plan or raw.get("plan") else ("one_time" if amount is not None else "recurring")
        )
        if billing not in BILLINGS:
            errors.append(FieldError(f"{path}.billing", f"Must be one of: {', '.join(BILLINGS)}."))
        recognition = raw.get("recognition") or ""
        if recognition and recognition not in RecognitionMethod.values:
            errors.append(
                FieldError(
                    f"{path}.recognition", f"Unknown method; one of {', '.join(RecognitionMethod.values)}."
                )
            )
        if billing == "recurring" and not raw.get("plan") and unit_price is None:
            errors.append(
                FieldError(
                    f"{path}.unit_price", "A recurring line without a plan needs a unit_price per period."
                )
            )
        if billing == "one_time" and amount is None and unit_price is None:
            errors.append(FieldError(f"{path}.amount", "A one-time line needs an amount (or a unit_price)."))
        if billing == "usage" and not raw.get("plan"):
            errors.append(FieldError(f"{path}.plan", "A usage line needs a plan with metered charges."))
        series = raw.get("series")
        if series is not None and not isinstance(series, bool):
            errors.append(FieldError(f"{path}.series", "Must be true or false."))
            series = None
        s_start = _date(raw.get("service_start"), f"{path}.service_start", errors)
        s_end = _date(raw.get("service_end"), f"{path}.service_end", errors)
        lo, hi = s_start or start, s_end or end
        if (
            start
            and end
            and ((s_start and not start <= s_start < end) or (s_end and not start < s_end <= end))
        ):
            errors.append(
                FieldError(
                    f"{path}.service_start"
                    if s_start and not start <= s_start < end
                    else f"{path}.service_end",
                    "The service period must lie within the contract term.",
                )
            )
        elif lo and hi and hi <= lo:
            errors.append(FieldError(f"{path}.service_end", "The service period must end after it starts."))
        variable = clean_variable_terms(
            raw, path, errors, billing=billing, recognition=recognition or getattr(product, "recognition", "")
        )
        cleaned.append(
            {
                **variable,
                "key": key,
                "product": product,
                "plan": plan,
                "billing": billing,
                "quantity": quantity if quantity is not None else Decimal(1),
                "unit_price": unit_price,
                "amount": amount,
                "ssp": ssp,
                "ssp_reason": raw.get("ssp_reason", "") or "",
                "recognition": recognition,
                "service_start": s_start,
                "service_end": s_end,
                "series": series,
            }
        )
    return cleaned, errors


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(
            errors[0].message if len(errors) == 1 else f"{len(errors)} fields are invalid.", errors=errors
        )


def _next_number() -> str:
    last = Contract.objects.aggregate(n=Max("id"))["n"] or 0
    return f"C-{last + 1:05d}"


def contract_snapshot(contract: Contract) -> dict:
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
                }
                for ln in contract.lines.select_related("product", "plan")
            ],
        }
    )


# --- value ------------------------------------------------------------------------------------------


def one_time_superseded(line: ContractLine) -> bool:
    return line.billing == ContractLine.Billing.ONE_TIME and hasattr(line, "superseded_by")


def line_fixed_value(line: ContractLine, contract: Contract) -> Decimal:
    """The fixed consideration of a line over its service range: one-time amounts, and every period's
    fees (in advance and in arrears), prorated exactly as billing will charge them. Usage is variable.
    An amended one-time line is worth only its latest revision: the amendment replaces its price
    (accounting.md §10), and billing charges or credits the difference once."""
    if line.billing == ContractLine.Billing.ONE_TIME:
        start, end = line_range(line, contract)
        if one_time_superseded(line) or end <= start:
            return ZERO  # replaced by a later revision, or removed before its date
        amount = line.amount if line.amount is not None else (line.unit_price or ZERO) * line.quantity
        return round_money(Decimal(amount), contract.currency)
    if line.billing == ContractLine.Billing.USAGE:
        return ZERO
    start, end = line_range(line, contract)
    if end <= start:
        return ZERO
    total = ZERO
    periods = line_periods(
        grid_start=contract.start_date,
        anchor=contract.billing_anchor,
        interval=plan_interval(line),
        start=start,
        end=end,
    )
    if line.plan_id is None:
        for clipped, full in periods:
            exact = (line.unit_price or ZERO) * line.quantity * Decimal(clipped.days) / Decimal(full.days)
            total += round_money(exact, contract.currency)
        return total
    versions = plan_versions_for_line(line)
    fee_codes = sorted({c.code for v in versions for c in v.charges if c.meter is None})
    if not fee_codes:
        return ZERO
    for clipped, full in periods:
        drafts = rate_period(
            versions,
            start=clipped.start,
            end=clipped.end,
            tz_name="UTC",
            usage=InMemoryUsage([]),
            policy=line.plan.version_policy,
            pinned_on=contract.start_date,
            quantities={c: line.quantity for c in fee_codes},
            charges=fee_codes,
            period=(full.start, full.end),
            true_up=False,
        )
        total += sum((d.amount for d in drafts), ZERO)
    return total


def contract_transaction_price(contract: Contract) -> Decimal:
    """Fixed consideration of every line plus the constrained variable consideration (§10a). A value
    no document amount can hold (quantity × price beyond numeric(20, 4)) is a 400 on ``lines``, raised
    inside the caller's transaction so nothing of the contract is kept — never a decimal or database
    overflow."""
    try:
        # (SQLite keeps decimals as doubles: reading back a 20-digit quantity can fail too.)
        lines = list(contract.lines.select_related("plan", "product"))
        total = sum((line_fixed_value(ln, contract) for ln in lines), ZERO) + variable_in_price(lines)
    except (InvalidOperation, RatingError):
        total = None
    if total is None or abs(total) >= MAX_DOCUMENT_AMOUNT:
        raise ValidationFailed(
            "The contract's value is too large for an invoice or a journal entry (at most "
            f"{AMOUNT_DIGITS - AMOUNT_PLACES} digits before the point): check the quantities and prices.",
            field="lines",
        )
    return total


# --- create / activate --------------------------------------------------------------------------------


@transaction.atomic
def contract_create(
    *,
    customer: str,
    currency: str,
    start_date,
    end_date,
    lines: list,
    billing_anchor: str = "calendar",
    notes: str = "",
    actor=None,
) -> Contract:
    errors: list[FieldError] = []
    try:
        cust = customer_by_external_id(customer)  # api.md: "customer": external_id
    except Exception:
        cust = None
        errors.append(FieldError("customer", f"Unknown customer '{customer}'."))
    currency = (currency or "").upper()
    if not is_currency(currency):
        errors.append(FieldError("currency", f"Unknown currency '{currency}'."))
    elif cust is not None and cust.currency != currency:
        errors.append(FieldError("currency", f"The customer is billed in {cust.currency}."))
    start = _date(start_date, "start_date", errors)
    end = _date(end_date, "end_date", errors)
    if start and end and end <= start:
        errors.append(
            FieldError("end_date", "The contract must end after it starts (end_date is exclusive).")
        )
    if billing_anchor not in Contract.BillingAnchor.values:
        errors.append(FieldError("billing_anchor", "Must be 'calendar' or 'anniversary'."))
    cleaned, line_errors = clean_lines(lines, currency=currency, start=start, end=end)
    errors.extend(line_errors)
    if not cleaned and not line_errors:
        errors.append(FieldError("lines", "A contract needs at least one line."))
    _raise(errors)
    contract = Contract.objects.create(
        number=_next_number(),
        customer=cust,
        currency=currency,
        start_date=start,
        end_date=end,
        billing_anchor=billing_anchor,
        notes=notes,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    for position, line in enumerate(cleaned):
        ContractLine.objects.create(contract=contract, position=position, **line)
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["transaction_price"])
    ContractVersion.objects.create(
        contract=contract,
        version=1,
        effective_date=start,
        kind="created",
        changes=[],
        snapshot=contract_snapshot(contract),
        created_by=contract.created_by,
    )
    audit_record(
        actor=actor,
        action="contract.created",
        obj=contract,
        changes={
            "number": contract.number,
            "customer": cust.external_id,
            "transaction_price": contract.transaction_price,
        },
    )
    return contract


TRANSITIONS = {
    "submit": ({Contract.Status.DRAFT}, Contract.Status.PENDING_APPROVAL),
    "activate": ({Contract.Status.DRAFT, Contract.Status.PENDING_APPROVAL}, Contract.Status.ACTIVE),
    "terminate": ({Contract.Status.ACTIVE}, Contract.Status.TERMINATED),
    "expire": ({Contract.Status.ACTIVE}, Contract.Status.EXPIRED),
}


def transition(contract: Contract, action: str) -> str:
    allowed, target = TRANSITIONS[action]
    if contract.status not in allowed:
        raise InvalidTransition(f"A {contract.get_status_display().lower()} contract cannot {action}.")
    before = contract.status
    contract.status = target
    return before


@transaction.atomic
def contract_submit(*, contract: Contract, actor=None) -> Contract:
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    before = transition(contract, "submit")
    contract.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="contract.submitted",
        obj=contract,
        changes={"status": {"from": before, "to": contract.status}},
    )
    return contract


@transaction.atomic
def contract_activate(*, contract: Contract, actor=None, approval=None) -> Contract:
    """Activate the contract — unless a line is priced beyond the override threshold below its list
    price (billing.contracts.overrides): then the contract waits in ``pending_approval`` for a
    ``price_override`` approval (returned as ``contract.override_approval``) and activates when an
    approver other than the requester approves it (``approval``: the approval being applied)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    overrides = contract_overrides(contract)
    if overrides and approval is None:
        return _request_activation_override(contract, overrides, actor=actor)
    if approval is not None:
        payload = approval.payload or {}
        if (
            payload.get("action") != "activate"
            or payload.get("version") != contract.version
            or signature(overrides) != signature(payload.get("overrides", []))
        ):
            raise Conflict(
                f"{contract.number}'s prices are no longer the ones the approver saw; request it again."
            )
    before = transition(contract, "activate")
    contract.transaction_price = contract_transaction_price(contract)
    contract.activated_at = timezone.now()
    contract.save(update_fields=["status", "transaction_price", "activated_at"])
    changes = {
        "status": {"from": before, "to": contract.status},
        "transaction_price": contract.transaction_price,
    }
    if approval is not None:
        changes["price_override_approval"] = approval.pk
    audit_record(actor=actor, action="contract.activated", obj=contract, changes=changes)
    outbox_publish(
        topic="contract.activated",
        obj=contract,
        payload={
            "contract": contract.pk,
            "version": contract.version,
            "actor_id": getattr(actor, "pk", None),
        },
    )
    contract.override_approval = None
    return contract


def _pending_override(contract: Contract):
    from compliance.models import Approval

    return Approval.objects.filter(
        kind=OVERRIDE_KIND,
        object_type="contracts.contract",
        object_id=str(contract.pk),
        status=Approval.Status.PENDING,
    ).first()


def _override_summary(contract: Contract, overrides: list[dict], what: str) -> str:
    worst = max(overrides, key=override_weight)
    return f"{contract.number} {what}: {override_headline(worst, contract.currency)}" + (
        f" and {len(overrides) - 1} more line(s)" if len(overrides) > 1 else ""
    )


def _request_activation_override(contract: Contract, overrides: list[dict], *, actor) -> Contract:
    from compliance.approvals import approval_request

    if contract.status not in TRANSITIONS["activate"][0]:
        raise InvalidTransition(f"A {contract.get_status_display().lower()} contract cannot activate.")
    pending = _pending_override(contract)
    if pending is not None:
        if pending.payload.get("action") == "activate" and signature(
            pending.payload.get("overrides", [])
        ) == signature(overrides):
            contract.override_approval = pending  # asked again: the same request keeps waiting
            return contract
        raise Conflict(f"A price override of {contract.number} already waits for approval (#{pending.pk}).")
    before = contract.status
    contract.status = Contract.Status.PENDING_APPROVAL
    contract.save(update_fields=["status"])
    approval = approval_request(
        kind=OVERRIDE_KIND,
        obj=contract,
        summary=_override_summary(contract, overrides, "activation"),
        payload={
            "action": "activate",
            "contract": contract.number,
            "customer": contract.customer.external_id,
            "currency": contract.currency,
            "version": contract.version,
            "threshold_pct": str(threshold_pct()),
            "overrides": overrides,
        },
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="contract.price_override_requested",
        obj=contract,
        changes={
            "status": {"from": before, "to": contract.status},
            "approval": approval.pk,
            "overrides": overrides,
        },
    )
    contract.override_approval = approval
    return contract


# --- amend / terminate ---------------------------------------------------------------------------------


def _advance_billed_credit(
    line: ContractLine, contract: Contract, *, cut: date, version: int, reason: str
) -> PendingCharge | None:
    """When a line ends mid-period after its fees for that period were billed in advance, credit the
    unused days (accounting.md §3: 'credits the unused part of the old price')."""
    claim = BillingClaim.objects.filter(
        contract_line=line, kind=FEE_ADVANCE, period_start__lte=cut, period_end__gt=cut
    ).first()
    if claim is None:
        return None
    billed = list(
        InvoiceLine.objects.filter(
            invoice=claim.invoice,
            contract_line=line,
            kind=InvoiceLine.Kind.FEE,
            service_start__lte=cut,
            service_end__gt=cut,
        )
    )
    if not billed:
        return None
    exact = ZERO
    for record in billed:
        days = (record.service_end - record.service_start).days
        unused = (record.service_end - cut).days
        exact += (
            Decimal(record.exact_amount if record.exact_amount is not None else record.amount) * unused / days
        )
    amount = round_money(-exact, contract.currency)
    if amount == 0:
        return None
    return PendingCharge.objects.create(
        contract=contract,
        contract_line=line,
        contract_version=version,
        kind="proration",
        description=f"Unused time on {line.product.name} ({reason}) from {cut:%d %b %Y}",
        amount=amount,
        exact_amount=-exact,
        service_start=cut,
        service_end=claim.period_end,
    )


def current_lines(contract: Contract) -> dict[str, ContractLine]:
    latest: dict[str, ContractLine] = {}
    for line in contract.lines.select_related("product", "plan").order_by("key", "revision"):
        latest[line.key] = line
    return latest


CHANGE_FIELDS = {"quantity", "plan", "unit_price", "amount", "end"}


@transaction.atomic
def contract_amend(
    *, contract: Contract, effective_date, changes: list, end_date=None, actor=None, approval=None
) -> Contract:
    """Apply an amendment (see :func:`_amend`) — unless it prices a line beyond the override threshold
    below its list price: then nothing changes, a ``price_override`` request holding exactly the
    amendment is opened (returned as ``contract.override_approval``), and the amendment applies when
    an approver other than the requester approves it (``approval``: the approval being applied)."""
    savepoint = transaction.savepoint()
    amended = _amend(
        contract=contract,
        effective_date=effective_date,
        changes=changes,
        end_date=end_date,
        actor=actor,
        approval=approval,
    )
    overrides = contract_overrides(amended, version=amended.version)
    if approval is not None:
        if signature(overrides) != signature(approval.payload.get("overrides", [])):
            raise Conflict(
                "The amendment no longer prices the lines the approver saw; request it again.",
            )
    elif overrides:
        transaction.savepoint_rollback(savepoint)
        return _request_amendment_override(
            contract,
            overrides,
            effective_date=effective_date,
            changes=changes,
            end_date=end_date,
            actor=actor,
        )
    transaction.savepoint_commit(savepoint)
    if approval is None:
        override_rebind(amended, actor=actor)
    amended.override_approval = None
    return amended


def override_rebind(contract: Contract, *, actor=None):
    """Bind a pending price override to the contract as it now is (called by every service that moves
    the contract to a new version, in its transaction). A request asked for an earlier version can no
    longer be applied as shown: it is voided (``superseded``, audited). A pending amendment that still
    applies to the new version and still needs an approver is re-derived against it and opened again
    in its place (the new request names the old one); one that no longer applies, or no longer needs
    approval, is only voided — the requester asks again."""
    from compliance.approvals import approval_request, approval_void

    pending = _pending_override(contract)
    if pending is None or (pending.payload or {}).get("version") == contract.version:
        return None
    payload = pending.payload or {}
    moved = f"{contract.number} moved from version {payload.get('version')} to {contract.version}"
    overrides = None
    if payload.get("action") == "amend" and contract.status == Contract.Status.ACTIVE:
        savepoint = transaction.savepoint()
        try:
            trial = _amend(
                contract=contract,
                effective_date=payload["effective_date"],
                changes=payload["changes"],
                end_date=payload.get("end_date") or None,
                actor=actor,
            )
            overrides = contract_overrides(trial, version=trial.version)
        except DomainError:
            overrides = None
        finally:
            transaction.savepoint_rollback(savepoint)
        contract = Contract.objects.select_for_update().select_related("customer").get(pk=contract.pk)
    if not overrides:
        approval_void(
            approval=pending,
            actor=actor,
            reason=f"{moved}; the request no longer applies as shown. Ask again if it is still wanted.",
        )
        audit_record(
            actor=actor,
            action="contract.price_override_voided",
            obj=contract,
            changes={"approval": pending.pk, "version": contract.version},
        )
        return None
    renewed = approval_request(
        kind=OVERRIDE_KIND,
        obj=contract,
        summary=_override_summary(contract, overrides, f"amendment from {payload['effective_date']}"),
        payload={**payload, "version": contract.version, "overrides": overrides},
        requested_by=pending.requested_by,
        replace_pending=True,
    )
    audit_record(
        actor=actor,
        action="contract.price_override_requested",
        obj=contract,
        changes={"approval": renewed.pk, "supersedes": pending.pk, "reason": moved, "overrides": overrides},
    )
    return renewed


def _request_amendment_override(contract: Contract, overrides, *, effective_date, changes, end_date, actor):
    from compliance.approvals import approval_request

    contract = Contract.objects.select_for_update().select_related("customer").get(pk=contract.pk)
    pending = _pending_override(contract)
    if pending is not None:
        raise Conflict(f"A price override of {contract.number} already waits for approval (#{pending.pk}).")
    approval = approval_request(
        kind=OVERRIDE_KIND,
        obj=contract,
        summary=_override_summary(contract, overrides, f"amendment from {effective_date}"),
        payload={
            "action": "amend",
            "contract": contract.number,
            "customer": contract.customer.external_id,
            "currency": contract.currency,
            "version": contract.version,
            "effective_date": str(effective_date),
            "changes": jsonable(changes),
            "end_date": str(end_date) if end_date else None,
            "threshold_pct": str(threshold_pct()),
            "overrides": overrides,
        },
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action="contract.price_override_requested",
        obj=contract,
        changes={"approval": approval.pk, "effective_date": effective_date, "overrides": overrides},
    )
    contract.override_approval = approval
    return contract


def _amend(
    *, contract: Contract, effective_date, changes: list, end_date=None, actor=None, approval=None
) -> Contract:
    """Apply effective-dated changes: ``{"line": key, "quantity"|"plan"|"unit_price"|"amount"|"end":
    ...}``, ``{"add": Line}``, ``{"remove": key}``; ``end_date`` extends the contract term (lines
    without their own service end follow it; added lines may lie anywhere in the new term). Each
    changed line ends on the effective date and a new revision starts there; advance-billed fees of
    the cut period are credited for the unused days. A one-time line's new revision replaces its price
    (``amount``): billing charges or credits only the difference (accounting.md §10)."""
    contract = Contract.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contract.pk)
    if contract.status != Contract.Status.ACTIVE:
        raise InvalidTransition("Only an active contract can be amended.")
    errors: list[FieldError] = []
    eff = _date(effective_date, "effective_date", errors)
    if eff and not contract.start_date <= eff < contract.end_date:
        errors.append(FieldError("effective_date", "The effective date must lie within the contract term."))
    old_end = contract.end_date
    new_end = _date(end_date, "end_date", errors) or old_end
    if new_end < old_end:
        errors.append(
            FieldError("end_date", "An amendment can only extend the term; end the contract with terminate.")
        )
    if not isinstance(changes, list) or (not changes and new_end == old_end):
        errors.append(FieldError("changes", "List at least one change (or extend the term with end_date)."))
        changes = []
    lines = current_lines(contract)
    plans = {
        p.code: p
        for p in Plan.objects.filter(code__in=[c.get("plan") for c in changes if isinstance(c, dict)])
    }
    version = contract.version + 1
    to_add: list[dict] = []
    seen: dict[str, int] = {}
    places = minor_units(contract.currency)
    for i, change in enumerate(changes):
        path = f"changes[{i}]"
        if not isinstance(change, dict):
            errors.append(FieldError(path, "Must be an object."))
            continue
        if "add" in change:
            cleaned, errs = clean_lines(
                [change["add"]],
                currency=contract.currency,
                start=contract.start_date,
                end=new_end,
                prefix=f"{path}.add",
                existing_keys=set(lines),
            )
            errors.extend(errs)
            to_add.extend(cleaned)
            continue
        key = change.get("line") or change.get("remove")
        line = lines.get(key) if isinstance(key, str) else None
        if line is None or (eff and line_range(line, contract)[1] <= eff):
            errors.append(FieldError(f"{path}.line", f"No line '{key}' in service on the effective date."))
            continue
        if key in seen:
            field = "remove" if "remove" in change else "line"
            errors.append(
                FieldError(
                    f"{path}.{field}",
                    f"Line '{key}' is already changed by changes[{seen[key]}]; one change per line "
                    "per amendment (put all of its fields in one change).",
                )
            )
            continue
        seen[key] = i
        unknown = set(change) - CHANGE_FIELDS - {"line", "remove"}
        for field in sorted(unknown):
            errors.append(
                FieldError(
                    f"{path}.{field}",
                    "Unknown change field (quantity, plan, unit_price, amount, end, add, remove).",
                )
            )
        if "amount" in change and line.billing != ContractLine.Billing.ONE_TIME:
            errors.append(FieldError(f"{path}.amount", "Only a one-time line has an amount to change."))
        if "amount" in change:
            amount = _decimal(change.get("amount"), f"{path}.amount", errors)
            if change.get("amount") in (None, ""):
                errors.append(FieldError(f"{path}.amount", "An amount is required."))
            elif amount is not None and -amount.as_tuple().exponent > places:
                errors.append(
                    FieldError(
                        f"{path}.amount",
                        f"{contract.currency} amounts have at most {places} decimal place(s).",
                    )
                )
        if "end" in change:
            line_end = _date(change["end"], f"{path}.end", errors)
            if line_end and eff and not (eff < line_end <= new_end):
                errors.append(
                    FieldError(
                        f"{path}.end",
                        "The new service end must fall after the effective date "
                        "and within the (extended) contract term.",
                    )
                )
        if "plan" in change and change["plan"] not in plans:
            errors.append(FieldError(f"{path}.plan", f"Unknown plan '{change['plan']}'."))
        elif "plan" in change and plans[change["plan"]].currency != contract.currency:
            errors.append(FieldError(f"{path}.plan", "The new plan is priced in another currency."))
        quantity = _decimal(change.get("quantity"), f"{path}.quantity", errors)
        if "quantity" in change and "remove" not in change and change.get("quantity") in (None, ""):
            errors.append(FieldError(f"{path}.quantity", "A quantity is required."))
        elif quantity is not None and quantity == 0 and "remove" not in change:
            errors.append(
                FieldError(
                    f"{path}.quantity",
                    f'Must be more than 0; to end the line use {{"remove": "{key}"}}.',
                )
            )
        _decimal(change.get("unit_price"), f"{path}.unit_price", errors)
    _raise(errors)
    recorded = []
    for change in changes:
        if "add" in change:
            continue
        key = change.get("line") or change.get("remove")
        old = lines[key]
        old_start, _old_end = line_range(old, contract)
        original_end = _date(change["end"], "end", []) if "end" in change else old.service_end
        cut = max(eff, old_start)
        reason = "removed" if "remove" in change else "amended"
        old.service_end = cut
        old.save(update_fields=["service_end"])
        _advance_billed_credit(old, contract, cut=cut, version=version, reason=reason)
        entry = {"line": key, "from_revision": old.revision}
        if "remove" not in change:
            amount = old.amount
            if old.billing == ContractLine.Billing.ONE_TIME and "amount" in change:
                amount = parse_decimal(change["amount"])
            elif old.billing == ContractLine.Billing.ONE_TIME and change.get("unit_price") is not None:
                amount = None  # priced by unit_price × quantity from now on
            new = ContractLine.objects.create(
                contract=contract,
                key=key,
                revision=old.revision + 1,
                supersedes=old,
                created_in_version=version,
                product=old.product,
                plan=plans.get(change["plan"]) if "plan" in change else old.plan,
                billing=old.billing,
                quantity=parse_decimal(change["quantity"]) if "quantity" in change else old.quantity,
                unit_price=parse_decimal(change["unit_price"])
                if change.get("unit_price") is not None
                else old.unit_price,
                amount=amount,
                ssp=old.ssp,
                ssp_reason=old.ssp_reason,
                recognition=old.recognition,
                series=old.series,
                progress_measure=old.progress_measure,  # the measure of progress carries on (§10a)
                progress_places=old.progress_places,
                service_start=cut,
                service_end=original_end,
                position=old.position,
            )
            entry.update({k: str(v) for k, v in change.items() if k in CHANGE_FIELDS})
            entry["to_revision"] = new.revision
        else:
            entry["removed"] = True
        recorded.append(entry)
    if new_end != old_end:
        contract.end_date = new_end
        contract.save(update_fields=["end_date"])
        recorded.append({"end_date": {"from": str(old_end), "to": str(new_end)}})
    for add in to_add:
        add = {**add, "service_start": add["service_start"] or eff}
        ContractLine.objects.create(
            contract=contract, position=len(lines) + len(recorded), created_in_version=version, **add
        )
        recorded.append({"added": add["key"], "product": add["product"].code})
    before_price = contract.transaction_price
    contract.version = version
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["version", "transaction_price"])
    ContractVersion.objects.create(
        contract=contract,
        version=version,
        effective_date=eff,
        kind="amendment",
        changes=jsonable(recorded),
        snapshot=contract_snapshot(contract),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action="contract.amended",
        obj=contract,
        changes={
            "version": version,
            "effective_date": eff,
            "changes": recorded,
            "transaction_price": {"from": before_price, "to": contract.transaction_price},
            **({"price_override_approval": approval.pk} if approval is not None else {}),
        },
    )
    outbox_publish(
        topic="contract.amended",
        obj=contract,
        payload={
            "contract": contract.pk,
            "version": version,
            "effective_date": eff,
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return contract


@transaction.atomic
def contract_terminate(*, contract: Contract, effective_date, actor=None) -> Contract:
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    errors: list[FieldError] = []
    eff = _date(effective_date, "effective_date", errors)
    if eff and not contract.start_date < eff <= contract.end_date:
        errors.append(
            FieldError(
                "effective_date", "Termination must fall after the start and no later than the end date."
            )
        )
    _raise(errors)
    before = transition(contract, "terminate")
    version = contract.version + 1
    for line in current_lines(contract).values():
        if line_range(line, contract)[1] > eff:
            _advance_billed_credit(line, contract, cut=eff, version=version, reason="terminated")
    contract.terminated_on = eff
    contract.version = version
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["status", "terminated_on", "version", "transaction_price"])
    ContractVersion.objects.create(
        contract=contract,
        version=version,
        effective_date=eff,
        kind="termination",
        changes=[{"terminated_on": str(eff)}],
        snapshot=contract_snapshot(contract),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action="contract.terminated",
        obj=contract,
        changes={"status": {"from": before, "to": contract.status}, "effective_date": eff},
    )
    outbox_publish(
        topic="contract.terminated",
        obj=contract,
        payload={"contract": contract.pk, "effective_date": eff, "actor_id": getattr(actor, "pk", None)},
    )
    override_rebind(contract, actor=actor)
    return contract


def proration_preview(*, contract: Contract, effective_date, changes: list, end_date=None) -> dict:
    """What an amendment would bill, without saving anything: the amendment runs for real inside a
    transaction that is always rolled back (so the preview and the amendment cannot disagree)."""
    with transaction.atomic():
        try:
            amended = _amend(
                contract=contract,
                effective_date=effective_date,
                changes=changes,
                end_date=end_date,
                actor="preview",
            )
            credits = [
                {"description": p.description, "amount": str(p.amount)}
                for p in PendingCharge.objects.filter(contract=amended, contract_version=amended.version)
            ]
            new_lines = []
            for line in amended.lines.filter(created_in_version=amended.version).select_related(
                "plan", "product"
            ):
                start, end = line_range(line, amended)
                first = line_periods(
                    grid_start=amended.start_date,
                    anchor=amended.billing_anchor,
                    interval=plan_interval(line),
                    start=start,
                    end=end,
                )[:1]
                first_amount = ZERO
                if first:
                    first_amount = _first_period_amount(line, amended, *first[0])
                new_lines.append(
                    {
                        "line": line.key,
                        "revision": line.revision,
                        "starts": start,
                        "first_period": [first[0][0].start, first[0][0].end] if first else None,
                        "first_period_days": f"{first[0][0].days}/{first[0][1].days}" if first else None,
                        "first_period_amount": str(first_amount),
                    }
                )
            net = sum((Decimal(c["amount"]) for c in credits), ZERO) + sum(
                (Decimal(n["first_period_amount"]) for n in new_lines), ZERO
            )
            return {
                "transaction_price": {
                    "from": str(round_money(contract.transaction_price, contract.currency)),
                    "to": str(round_money(amended.transaction_price, contract.currency)),
                },
                "credits": credits,
                "new_lines": new_lines,
                "net_first_period": str(net),
            }
        finally:
            transaction.set_rollback(True)


def _first_period_amount(line: ContractLine, contract: Contract, clipped, full) -> Decimal:
    if line.billing != ContractLine.Billing.RECURRING:
        return ZERO
    if line.plan_id is None:
        return round_money(
            (line.unit_price or ZERO) * line.quantity * Decimal(clipped.days) / Decimal(full.days),
            contract.currency,
        )
    versions = plan_versions_for_line(line)
    fee_codes = sorted({c.code for v in versions for c in v.charges if c.meter is None})
    drafts = (
        rate_period(
            versions,
            start=clipped.start,
            end=clipped.end,
            tz_name="UTC",
            usage=InMemoryUsage([]),
            policy=line.plan.version_policy,
            pinned_on=contract.start_date,
            quantities={c: line.quantity for c in fee_codes},
            charges=fee_codes,
            period=(full.start, full.end),
            true_up=False,
        )
        if fee_codes
        else []
    )
    return sum((d.amount for d in drafts), ZERO)


@transaction.atomic
def contract_amendment_revert(*, contract: Contract, version: int, actor=None, reason: str = "") -> Contract:
    """Undo a rejected amendment by appending a version that restores the contract as it was before it
    (history is never edited: the amendment's revisions stay, each changed or removed line gets a new
    revision with its earlier terms from the same cut date, lines the amendment added end where they
    start, and an extended term goes back). A one-time line restored this way bills or credits only
    the difference to what its revisions have billed (accounting.md §10). Only the latest version can
    be reverted; nothing happens when ``version`` is no longer the contract's latest amendment."""
    contract = Contract.objects.select_for_update(of=("self",)).get(pk=contract.pk)
    amended = ContractVersion.objects.filter(contract=contract, version=version, kind="amendment").first()
    if amended is None or contract.version != version:
        return contract
    before = (
        ContractVersion.objects.filter(contract=contract, version__lt=version).order_by("-version").first()
    )
    ends = {
        (ln["key"], ln["revision"]): ln.get("service_end")
        for ln in ((before.snapshot or {}) if before else {}).get("lines", [])
    }
    new_version = version + 1
    recorded: list[dict] = []
    made = {ln.pk: ln for ln in contract.lines.filter(created_in_version=version)}
    for entry in amended.changes or []:
        if "line" not in entry:
            continue
        old = ContractLine.objects.get(contract=contract, key=entry["line"], revision=entry["from_revision"])
        latest = (
            made.get(getattr(getattr(old, "superseded_by", None), "pk", None))
            if not entry.get("removed")
            else None
        )
        cut = old.service_end
        original = ends.get((old.key, old.revision))
        if original:
            end = date.fromisoformat(original)
        else:  # no snapshot: the amendment kept the line's end unless it changed it
            end = latest.service_end if latest is not None and "end" not in entry else None
        if latest is not None:
            latest.service_end = latest.service_start  # the amended terms never take effect
            latest.save(update_fields=["service_end"])
        restored = ContractLine.objects.create(
            contract=contract,
            key=old.key,
            revision=(latest or old).revision + 1,
            supersedes=latest or old,
            created_in_version=new_version,
            product=old.product,
            plan=old.plan,
            billing=old.billing,
            quantity=old.quantity,
            unit_price=old.unit_price,
            amount=old.amount,
            ssp=old.ssp,
            ssp_reason=old.ssp_reason,
            recognition=old.recognition,
            series=old.series,
            **{
                f: getattr(old, f)
                for f in {*VARIABLE_FIELDS, "progress_measure", "progress_places"}
                if hasattr(old, f)
            },
            service_start=cut,
            service_end=end,
            position=old.position,
        )
        recorded.append(
            {"line": old.key, "restored_revision": old.revision, "to_revision": restored.revision}
        )
    for entry in amended.changes or []:
        if "added" in entry:
            line = contract.lines.get(key=entry["added"], created_in_version=version)
            line.service_end = line.service_start
            line.save(update_fields=["service_end"])
            recorded.append({"withdrawn": line.key})
        if "end_date" in entry:
            contract.end_date = date.fromisoformat(entry["end_date"]["from"])
            recorded.append({"end_date": {"from": entry["end_date"]["to"], "to": entry["end_date"]["from"]}})
    before_price = contract.transaction_price
    contract.version = new_version
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["version", "transaction_price", "end_date"])
    ContractVersion.objects.create(
        contract=contract,
        version=new_version,
        effective_date=amended.effective_date,
        kind="reversion",
        changes=jsonable([{"reverts_version": version, "reason": reason[:500]}, *recorded]),
        snapshot=contract_snapshot(contract),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action="contract.amendment_reverted",
        obj=contract,
        changes={
            "version": new_version,
            "reverts_version": version,
            "changes": recorded,
            "transaction_price": {"from": before_price, "to": contract.transaction_price},
        },
    )
    return contract
