"""Billing factories (factory-boy): meters, plans and their price versions, contracts, invoices.

Each record is made through the domain's service, the way the product makes it: a plan's back-dated
version is published once a second person approves it, a contract is activated (its price override,
if any, approved by a second person), an invoice is built from its contract and, finalized, numbered,
stored as a PDF, audited and announced. Work scheduled on commit (the revenue side) runs at once
(``settle``). Line and charge factories make the dictionaries the services and the API take.
Money is always a Decimal string, never a float."""

from __future__ import annotations

from datetime import UTC, date, datetime

import factory
from django.db import transaction
from django.test import TestCase

from billing.contracts.models import Contract
from billing.models import Invoice, Meter, Plan, PlanVersion
from tests.revops.factories import CustomerFactory, ProductFactory, ServiceFactory, approve

NOW = datetime(2030, 1, 1, tzinfo=UTC)  # "now" for usage watermarks: after every test period


def settle():
    """Run what the block schedules on commit (outbox consumers, tasks) when it ends, as a commit
    would; in a transactional test the commits run it already."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def approve_pending_publication(version: PlanVersion) -> None:
    from billing.catalog.services import publish_request_for

    pending = publish_request_for(version)
    if pending is not None and pending.status == "pending":
        approve(pending, comment="Test price list.")


class MeterFactory(ServiceFactory):
    """A meter by code (asking again for a code returns the first one)."""

    class Meta:
        model = Meter

    code = factory.Sequence(lambda n: f"meter_{n}")
    name = factory.LazyAttribute(lambda o: o.code)
    aggregation = "sum"
    field = "value"

    @classmethod
    def _service(cls, **kwargs):
        from billing.catalog.services import meter_create

        if kwargs["aggregation"] == "count":
            kwargs["field"] = ""
        return Meter.objects.filter(code=kwargs["code"]).first() or meter_create(**kwargs)


class ChargeFactory(factory.DictFactory):
    """A charge as a price version takes it: a flat fee in advance unless told otherwise."""

    code = factory.Sequence(lambda n: f"charge-{n}")
    product = "platform"
    model = "flat"
    timing = "in_advance"
    properties = factory.LazyFunction(lambda: {"amount": "100.00"})


def _products_of(charges: list[dict]) -> None:
    for charge in charges:
        ProductFactory(code=charge["product"])


class PlanFactory(ServiceFactory):
    """A published plan and its first price version (back-dated ones approved by a second person)."""

    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    currency = "USD"
    interval = "month"
    effective_from = date(2020, 1, 1)
    charges = factory.LazyFunction(lambda: [ChargeFactory()])

    @classmethod
    def _service(cls, **kwargs):
        from billing.catalog.services import plan_create

        existing = Plan.objects.filter(code=kwargs["code"]).first()
        if existing is not None:
            return existing
        _products_of(kwargs["charges"])
        plan = plan_create(**kwargs)
        approve_pending_publication(plan.versions.get())
        return plan


class PlanVersionFactory(ServiceFactory):
    """A new price version of a plan, published (approved by a second person when it needs one)."""

    class Meta:
        model = PlanVersion

    plan = factory.SubFactory(PlanFactory)
    effective_from = date(2026, 1, 1)
    charges = factory.LazyFunction(lambda: [ChargeFactory(code="platform")])

    @classmethod
    def _service(cls, **kwargs):
        from billing.catalog.services import plan_version_create

        _products_of(kwargs["charges"])
        version = plan_version_create(**kwargs)
        approve_pending_publication(version)
        version.refresh_from_db()
        return version


class ContractLineFactory(factory.DictFactory):
    """A contract line as ``contract_create`` and ``POST /contracts`` take it: a custom monthly price."""

    key = factory.Sequence(lambda n: f"line-{n}")
    product = "platform"
    unit_price = "100.00"
    billing = "recurring"


class ContractFactory(ServiceFactory):
    """A contract made by ``contract_create`` and (``active=True``, the default) activated, a pending
    price override approved by a second person; the revenue side's obligations and schedules follow."""

    class Meta:
        model = Contract

    active = True  # passed to the service call, not a field
    customer = factory.SubFactory(CustomerFactory)
    currency = factory.SelfAttribute("customer.currency")
    start_date = date(2026, 1, 1)
    end_date = date(2027, 1, 1)
    billing_anchor = "calendar"
    lines = factory.LazyFunction(lambda: [ContractLineFactory(key="svc")])

    @classmethod
    def _create(cls, model_class, *args, active=True, **kwargs):
        from billing.contracts.services import contract_activate, contract_create

        kwargs["customer"] = kwargs["customer"].external_id
        for line in kwargs["lines"]:
            ProductFactory(code=line["product"])
        with settle():
            with transaction.atomic():
                contract = contract_create(**kwargs)
                if active:
                    contract = contract_activate(contract=contract)
            if active and getattr(contract, "override_approval", None) is not None:
                approve(contract.override_approval)
                contract.refresh_from_db()
        return contract


class InvoiceFactory(ServiceFactory):
    """The draft invoice of a contract's billing date, built by ``invoice_build``; ``finalized=True``
    finalizes it through ``invoice_finalize`` (gapless number, PDF, audit event, journal entry)."""

    class Meta:
        model = Invoice

    finalized = False  # passed to the service call, not a field
    contract = factory.SubFactory(ContractFactory)
    billing_date = factory.SelfAttribute("contract.start_date")
    actor = None

    @classmethod
    def _create(cls, model_class, *args, finalized=False, contract, billing_date, actor=None):
        from billing.invoicing.build import invoice_build
        from billing.invoicing.lifecycle import invoice_finalize

        with settle():
            with transaction.atomic():
                invoice = invoice_build(contract_id=contract.pk, billing_date=billing_date, now=NOW)
            if invoice is None:
                raise ValueError(f"Nothing is due on {billing_date} for contract {contract.number}.")
            if finalized:
                with transaction.atomic():
                    invoice = invoice_finalize(invoice=invoice, actor=actor, issue_date=billing_date)
        if finalized:
            # As stored once the finalization's after-commit work (the PDF, rendered by a worker) has run.
            invoice.refresh_from_db()
        return invoice
