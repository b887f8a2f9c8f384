"""Kernel factories (factory-boy): legal entities, customers, products, users with a role, approvals.

A record with an audit trail is made through its service, so a factory's customer carries the same
``customer.created`` event a real one does and an approval is bound to its content like a real request.
``SomeFactory.build()`` is refused where that would skip the service. Money is a Decimal string."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.db import transaction

from revops.parties.models import Customer, LegalEntity, Product


class ServiceFactory(factory.django.DjangoModelFactory):
    """A factory whose ``create`` calls the domain's service (``_service``) instead of ``objects.create``."""

    class Meta:
        abstract = True

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise TypeError(f"{cls.__name__} makes its record through the service: use create().")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        service = getattr(cls, "_service", None)
        if service is None:
            raise TypeError(f"{cls.__name__} names no service (_service) to make its record through.")
        with transaction.atomic():
            return service(**kwargs)


class LegalEntityFactory(factory.django.DjangoModelFactory):
    """Configuration, not an audited record: the seller on every invoice."""

    class Meta:
        model = LegalEntity
        django_get_or_create = ("code",)

    code = "concord-us"
    name = "Concord Demo Inc."
    currency = "USD"


class CustomerFactory(ServiceFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"cus_{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    currency = "USD"
    timezone = "UTC"
    tax_rate = Decimal("0")
    legal_entity = factory.SubFactory(LegalEntityFactory)

    @classmethod
    def _service(cls, **kwargs):
        from revops.parties.services.customers import customer_create

        return customer_create(**kwargs)


class ProductFactory(ServiceFactory):
    """A product by code: asking twice for the same code returns the first one (a catalog is shared)."""

    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"product-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    recognition = "ratable_daily"
    revenue_account = "4000"

    @classmethod
    def _service(cls, **kwargs):
        from revops.parties.services.products import product_create

        existing = Product.objects.filter(code=kwargs["code"]).first()
        return existing or product_create(**kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    """A user, optionally in a role group (``UserFactory(role="approver")``)."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user-{n}")
    password = factory.django.Password("pw-123456!")

    @factory.post_generation
    def role(user, create, extracted, **kwargs):
        if not (create and extracted):
            return
        from django.contrib.auth.models import Group

        from revops.core.services.roles import sync_role_groups

        sync_role_groups()
        user.groups.add(Group.objects.get(name=extracted))


def approver(username: str = "test-checker"):
    """An approver who requested nothing: the second person of maker-checker in test set-ups."""
    return UserFactory(username=username, role="approver")


class ApprovalFactory(ServiceFactory):
    """A pending request opened through the approvals engine (bound to its content, audited), for a
    registered kind and the object it applies to: ``ApprovalFactory(kind=..., obj=..., payload=...)``.
    Most tests get theirs from the domain action that opens it; decide it with ``approve``."""

    class Meta:
        model = "core.Approval"

    summary = "Test request"
    payload = factory.LazyFunction(dict)
    requested_by = None

    @classmethod
    def _service(cls, **kwargs):
        from revops.core.approvals.services import approval_request

        return approval_request(**kwargs)


def approve(approval, *, user=None, comment: str = "test set-up"):
    """Approve as a second person (``user``, by default an approver who requested nothing)."""
    from revops.core.approvals.services import approval_decide

    return approval_decide(approval=approval, user=user or approver(), approve=True, comment=comment)
