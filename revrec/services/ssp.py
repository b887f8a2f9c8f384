"""The SSP book: versioned, effective-dated standalone selling prices; a change takes effect only
once an approver signs it off (maker-checker)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from revops.core.approvals.models import Approval
from revops.core.approvals.registry import register_approval_kind
from revops.core.approvals.services import approval_request
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import FieldError, ValidationFailed
from revops.money import is_currency
from revops.parties.models import Product
from revrec.models import SSPEntry

KIND = "ssp_change"


@transaction.atomic
def ssp_propose(
    *,
    product: str,
    currency: str,
    effective_from,
    method: str,
    ssp: Decimal | None = None,
    ssp_low: Decimal | None = None,
    ssp_high: Decimal | None = None,
    evidence: str = "",
    actor=None,
) -> SSPEntry:
    errors: list[FieldError] = []
    item = Product.objects.filter(code=product).first()
    if item is None:
        errors.append(FieldError("product", f"Unknown product '{product}'."))
    currency = (currency or "").upper()
    if not is_currency(currency):
        errors.append(FieldError("currency", f"Unknown currency '{currency}'."))
    for name, value in (("ssp", ssp), ("ssp_low", ssp_low), ("ssp_high", ssp_high)):
        if value is not None and value < 0:
            errors.append(FieldError(name, "Must not be negative."))
    if method != SSPEntry.Method.RESIDUAL and ssp is None and (ssp_low is None or ssp_high is None):
        errors.append(FieldError("ssp", "Give a point SSP or a range (ssp_low and ssp_high)."))
    if ssp_low is not None and ssp_high is not None and ssp_low > ssp_high:
        errors.append(FieldError("ssp_low", "The low end of the range exceeds the high end."))
    if method == SSPEntry.Method.RESIDUAL and (ssp_low is None or ssp_high is None):
        errors.append(FieldError("ssp_low", "A residual SSP needs the observable range it must fall in."))
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    version = (
        SSPEntry.objects.filter(product=item, currency=currency).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    entry = SSPEntry.objects.create(
        product=item,
        currency=currency,
        version=version,
        effective_from=effective_from,
        ssp=ssp,
        ssp_low=ssp_low,
        ssp_high=ssp_high,
        method=method,
        evidence=evidence,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.SSP_PROPOSED,
        obj=entry,
        changes={
            "product": product,
            "currency": currency,
            "version": version,
            "ssp": ssp,
            "low": ssp_low,
            "high": ssp_high,
            "method": method,
            "effective_from": effective_from,
        },
    )
    approval_request(
        kind=KIND,
        obj=entry,
        requested_by=actor,
        summary=f"SSP {product} {currency} v{version} from {effective_from}: "
        f"{ssp if ssp is not None else f'{ssp_low}–{ssp_high}'} ({method})",
    )
    return entry


def _approved(approval: Approval, user) -> None:
    entry = SSPEntry.objects.select_for_update().get(pk=approval.object_id)
    entry.status = SSPEntry.Status.APPROVED
    entry.approved_at = timezone.now()
    entry.save(update_fields=["status", "approved_at"])
    audit_record(actor=user, action=AuditAction.SSP_APPROVED, obj=entry, changes={"version": entry.version})


def _rejected(approval: Approval, user) -> None:
    entry = SSPEntry.objects.select_for_update().get(pk=approval.object_id)
    entry.status = SSPEntry.Status.REJECTED
    entry.save(update_fields=["status"])
    audit_record(
        actor=user, action=AuditAction.SSP_REJECTED, obj=entry, changes={"comment": approval.comment}
    )


def _content(approval: Approval) -> dict:
    """What approving applies (bound into the request's hash): the SSP entry as it stands."""
    e = SSPEntry.objects.select_related("product").get(pk=approval.object_id)
    return {
        "product": e.product.code,
        "currency": e.currency,
        "version": e.version,
        "effective_from": e.effective_from,
        "method": e.method,
        "ssp": e.ssp,
        "ssp_low": e.ssp_low,
        "ssp_high": e.ssp_high,
        "evidence": e.evidence,
    }


def register() -> None:
    register_approval_kind(
        KIND, on_approved=_approved, on_rejected=_rejected, label="SSP change", content=_content
    )
