"""Product services (the catalog's shared part: billing and revenue both read products).

A product's revenue maps only to a revenue account (``revops.books.revenue_account_errors``). Once
the product has postings, moving its revenue to another account is a money lever: the change is
requested (kind ``product_account_change``) and applied only when someone else approves it, from
exactly what the approval's payload says."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from revops.books import product_has_postings, revenue_account_errors
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, FieldError, ValidationFailed
from revops.parties.models import Product, RecognitionMethod

EDITABLE = ("name", "description", "recognition", "revenue_account", "active")
ACCOUNT_CHANGE = "product_account_change"
RECOGNITION_CHANGE = "product_recognition_change"  # the sibling lever: how the product's revenue is earned


def _check(*, recognition: str | None, revenue_account: str | None) -> list[FieldError]:
    errors = []
    if recognition is not None and recognition not in RecognitionMethod.values:
        errors.append(
            FieldError(
                "recognition",
                f"Unknown recognition method '{recognition}'. "
                f"Choose one of: {', '.join(RecognitionMethod.values)}.",
            )
        )
    if revenue_account is not None:
        errors.extend(revenue_account_errors(revenue_account))
    return errors


def _code(value) -> str:
    return str(value or "").strip()


@transaction.atomic
def product_create(
    *,
    code: str,
    name: str,
    recognition: str = RecognitionMethod.RATABLE_DAILY,
    revenue_account: str = "4000",
    description: str = "",
    active: bool = True,
    actor=None,
) -> Product:
    errors = _check(recognition=recognition, revenue_account=revenue_account)
    if Product.objects.filter(code=code).exists():
        errors.append(FieldError("code", f"A product with code '{code}' already exists."))
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    revenue_account = _code(revenue_account)
    product = Product.objects.create(
        code=code,
        name=name,
        recognition=recognition,
        revenue_account=revenue_account,
        description=description,
        active=active,
    )
    audit_record(
        actor=actor,
        action=AuditAction.PRODUCT_CREATED,
        obj=product,
        changes={"code": code, "name": name, "recognition": recognition, "revenue_account": revenue_account},
    )
    return product


@dataclass
class ProductUpdate:
    product: Product
    approval: object | None = None  # the pending product_account_change request, if one was opened


@transaction.atomic
def product_update(*, product: Product, actor=None, **changes) -> Product:
    """Change a product. A new revenue account for a product that already has postings is not applied
    here: an approval request is opened instead (see :func:`product_update_requested`)."""
    return product_update_requested(product=product, actor=actor, **changes).product


@transaction.atomic
def product_update_requested(*, product: Product, actor=None, **changes) -> ProductUpdate:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(
            "These fields cannot be changed.", errors=[FieldError(f, "read-only") for f in sorted(unknown)]
        )
    errors = _check(recognition=changes.get("recognition"), revenue_account=changes.get("revenue_account"))
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    product = Product.objects.select_for_update().get(pk=product.pk)
    approval = None
    if "revenue_account" in changes:
        new = _code(changes.pop("revenue_account"))
        if new != product.revenue_account:
            if product_has_postings(product):
                approval = _request_account_change(product=product, to=new, actor=actor)
            else:
                changes["revenue_account"] = new
    if "recognition" in changes and changes["recognition"] != product.recognition:
        if product_has_postings(product):
            if approval is not None:
                raise ValidationFailed(
                    "Change the revenue account and the recognition method of a product with postings "
                    "one at a time (each needs its own approval).",
                    field="recognition",
                )
            approval = _request_recognition_change(
                product=product, to=changes.pop("recognition"), actor=actor
            )
    elif "recognition" in changes:
        changes.pop("recognition")
    diff = {k: {"from": getattr(product, k), "to": v} for k, v in changes.items() if getattr(product, k) != v}
    for key, value in changes.items():
        setattr(product, key, value)
    product.save()
    if diff:
        audit_record(actor=actor, action=AuditAction.PRODUCT_UPDATED, obj=product, changes=diff)
    return ProductUpdate(product=product, approval=approval)


def _request_account_change(*, product: Product, to: str, actor):
    from revops.core.approvals.services import approval_request

    payload = {"product": product.code, "revenue_account": {"from": product.revenue_account, "to": to}}
    approval = approval_request(
        kind=ACCOUNT_CHANGE,
        obj=product,
        requested_by=actor,
        summary=f"Product {product.code}: revenue account {product.revenue_account} → {to} "
        "(the product has postings)",
        payload=payload,
    )
    if approval.payload != payload:
        raise Conflict(
            f"Another revenue account change for {product.code} is waiting for approval "
            f"(request #{approval.pk}: {approval.summary}). It must be decided first.",
            field="revenue_account",
        )
    audit_record(
        actor=actor,
        action=AuditAction.PRODUCT_ACCOUNT_CHANGE_REQUESTED,
        obj=product,
        changes={**payload["revenue_account"], "approval": approval.pk},
    )
    return approval


def _account_change_approved(approval, user) -> None:
    """Apply exactly what was approved (the payload), if the product still maps where it did."""
    change = approval.payload["revenue_account"]
    product = Product.objects.select_for_update().get(pk=approval.object_id)
    if product.code != approval.payload["product"] or product.revenue_account != change["from"]:
        raise Conflict(
            f"Product {product.code} no longer maps to {change['from']} (now {product.revenue_account}); "
            "reject this request and ask again.",
            field="revenue_account",
        )
    errors = revenue_account_errors(change["to"])
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    product.revenue_account = change["to"]
    product.save(update_fields=["revenue_account"])
    audit_record(
        actor=user,
        action=AuditAction.PRODUCT_UPDATED,
        obj=product,
        changes={
            "revenue_account": {"from": change["from"], "to": change["to"]},
            "approval": approval.pk,
            "requested_by": approval.requested_by.username if approval.requested_by_id else None,
        },
    )


def _account_change_rejected(approval, user) -> None:
    audit_record(
        actor=user,
        action=AuditAction.PRODUCT_ACCOUNT_CHANGE_REJECTED,
        object_type=approval.object_type,
        object_id=approval.object_id,
        changes={**approval.payload.get("revenue_account", {}), "approval": approval.pk},
    )


def _request_recognition_change(*, product: Product, to: str, actor):
    from revops.core.approvals.services import approval_request

    payload = {"product": product.code, "recognition": {"from": product.recognition, "to": to}}
    approval = approval_request(
        kind=RECOGNITION_CHANGE,
        obj=product,
        requested_by=actor,
        summary=f"Product {product.code}: recognition {product.recognition} → {to} (the product has postings)",
        payload=payload,
    )
    if approval.payload != payload:
        raise Conflict(
            f"Another change to {product.code} is waiting for approval "
            f"(request #{approval.pk}: {approval.summary}). It must be decided first.",
            field="recognition",
        )
    audit_record(
        actor=actor,
        action=AuditAction.PRODUCT_RECOGNITION_CHANGE_REQUESTED,
        obj=product,
        changes={**payload["recognition"], "approval": approval.pk},
    )
    return approval


def _recognition_change_approved(approval, user) -> None:
    """Apply exactly what was approved (the payload), if the product is still recognized as it was."""
    change = approval.payload["recognition"]
    product = Product.objects.select_for_update().get(pk=approval.object_id)
    if product.code != approval.payload["product"] or product.recognition != change["from"]:
        raise Conflict(
            f"Product {product.code} is no longer recognized {change['from']} (now {product.recognition}); "
            "reject this request and ask again.",
            field="recognition",
        )
    errors = _check(recognition=change["to"], revenue_account=None)
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    product.recognition = change["to"]
    product.save(update_fields=["recognition"])
    audit_record(
        actor=user,
        action=AuditAction.PRODUCT_UPDATED,
        obj=product,
        changes={
            "recognition": {"from": change["from"], "to": change["to"]},
            "approval": approval.pk,
            "requested_by": approval.requested_by.username if approval.requested_by_id else None,
        },
    )


def _recognition_change_rejected(approval, user) -> None:
    audit_record(
        actor=user,
        action=AuditAction.PRODUCT_RECOGNITION_CHANGE_REJECTED,
        object_type=approval.object_type,
        object_id=approval.object_id,
        changes={**approval.payload.get("recognition", {}), "approval": approval.pk},
    )


def register() -> None:
    from revops.core.approvals.registry import register_approval_kind

    register_approval_kind(
        ACCOUNT_CHANGE,
        on_approved=_account_change_approved,
        on_rejected=_account_change_rejected,
        label="Product revenue account change",
    )
    register_approval_kind(
        RECOGNITION_CHANGE,
        on_approved=_recognition_change_approved,
        on_rejected=_recognition_change_rejected,
        label="Product recognition method change",
    )
