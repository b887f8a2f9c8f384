"""Revenue factories (factory-boy): SSP book entries, performance obligations, revenue schedules and
journal entries — each one the revenue side's own answer to a billing fact, never a hand-made row:
an SSP entry is proposed and approved by a second person, obligations and schedules come from a
contract's activation, a journal entry from a finalized invoice or a revenue run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory
from django.db import transaction

from revrec.models import JournalEntry, PerformanceObligation, RevenueSchedule, SSPEntry
from tests.billing.factories import ContractFactory, InvoiceFactory, settle
from tests.revops.factories import ProductFactory, ServiceFactory, approve, approver


class SSPEntryFactory(ServiceFactory):
    """An approved standalone selling price (``approved=False``: still waiting for the approver)."""

    class Meta:
        model = SSPEntry

    approved = True  # passed to the service call, not a field
    product = factory.LazyAttribute(lambda o: ProductFactory(code="platform").code)
    currency = "USD"
    effective_from = date(2025, 1, 1)
    method = "observable"
    ssp = "100.00"

    @classmethod
    def _create(cls, model_class, *args, approved=True, **kwargs):
        from revops.core.approvals.services import approval_for
        from revrec.services.ssp import ssp_propose

        for name in ("ssp", "ssp_low", "ssp_high"):
            if kwargs.get(name) is not None:
                kwargs[name] = Decimal(str(kwargs[name]))
        with transaction.atomic():
            entry = ssp_propose(**kwargs)
        if approved:
            approve(approval_for(entry))
            entry.refresh_from_db()
        return entry


class PerformanceObligationFactory(ServiceFactory):
    """The obligation an activated contract's line became (``key``: the line key, default the first)."""

    class Meta:
        model = PerformanceObligation

    contract = factory.SubFactory(ContractFactory)
    key = None

    @classmethod
    def _create(cls, model_class, *args, contract, key=None):
        obligations = PerformanceObligation.objects.filter(contract=contract, status="active").order_by("pk")
        return obligations.get(key=key) if key else obligations.first()


class RevenueScheduleFactory(ServiceFactory):
    """An obligation's current schedule, approved by a second person (``approved=False``: pending)."""

    class Meta:
        model = RevenueSchedule

    approved = True  # passed to the service call, not a field
    obligation = factory.SubFactory(PerformanceObligationFactory)

    @classmethod
    def _create(cls, model_class, *args, obligation, approved=True):
        from revrec.services.schedules import schedule_decide

        schedule = obligation.schedules.order_by("-version").first()
        if approved and schedule.status == RevenueSchedule.Status.PENDING_APPROVAL:
            with settle():
                schedule = schedule_decide(schedule=schedule, user=approver(), approve=True, comment="ok")
        return schedule


class JournalEntryFactory(ServiceFactory):
    """The journal entry of a finalized invoice (the outbox consumer posts it), or — given ``period``
    — the revenue recognized for the invoice's contract in that period by ``recognize_contract_period``."""

    class Meta:
        model = JournalEntry

    invoice = factory.SubFactory(InvoiceFactory, finalized=True)
    period = None

    @classmethod
    def _create(cls, model_class, *args, invoice, period=None):
        if period is None:
            return JournalEntry.objects.get(source=JournalEntry.Source.INVOICE, source_id=str(invoice.pk))
        from revrec.services.postings import recognize_contract_period

        for schedule in RevenueSchedule.objects.filter(
            obligation__contract=invoice.contract, status=RevenueSchedule.Status.PENDING_APPROVAL
        ):
            RevenueScheduleFactory(obligation=schedule.obligation)
        with transaction.atomic():
            return recognize_contract_period(contract=invoice.contract, period=period)
