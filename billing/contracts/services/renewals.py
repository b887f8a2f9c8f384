"""Renewals (issue 17 §1; accounting.md §11): setting a contract's renewal policy, giving notice of
non-renewal, and renewing the contracts whose term ends — the first step of the due work
(``billing.contracts.services.due``).

A renewal is a new contract version. The lines that run to the term's end (recurring and usage) end
there and each is followed by a new line (key ``<root>-r<n>``) from the renewal date to the new term's
end, priced with the policy's uplift; the contract's end date moves to the new term's end; the version
is recorded (kind ``renewal``), audited and announced (``contract.renewed``, which revenue recognition
takes as a new contract: its own performance obligations, allocation and schedules). A renewal that
prices a line more than the price-override threshold below its plan's list, or changes the term's
length, waits for an approver (kind ``contract_renewal``) and renews nothing until approved.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from billing.contracts.extensions import check_contract_change
from billing.contracts.models import Contract, ContractLine, ContractRenewal, RenewalPolicy
from billing.contracts.overrides import line_override, norm, threshold_pct
from billing.contracts.renewals import (
    cancellation_scheduled,
    current_term_start,
    months_between,
    next_term,
    policy_of,
    renewable_lines,
    renewal_outlook,
    renewed_price,
)
from billing.contracts.services.versions import contract_version_record
from billing.contracts.validation import raise_if_invalid
from billing.contracts.value import contract_transaction_price, line_fixed_value
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.outbox import outbox_publish
from revops.errors import Conflict, DomainError, FieldError, InvalidTransition
from revops.jsonsafe import jsonable

log = logging.getLogger(__name__)

KIND = "contract_renewal"
ACTOR = "renewals"  # who the daily step acts as
MAX_TERM_MONTHS = 120
MAX_NOTICE_DAYS = 730
_SUFFIX = re.compile(r"-r\d+$")


# --- policy ----------------------------------------------------------------------------------------


def clean_policy(data: dict | None, errors: list[FieldError], *, prefix: str = "renewal") -> dict | None:
    """The renewal object of the API (``{"policy", "term_months"?, "notice_days"?, "uplift_percent"?,
    "uplift_to_list"?}``) checked; None when absent."""
    if data is None:
        return None
    if not isinstance(data, dict):
        errors.append(FieldError(prefix, "Must be an object."))
        return None
    unknown = sorted(set(data) - {"policy", "term_months", "notice_days", "uplift_percent", "uplift_to_list"})
    for name in unknown:
        errors.append(FieldError(f"{prefix}.{name}", "Unknown field."))
    policy = data.get("policy", RenewalPolicy.Policy.NONE)
    if policy not in RenewalPolicy.Policy.values:
        errors.append(FieldError(f"{prefix}.policy", "Must be 'none', 'termed' or 'evergreen'."))
    term = data.get("term_months")
    if policy == RenewalPolicy.Policy.TERMED:
        if not isinstance(term, int) or isinstance(term, bool) or not 1 <= term <= MAX_TERM_MONTHS:
            errors.append(
                FieldError(f"{prefix}.term_months", f"A termed renewal needs 1–{MAX_TERM_MONTHS} months.")
            )
    elif term is not None:
        errors.append(FieldError(f"{prefix}.term_months", "Only a termed renewal has a term."))
    notice = data.get("notice_days", 0)
    if not isinstance(notice, int) or isinstance(notice, bool) or not 0 <= notice <= MAX_NOTICE_DAYS:
        errors.append(
            FieldError(f"{prefix}.notice_days", f"Must be a whole number of days, 0–{MAX_NOTICE_DAYS}.")
        )
    try:
        uplift = Decimal(str(data.get("uplift_percent", "0")))
        if (
            not uplift.is_finite()
            or not Decimal(0) <= uplift <= Decimal(100)
            or uplift.as_tuple().exponent < -2
        ):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        uplift = Decimal(0)
        errors.append(FieldError(f"{prefix}.uplift_percent", "A percentage from 0 to 100 (two decimals)."))
    to_list = data.get("uplift_to_list", False)
    if not isinstance(to_list, bool):
        errors.append(FieldError(f"{prefix}.uplift_to_list", "Must be true or false."))
    elif to_list and uplift:
        errors.append(
            FieldError(f"{prefix}.uplift_percent", "Renew at the list price or by a percentage, not both.")
        )
    return {
        "policy": policy,
        "term_months": term if policy == RenewalPolicy.Policy.TERMED else None,
        "notice_days": notice if isinstance(notice, int) else 0,
        "uplift_percent": uplift,
        "uplift_to_list": bool(to_list) if isinstance(to_list, bool) else False,
    }


def policy_dict(policy: RenewalPolicy | None) -> dict:
    if policy is None:
        return {
            "policy": "none",
            "term_months": None,
            "notice_days": 0,
            "uplift_percent": "0.00",
            "uplift_to_list": False,
        }
    return {
        "policy": policy.policy,
        "term_months": policy.term_months,
        "notice_days": policy.notice_days,
        "uplift_percent": f"{Decimal(policy.uplift_percent):.2f}",
        "uplift_to_list": policy.uplift_to_list,
    }


def policy_create(*, contract: Contract, cleaned: dict | None) -> RenewalPolicy | None:
    """The policy a new contract is created with (in ``contract_create``'s transaction and audit)."""
    if cleaned is None:
        return None
    return RenewalPolicy.objects.create(contract=contract, **cleaned)


@transaction.atomic
def renewal_policy_set(
    *, contract: Contract, renewal: dict, actor=None, today: date | None = None
) -> RenewalPolicy:
    """Change a contract's renewal policy (audited). Refused on a terminated or expired contract. Stopping
    renewal (policy ``none``) is a notice of non-renewal: refused once the notice deadline has passed
    (409 naming it) — the contract then renews on its date and can be cancelled in the next term."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    errors: list[FieldError] = []
    cleaned = clean_policy(renewal, errors)
    raise_if_invalid(errors)
    if contract.status not in (
        Contract.Status.DRAFT,
        Contract.Status.PENDING_APPROVAL,
        Contract.Status.ACTIVE,
    ) or (contract.terminated_on is not None):
        raise InvalidTransition(f"A {contract.get_status_display().lower()} contract does not renew.")
    today = today or timezone.localdate()
    before = policy_of(contract)
    old = policy_dict(before)
    if contract.status == Contract.Status.ACTIVE:
        if (
            today >= contract.end_date
            and ContractRenewal.objects.filter(
                contract=contract,
                term_start=contract.end_date,
                status=ContractRenewal.Status.PENDING_APPROVAL,
            ).exists()
        ):
            raise Conflict(f"{contract.number}'s renewal on {contract.end_date} waits for an approver.")
        outlook = renewal_outlook(contract, today=today)
        if outlook.will_renew and cleaned["policy"] == RenewalPolicy.Policy.NONE and not outlook.notice_open:
            raise Conflict(
                f"Notice of non-renewal of {contract.number} had to be given by {outlook.notice_deadline} "
                f"({before.notice_days} days before the term ends on {contract.end_date}); it renews then.",
                field="renewal.policy",
            )
    if before is None:
        policy = RenewalPolicy.objects.create(contract=contract, **cleaned)
    else:
        RenewalPolicy.objects.filter(pk=before.pk).update(**cleaned, updated_at=timezone.now())
        policy = RenewalPolicy.objects.get(pk=before.pk)
    new = policy_dict(policy)
    if new != old:
        audit_record(
            actor=actor,
            action=AuditAction.CONTRACT_RENEWAL_POLICY_CHANGED,
            obj=contract,
            changes={k: {"from": old[k], "to": new[k]} for k in new if new[k] != old[k]},
        )
    contract.renewal_policy = policy
    return policy


def renewal_decline(*, contract: Contract, actor=None, today: date | None = None) -> RenewalPolicy:
    """Notice of non-renewal: the policy becomes ``none`` (keeping the notice period), if the notice is
    on time (see :func:`billing.contracts.renewals.notice_on_time`); 409 otherwise."""
    current = policy_dict(policy_of(contract))
    keep = {"notice_days": current["notice_days"]}
    return renewal_policy_set(contract=contract, renewal={"policy": "none", **keep}, actor=actor, today=today)


# --- renewing ----------------------------------------------------------------------------------------


def _root(contract: Contract, key: str) -> str:
    """The key a renewed line descends from (``seats`` for ``seats-r2``), from the earlier renewals."""
    for renewal in ContractRenewal.objects.filter(contract=contract).order_by("-sequence"):
        for line in renewal.lines or []:
            if line.get("key") == key:
                return line.get("root") or key
    return key


def _new_key(root: str, sequence: int, taken: set[str]) -> str:
    suffix = f"-r{sequence}"
    key = f"{root[: 64 - len(suffix)]}{suffix}"
    n = 1
    while key in taken:
        n += 1
        extra = f"-r{sequence}-{n}"
        key = f"{root[: 64 - len(extra)]}{extra}"
    return key


def _plan(contract: Contract, policy: RenewalPolicy, sequence: int) -> tuple:
    """The next renewal as unsaved lines: (term start, term end, lines, their record, reasons it
    needs an approver, the lines' price overrides as the approval binds them)."""
    old_lines = renewable_lines(contract)
    start, end, months = next_term(contract, policy, old_lines)
    taken = set(contract.lines.values_list("key", flat=True))
    version = contract.version + 1
    lines, recorded, reasons, overrides = [], [], [], []
    for old in old_lines:
        root = _root(contract, old.key)
        key = _new_key(root, sequence, taken)
        taken.add(key)
        price = (
            renewed_price(old, policy, start)
            if old.billing == ContractLine.Billing.RECURRING
            else old.unit_price
        )
        new = ContractLine(
            contract=contract,
            key=key,
            product=old.product,
            plan=old.plan,
            billing=old.billing,
            quantity=old.quantity,
            unit_price=price,
            amount=old.amount,
            ssp=old.ssp,
            ssp_reason=old.ssp_reason,
            recognition=old.recognition,
            series=old.series,
            progress_measure=old.progress_measure,
            progress_places=old.progress_places,
            service_start=start,
            service_end=None,
            position=old.position,
            created_in_version=version,
            supersedes=old,  # the line it continues: its price decision carries on (overrides)
        )
        lines.append(new)
        entry = {
            "renews": old.key,
            "key": key,
            "root": root,
            "unit_price": {
                "from": None if old.unit_price is None else norm(old.unit_price),
                "to": None if price is None else norm(price),
            },
        }
        override = line_override(new, contract)
        if override is not None:  # the price-override rule, as for an amendment (overrides.py)
            overrides.append(override)
            for why in override["reasons"]:
                reasons.append(_reason(why, key, override))
        recorded.append(entry)
    previous = months_between(current_term_start(contract), start)
    if previous != months:
        reasons.append({"reason": "term_change", "from_months": previous, "to_months": months})
    return start, end, lines, recorded, reasons, overrides


def _reason(why: str, key: str, override: dict) -> dict:
    """Why a renewed line needs an approver, in the price-override rule's words: ``below_list`` (more
    than the threshold below the plan's list), ``reduced`` (cut by more than it against the line it
    continues) or ``custom`` (a custom price that replaces a plan's)."""
    out = {"reason": {"list": "below_list"}.get(why, why), "line": key, "threshold_pct": str(threshold_pct())}
    if why == "list":
        out.update(
            discount_pct=override["discount_pct"], pays=override["pays"], list_pays=override["list_pays"]
        )
    elif why == "reduced":
        out.update(
            reduction_pct=override["reduction_pct"],
            pays=override["pays"],
            previous_pays=override["previous_pays"],
        )
    return out


def contract_renew(*, contract: Contract, as_of: date, actor=ACTOR) -> ContractRenewal | None:
    """Renew CONTRACT once if its term ended on or before ``as_of`` (in the caller's transaction):
    the renewal applied, or waiting for an approver. None when it is not due — not active, terminated,
    not renewing, its term still running, or this term already renewed or asked for (idempotent)."""
    contract = Contract.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contract.pk)
    policy = policy_of(contract)
    if (
        contract.status != Contract.Status.ACTIVE
        or contract.terminated_on is not None
        or policy is None
        or policy.policy == RenewalPolicy.Policy.NONE
        or contract.end_date > as_of
        or ContractRenewal.objects.filter(contract=contract, term_start=contract.end_date).exists()
        or cancellation_scheduled(contract)  # cancelled at the term's (or period's) end: it ends there
    ):
        return None
    check_contract_change(contract)  # e.g. a contract modification still waiting (accounting.md §10)
    sequence = (ContractRenewal.objects.filter(contract=contract).aggregate(n=Max("sequence"))["n"] or 0) + 1
    start, end, lines, recorded, reasons, overrides = _plan(contract, policy, sequence)
    if not lines:
        return None  # nothing runs to the term's end: nothing to renew
    renewal = ContractRenewal.objects.create(
        contract=contract,
        sequence=sequence,
        term_start=start,
        term_end=end,
        status=ContractRenewal.Status.PENDING_APPROVAL if reasons else ContractRenewal.Status.APPLIED,
        policy=policy.policy,
        uplift_percent=policy.uplift_percent,
        uplift_to_list=policy.uplift_to_list,
        reasons=jsonable(reasons),
        lines=jsonable(recorded),
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    if reasons:
        return _request(contract, renewal, lines, overrides, actor=actor)
    return _apply(contract, renewal, lines, actor=actor)


def _line_fields(line: ContractLine) -> dict:
    return {
        "key": line.key,
        "product": line.product.code,
        "plan": line.plan.code if line.plan_id else None,
        "billing": line.billing,
        "quantity": norm(line.quantity),
        "unit_price": None if line.unit_price is None else norm(line.unit_price),
        "amount": None if line.amount is None else norm(line.amount),
    }


def _summary(contract: Contract, renewal: ContractRenewal) -> str:
    why = []
    for r in renewal.reasons:
        if r["reason"] == "below_list":
            why.append(f"{r['line']} {r['discount_pct']}% below list (threshold {r['threshold_pct']}%)")
        elif r["reason"] == "reduced":
            why.append(f"{r['line']} {r['reduction_pct']}% below its current price")
        elif r["reason"] == "custom":
            why.append(f"{r['line']} takes a custom price")
        else:
            why.append(f"term changes from {r['from_months'] or '?'} to {r['to_months']} months")
    return f"{contract.number} renewal {renewal.term_start} – {renewal.term_end}: " + "; ".join(why)


def _request(
    contract: Contract, renewal: ContractRenewal, lines: list[ContractLine], overrides: list[dict], *, actor
) -> ContractRenewal:
    from revops.core.approvals.services import approval_request

    approval = approval_request(
        kind=KIND,
        obj=contract,
        summary=_summary(contract, renewal),
        payload={
            "renewal": renewal.pk,
            "contract": contract.number,
            "version": contract.version,
            "term_start": str(renewal.term_start),
            "term_end": str(renewal.term_end),
            "reasons": renewal.reasons,
            "lines": [_line_fields(ln) for ln in lines],
            # the renewed lines' prices as a price override binds them: the control
            # price_overrides_approved counts an approved renewal as their approval
            "overrides": overrides,
        },
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_RENEWAL_REQUESTED,
        obj=contract,
        changes={
            "renewal": renewal.sequence,
            "term_start": renewal.term_start,
            "term_end": renewal.term_end,
            "reasons": renewal.reasons,
            "approval": approval.pk,
        },
    )
    outbox_publish(
        topic="contract.renewal_pending_approval",
        obj=contract,
        payload={
            "contract": contract.pk,
            "number": contract.number,
            "renewal": renewal.sequence,
            "term_start": renewal.term_start,
            "term_end": renewal.term_end,
            "reasons": renewal.reasons,
            "approval": approval.pk,
        },
    )
    renewal.approval = approval
    return renewal


def _apply(
    contract: Contract, renewal: ContractRenewal, lines: list[ContractLine], *, actor, approval=None
) -> ContractRenewal:
    from billing.contracts.services.override_requests import override_rebind

    start, end = renewal.term_start, renewal.term_end
    version = contract.version + 1
    renewed = {ln["renews"] for ln in renewal.lines}
    for old in renewable_lines(contract):
        if old.key in renewed and old.service_end is None:
            old.service_end = start  # it ran to the term's end; the renewal line follows it
            old.save(update_fields=["service_end"])
    for line in lines:
        line.contract, line.created_in_version = contract, version
        line.save()
    before_end, before_price = contract.end_date, contract.transaction_price
    contract.end_date = end
    contract.version = version
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["end_date", "version", "transaction_price"])
    term_price = sum((line_fixed_value(ln, contract) for ln in lines), Decimal(0))
    renewal.status = ContractRenewal.Status.APPLIED
    renewal.contract_version = version
    renewal.term_price = term_price
    renewal.decided_at = timezone.now()
    renewal.save(update_fields=["status", "contract_version", "term_price", "decided_at"])
    changes = [
        {
            "renewal": renewal.sequence,
            "term_start": str(start),
            "term_end": str(end),
            "policy": renewal.policy,
        },
        *renewal.lines,
        {"end_date": {"from": str(before_end), "to": str(end)}},
    ]
    contract_version_record(
        contract=contract,
        version=version,
        effective_date=start,
        kind="renewal",
        changes=jsonable(changes),
        actor=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_RENEWED,
        obj=contract,
        changes={
            "renewal": renewal.sequence,
            "version": version,
            "term_start": start,
            "term_end": end,
            "uplift_percent": renewal.uplift_percent,
            "uplift_to_list": renewal.uplift_to_list,
            "lines": renewal.lines,
            "term_price": term_price,
            "transaction_price": {"from": before_price, "to": contract.transaction_price},
            **({"approval": approval.pk} if approval is not None else {}),
        },
    )
    outbox_publish(
        topic="contract.renewed",
        obj=contract,
        payload={
            "contract": contract.pk,
            "number": contract.number,
            "version": version,
            "renewal": renewal.sequence,
            "term_start": start,
            "term_end": end,
            "term_price": term_price,
            "currency": contract.currency,
            "lines": [ln.key for ln in lines],
            "actor_id": getattr(actor, "pk", None),
        },
    )
    override_rebind(contract, actor=actor)
    return renewal


def contracts_renew_due(*, as_of: date, customers: list[str] | None = None) -> int:
    """The due step (``DUE_STEPS``): renew every contract whose term ended on or before ``as_of``, each
    renewal in its own transaction; an evergreen contract several intervals behind renews once per
    interval. Due contracts are found set-based; a contract locked, renewed or asked for meanwhile is
    skipped (the renewal of a term happens once: unique per contract and term start). A contract that
    cannot renew now (a contract modification waits for approval, §10) is left for the next run, not
    billed beyond its end. Returns how many renewals were applied or requested."""
    due = Contract.objects.filter(
        status=Contract.Status.ACTIVE,
        terminated_on__isnull=True,
        end_date__lte=as_of,
        renewal_policy__policy__in=[RenewalPolicy.Policy.TERMED, RenewalPolicy.Policy.EVERGREEN],
    ).exclude(
        Exists(ContractRenewal.objects.filter(contract=OuterRef("pk"), term_start=OuterRef("end_date")))
    )
    if customers:
        due = due.filter(customer__external_id__in=customers)
    changed = 0
    for pk in due.order_by("pk").values_list("pk", flat=True):
        while True:
            try:
                with transaction.atomic():
                    renewal = contract_renew(contract=Contract(pk=pk), as_of=as_of)
            except DomainError as exc:
                log.warning("contract %s not renewed as of %s: %s", pk, as_of, exc)
                break
            if renewal is None:
                break
            changed += 1
            if renewal.status != ContractRenewal.Status.APPLIED:
                break
    return changed


# --- approval ----------------------------------------------------------------------------------------


def _renewal_of(approval) -> ContractRenewal:
    renewal = ContractRenewal.objects.select_for_update().get(pk=(approval.payload or {}).get("renewal"))
    if renewal.status != ContractRenewal.Status.PENDING_APPROVAL:
        raise InvalidTransition(f"This renewal is {renewal.get_status_display().lower()}.")
    return renewal


def _approved(approval, user) -> None:
    """Apply the renewal exactly as the request shows it, provided the contract is still at the term
    it renews (same version, active, not terminated)."""
    renewal = _renewal_of(approval)
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=renewal.contract_id)
    )
    payload = approval.payload or {}
    if (
        contract.status != Contract.Status.ACTIVE
        or contract.terminated_on is not None
        or contract.end_date != renewal.term_start
        or contract.version != payload.get("version")
    ):
        raise Conflict(
            f"{contract.number} changed since its renewal was asked for; it no longer applies as shown."
        )
    check_contract_change(contract)
    from billing.models import Plan
    from revops.parties.models import Product

    lines = []
    old = {ln.key: ln for ln in renewable_lines(contract)}
    for fields, record in zip(payload.get("lines", []), renewal.lines, strict=True):
        source = old[record["renews"]]
        lines.append(
            ContractLine(
                key=fields["key"],
                product=Product.objects.get(code=fields["product"]),
                plan=Plan.objects.get(code=fields["plan"]) if fields["plan"] else None,
                billing=fields["billing"],
                quantity=Decimal(fields["quantity"]),
                unit_price=None if fields["unit_price"] is None else Decimal(fields["unit_price"]),
                amount=None if fields["amount"] is None else Decimal(fields["amount"]),
                ssp=source.ssp,
                ssp_reason=source.ssp_reason,
                recognition=source.recognition,
                series=source.series,
                progress_measure=source.progress_measure,
                progress_places=source.progress_places,
                service_start=renewal.term_start,
                position=source.position,
                supersedes=source,
            )
        )
    _apply(contract, renewal, lines, actor=user, approval=approval)


def _rejected(approval, user) -> None:
    """Not renewed: the contract ends with its term (billing stops there); the renewal is kept, rejected."""
    renewal = _renewal_of(approval)
    renewal.status = ContractRenewal.Status.REJECTED
    renewal.decided_at = timezone.now()
    renewal.save(update_fields=["status", "decided_at"])
    audit_record(
        actor=user,
        action=AuditAction.CONTRACT_RENEWAL_REJECTED,
        obj=renewal.contract,
        changes={"renewal": renewal.sequence, "term_start": renewal.term_start, "comment": approval.comment},
    )


def register() -> None:
    from revops.core.approvals.registry import register_approval_kind

    register_approval_kind(KIND, on_approved=_approved, on_rejected=_rejected, label="Contract renewal")
