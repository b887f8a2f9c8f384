"""One factory per model (factory-boy). Money is always a Decimal string, never a float."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory

from billing.models import Charge, Meter, Plan, PlanVersion
from revops.contracts.models import Customer, LegalEntity, Product


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalEntity
        django_get_or_create = ("code",)

    code = "concord-us"
    name = "Concord Demo Inc."
    currency = "USD"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"cus_{n:05d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    currency = "USD"
    timezone = "UTC"
    tax_rate = Decimal("0")
    legal_entity = factory.SubFactory(LegalEntityFactory)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"product-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    recognition = "ratable_daily"
    revenue_account = "4000"


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"meter_{n}")
    name = factory.LazyAttribute(lambda o: o.code)
    aggregation = "sum"
    field = "value"


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    currency = "USD"
    interval = "month"


class PlanVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanVersion

    plan = factory.SubFactory(PlanFactory)
    number = factory.Sequence(lambda n: n + 1)
    effective_from = date(2026, 1, 1)
    status = PlanVersion.Status.PUBLISHED


class ChargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Charge

    version = factory.SubFactory(PlanVersionFactory)
    code = factory.Sequence(lambda n: f"charge-{n}")
    product = factory.SubFactory(ProductFactory)
    model = "standard"
    properties = factory.LazyFunction(lambda: {"unit_amount": "1.00"})
    timing = "in_arrears"
