"""Customer services."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.apps import apps
from django.conf import settings
from django.db import transaction

from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.ids import parse_id
from revops.errors import Conflict, FieldError, ValidationFailed
from revops.money import is_currency
from revops.parties.models import Customer, LegalEntity
from revops.parties.models.customers import MAX_GRACE_HOURS

EDITABLE = ("name", "email", "timezone", "tax_rate", "address", "currency", "auto_finalize_grace_hours")


def default_legal_entity() -> LegalEntity:
    entity = LegalEntity.objects.order_by("id").first()
    if entity is None:
        entity = LegalEntity.objects.create(
            code="default",
            name=settings.CONCORD["LEGAL_ENTITY"],
            currency=settings.CONCORD["DEFAULT_CURRENCY"],
        )
    return entity


def grace_hours_errors(value, *, field: str = "auto_finalize_grace_hours") -> list[FieldError]:
    """A grace period in whole hours, 0 (at once) to a year; None (no own grace period) is valid."""
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_HOURS:
        return [FieldError(field, f"A grace period is a whole number of hours from 0 to {MAX_GRACE_HOURS}.")]
    return []


def _errors(*, currency=None, timezone=None, tax_rate=None) -> list[FieldError]:
    errors = []
    if currency is not None and not is_currency(currency):
        errors.append(FieldError("currency", f"Unknown currency '{currency}'."))
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(
                FieldError("timezone", f"Unknown IANA time zone '{timezone}' (e.g. 'Europe/Berlin').")
            )
    if tax_rate is not None and not (Decimal(0) <= Decimal(tax_rate) <= Decimal(100)):
        errors.append(FieldError("tax_rate", "A tax rate is a percentage between 0 and 100."))
    return errors


@transaction.atomic
def customer_create(
    *,
    external_id: str,
    name: str,
    currency: str,
    timezone: str = "UTC",
    email: str = "",
    tax_rate: Decimal = Decimal(0),
    address: str = "",
    legal_entity: LegalEntity | None = None,
    auto_finalize_grace_hours: int | None = None,
    actor=None,
) -> Customer:
    currency = (currency or "").upper()
    errors = _errors(currency=currency, timezone=timezone, tax_rate=tax_rate)
    errors += grace_hours_errors(auto_finalize_grace_hours)
    if Customer.objects.filter(external_id=external_id).exists():
        errors.append(
            FieldError("external_id", f"A customer with external_id '{external_id}' already exists.")
        )
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    customer = Customer.objects.create(
        external_id=external_id,
        name=name,
        currency=currency,
        timezone=timezone,
        email=email,
        tax_rate=tax_rate,
        address=address,
        legal_entity=legal_entity or default_legal_entity(),
        auto_finalize_grace_hours=auto_finalize_grace_hours,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_CREATED,
        obj=customer,
        changes={
            "external_id": external_id,
            "name": name,
            "currency": currency,
            "timezone": timezone,
            "tax_rate": tax_rate,
        }
        | (
            {}
            if auto_finalize_grace_hours is None
            else {"auto_finalize_grace_hours": auto_finalize_grace_hours}
        ),
    )
    return customer


def currency_uses(customer: Customer) -> list[str]:
    """What is booked or waits in the customer's currency (empty: the currency may still change):
    contracts, invoices, credit grants, usage events, and pending requests that name the currency (a
    credit request). Every journal posting of a customer comes from one of these (an invoice, its
    payments and credit notes, a credit grant or expiry, a contract's recognition), so none is missed.
    Models of the layers above are looked up by label (no import from ``revops``)."""
    from revops.core.approvals.models import Approval

    checks = (
        ("contracts", customer.contracts.all()),
        ("invoices", apps.get_model("billing", "Invoice").objects.filter(customer=customer)),
        ("credit grants", apps.get_model("billing", "CreditGrant").objects.filter(customer=customer)),
        ("usage", apps.get_model("billing", "UsageEvent").objects.filter(customer=customer)),
        (
            "a pending credit request",
            Approval.objects.filter(
                object_type=Customer._meta.label_lower,
                object_id=str(customer.pk),
                status=Approval.Status.PENDING,
                payload__currency=customer.currency,
            ),
        ),
    )
    return [name for name, qs in checks if qs.exists()]


@transaction.atomic
def customer_update(*, customer: Customer, actor=None, **changes) -> Customer:
    bad = set(changes) - set(EDITABLE)
    if bad:
        raise ValidationFailed(
            "These fields cannot be changed.", errors=[FieldError(f, "read-only") for f in sorted(bad)]
        )
    if "currency" in changes:
        changes["currency"] = (changes["currency"] or "").upper()
    errors = _errors(
        currency=changes.get("currency"), timezone=changes.get("timezone"), tax_rate=changes.get("tax_rate")
    )
    errors += grace_hours_errors(changes.get("auto_finalize_grace_hours"))
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    if "currency" in changes and changes["currency"] != customer.currency:
        used = currency_uses(customer)
        if used:
            message = (
                f"The customer's currency can no longer change: {customer.name} has "
                f"{', '.join(used)} in {customer.currency}."
            )
            raise Conflict(message, field="currency")
    diff = {
        k: {"from": getattr(customer, k), "to": v} for k, v in changes.items() if getattr(customer, k) != v
    }
    for key, value in changes.items():
        setattr(customer, key, value)
    customer.save()
    if diff:
        audit_record(actor=actor, action=AuditAction.CUSTOMER_UPDATED, obj=customer, changes=diff)
    return customer


def customer_by_ref(ref: str) -> Customer:
    """A customer by external_id, else (a numeric ``ref``) by id — only where api.md documents a
    reference as ``{id or external_id}`` (the ``/customers/{ref}`` paths). Everywhere else a customer is
    named by ``external_id`` (:func:`customer_by_external_id`) or, as a separate parameter, by ``id``
    (:func:`customer_from_params`): a numeric external_id never silently means another customer's id."""
    qs = Customer.objects.select_related("legal_entity")
    customer = qs.filter(external_id=ref).first()
    if customer is None and parse_id(str(ref)) is not None:
        customer = qs.filter(pk=parse_id(str(ref))).first()
    if customer is None:
        from revops.errors import NotFound

        raise NotFound(f"No customer with id or external_id '{ref}'.")
    return customer


def customer_by_external_id(external_id: str) -> Customer:
    customer = Customer.objects.select_related("legal_entity").filter(external_id=external_id).first()
    if customer is None:
        from revops.errors import NotFound

        raise NotFound(f"No customer with external_id '{external_id}'.")
    return customer


def customer_from_params(params, *, name: str = "customer") -> Customer | None:
    """The customer a list filter names: ``?customer=<external_id>`` or ``?customer_id=<id>`` (two
    parameters, never one guessed from the other); None when neither is given."""
    from revops.errors import NotFound, ValidationFailed

    external_id, pk = params.get(name), params.get(f"{name}_id")
    if external_id and pk:
        raise ValidationFailed(f"Send {name} (external_id) or {name}_id (id), not both.", field=f"{name}_id")
    if pk:
        if parse_id(pk) is None:
            raise ValidationFailed("A customer id is a positive integer.", field=f"{name}_id")
        customer = Customer.objects.select_related("legal_entity").filter(pk=int(pk)).first()
        if customer is None:
            raise NotFound(f"No customer with id {pk}.")
        return customer
    return customer_by_external_id(external_id) if external_id else None
