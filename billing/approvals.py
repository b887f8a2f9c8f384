"""What approving billing's money levers does (revops.core.approvals, maker-checker):

- ``price_override``: a contract line priced beyond the threshold below list activates the contract
  (or applies the amendment) held in the request — only if the contract still prices exactly the
  lines of the payload;
- ``coupon_change``: a coupon is created or changed to exactly the payload's terms
  (billing.invoicing.coupons);
- ``goodwill_credit`` / ``purchased_credit``: a credit grant is created from the payload
  (billing.invoicing.credits.credit_grant_request); a purchased one names the payment that backs it.

Each handler runs inside ``approval_decide``'s transaction, so the decision, the change and their
audit events commit together or not at all. Called from ``BillingConfig.ready()``."""

from __future__ import annotations

from revops.core.audit.actions import AuditAction
from revops.errors import Conflict


def _requester(approval):
    return approval.requested_by or "system"


# --- price overrides -----------------------------------------------------------------------------------


def _override_approved(approval, user) -> None:
    from billing.contracts.models import Contract
    from billing.contracts.services import contract_activate, contract_amend

    payload = approval.payload or {}
    contract = Contract.objects.select_for_update().get(pk=int(approval.object_id))
    if payload.get("version") != contract.version:
        raise Conflict(
            f"{contract.number} changed since the override was requested (version {payload.get('version')} "
            f"→ {contract.version}); reject this request and ask again."
        )
    if payload.get("action") == "activate":
        contract_activate(contract=contract, actor=_requester(approval), approval=approval)
    elif payload.get("action") == "amend":
        from billing.contracts.services.scheduled import scheduled_change_decided

        amended = contract_amend(
            contract=contract,
            effective_date=payload["effective_date"],
            changes=payload["changes"],
            end_date=payload.get("end_date") or None,
            actor=_requester(approval),
            approval=approval,
        )
        scheduled_change_decided(approval=approval, version=amended.version)
    else:  # pragma: no cover - only the two actions are ever requested
        raise Conflict("Unknown price override request.")


def _override_rejected(approval, user) -> None:
    from billing.contracts.models import Contract
    from revops.core.audit.services import audit_record

    contract = Contract.objects.select_for_update().get(pk=int(approval.object_id))
    changes = {"approval": approval.pk, "action": (approval.payload or {}).get("action")}
    if (approval.payload or {}).get(
        "action"
    ) == "activate" and contract.status == Contract.Status.PENDING_APPROVAL:
        contract.status = Contract.Status.DRAFT
        contract.save(update_fields=["status"])
        changes["status"] = {"from": Contract.Status.PENDING_APPROVAL, "to": Contract.Status.DRAFT}
    audit_record(
        actor=user, action=AuditAction.CONTRACT_PRICE_OVERRIDE_REJECTED, obj=contract, changes=changes
    )
    if (approval.payload or {}).get("action") == "amend":
        from billing.contracts.services.scheduled import scheduled_change_decided

        scheduled_change_decided(approval=approval, version=None)


def override_previews(approvals) -> dict[int, dict]:
    """The approval queue's view of a price override: each line's list vs override price and the
    discount, against the threshold in force when it was requested."""
    out = {}
    for approval in approvals:
        payload = approval.payload or {}
        out[approval.pk] = {
            "action": payload.get("action"),
            "contract": payload.get("contract"),
            "customer": payload.get("customer"),
            "currency": payload.get("currency"),
            "effective_date": payload.get("effective_date"),
            "threshold_pct": payload.get("threshold_pct"),
            "overrides": payload.get("overrides", []),
        }
    return out


# --- goodwill credits ------------------------------------------------------------------------------------


def _credit_approved(approval, user) -> None:
    from datetime import date

    from billing.contracts.models import Contract
    from billing.invoicing.credits import credit_grant_create
    from revops.parties.models import Customer

    payload = approval.payload or {}
    customer = Customer.objects.get(pk=int(approval.object_id))
    if customer.external_id != payload.get("customer") or customer.currency != payload.get("currency"):
        raise Conflict("The customer is no longer the one the request names; reject it and ask again.")
    contract = None
    if payload.get("contract"):
        contract = Contract.objects.get(number=payload["contract"], customer=customer)
    credit_grant_create(
        customer=customer,
        contract=contract,
        amount=payload["amount"],
        granted_on=date.fromisoformat(payload["granted_on"]),
        expires_on=date.fromisoformat(payload["expires_on"]) if payload.get("expires_on") else None,
        reason=payload.get("reason", ""),
        kind=payload.get("kind") or "goodwill",
        payment_reference=payload.get("payment_reference") or "",
        actor=_requester(approval),
        approval=approval,
    )


def credit_previews(approvals) -> dict[int, dict]:
    """The approval queue's view of a credit grant: what is granted, what backs it, what posts."""
    out = {}
    for approval in approvals:
        payload = approval.payload or {}
        out[approval.pk] = {
            "kind": payload.get("kind") or "goodwill",
            "customer": payload.get("customer"),
            "contract": payload.get("contract"),
            "amount": payload.get("amount"),
            "currency": payload.get("currency"),
            "granted_on": payload.get("granted_on"),
            "expires_on": payload.get("expires_on"),
            "reason": payload.get("reason"),
            "payment_reference": payload.get("payment_reference"),
            "posting": payload.get("posting") or {},
        }
    return out


# --- coupons ---------------------------------------------------------------------------------------------

COUPON_TERMS = (
    ("name", "Name"),
    ("kind", "Kind"),
    ("value", "Value"),
    ("currency", "Currency"),
    ("duration", "Duration"),
    ("duration_periods", "Periods"),
    ("active", "Active"),
)


def coupon_previews(approvals) -> dict[int, dict]:
    """The approval queue's view of a coupon request: each term now and after approval."""
    out = {}
    for approval in approvals:
        payload = approval.payload or {}
        before, after = payload.get("before") or {}, payload.get("after") or {}
        rows = []
        for key, label in COUPON_TERMS:
            old, new = before.get(key), after.get(key)
            rows.append({"label": label, "before": old, "after": new, "changed": bool(before) and old != new})
        out[approval.pk] = {
            "action": payload.get("action"),
            "code": payload.get("code"),
            "version": payload.get("version") or 0,
            "rows": rows,
        }
    return out


def ready() -> None:
    from revops.core.approvals.registry import register_approval_kind, register_approval_preview

    register_approval_kind(
        "price_override",
        on_approved=_override_approved,
        on_rejected=_override_rejected,
        label="Price override",
    )
    register_approval_preview(
        "price_override", build=override_previews, template="billing/_approval_preview_override.html"
    )
    register_approval_kind("goodwill_credit", on_approved=_credit_approved, label="Goodwill credit")
    register_approval_kind(
        "purchased_credit", on_approved=_credit_approved, label="Purchased credit (payment received)"
    )
    for kind in ("goodwill_credit", "purchased_credit"):
        register_approval_preview(
            kind, build=credit_previews, template="billing/_approval_preview_credit.html"
        )
    from billing.invoicing import coupons

    register_approval_kind(
        coupons.KIND, on_approved=coupons.coupon_change_apply, label="Coupon creation or change"
    )
    register_approval_preview(
        coupons.KIND, build=coupon_previews, template="billing/_approval_preview_coupon.html"
    )
