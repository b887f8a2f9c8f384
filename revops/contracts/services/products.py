"""Product services (the catalog's shared part: billing and revenue both read products)."""

from __future__ import annotations

from django.db import transaction

from compliance.audit import audit_record
from revops.contracts.models import Product, RecognitionMethod
from revops.errors import FieldError, ValidationFailed

EDITABLE = ("name", "description", "recognition", "revenue_account", "active")


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
    if revenue_account is not None and (not revenue_account or not str(revenue_account).strip()):
        errors.append(FieldError("revenue_account", "A revenue account code is required."))
    return errors


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
        action="product.created",
        obj=product,
        changes={"code": code, "name": name, "recognition": recognition, "revenue_account": revenue_account},
    )
    return product


@transaction.atomic
def product_update(*, product: Product, actor=None, **changes) -> Product:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(
            "These fields cannot be changed.", errors=[FieldError(f, "read-only") for f in sorted(unknown)]
        )
    errors = _check(recognition=changes.get("recognition"), revenue_account=changes.get("revenue_account"))
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    product = Product.objects.select_for_update().get(pk=product.pk)
    diff = {k: {"from": getattr(product, k), "to": v} for k, v in changes.items() if getattr(product, k) != v}
    for key, value in changes.items():
        setattr(product, key, value)
    product.save()
    if diff:
        audit_record(actor=actor, action="product.updated", obj=product, changes=diff)
    return product
