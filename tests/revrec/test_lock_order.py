"""Lock order on PostgreSQL (docs/architecture.md, "Lock order": document rows → counter → accounting
period → audit chain head). Each test runs two real connections side by side: an action slowed while
it would hold its locks, and a period close (period FOR UPDATE, then the chain head) or a finalization
batch (counter, period, head) started meanwhile. In the wrong order PostgreSQL kills one of them as a
deadlock victim; in the documented order one waits for the other and both succeed."""

from __future__ import annotations

import threading
import time
from datetime import date
from unittest import mock

import pytest
from django.db import connections, transaction
from django.utils import timezone

from billing.invoicing import lifecycle
from billing.invoicing.build import invoice_build
from billing.invoicing.finalization import finalization_start, finalization_work
from billing.invoicing.finalization.planning import finalization_plan
from billing.models import CreditNote, Invoice
from revrec.models import AccountingPeriod
from revrec.services.periods import ensure_period, period_close, period_key
from tests.billing.factories import ContractFactory
from tests.builders import NOW
from tests.revops.factories import CustomerFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _draft(name: str) -> Invoice:
    customer = CustomerFactory(external_id=f"lock-{name}", name=f"Lock {name}")
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        start_date=date(2026, 4, 1),
        customer=customer,
    )
    with transaction.atomic():
        return invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1), now=NOW)


def _open_only_today() -> str:
    """Today's period is the earliest open one (every earlier period closed): the one a close takes."""
    key = period_key(timezone.localdate())
    ensure_period(key)
    AccountingPeriod.objects.filter(period__lt=key).update(status="closed")
    return key


def _slowly(real):
    """``real``, then a pause: the caller's locks so far are held while the other side starts."""

    def slow(*args, **kwargs):
        result = real(*args, **kwargs)
        time.sleep(2)
        return result

    return slow


def _side_by_side(first, second) -> dict:
    """Run ``first`` now and ``second`` 0.7 s later on their own connections; their errors."""
    errors = {}

    def run(name, fn, delay):
        time.sleep(delay)
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors[name] = repr(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=("first", first, 0)),
        threading.Thread(target=run, args=("second", second, 0.7)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a side is still waiting"
    return errors


def test_single_finalize_and_period_close_do_not_deadlock(catalog):
    draft = _draft("fin")
    key = _open_only_today()

    def finalize():
        # The refresh audits (chain head); the pause keeps it held while the close starts.
        with mock.patch.object(lifecycle, "invoice_refresh_draft", _slowly(lifecycle.invoice_refresh_draft)):
            lifecycle.invoice_finalize(invoice=draft, now=NOW)

    assert _side_by_side(finalize, lambda: period_close(key=key)) == {}
    invoice = Invoice.objects.get(pk=draft.pk)
    assert invoice.status == Invoice.Status.FINALIZED
    assert AccountingPeriod.objects.get(period=key).status == "closed"


def _finalized(name: str) -> Invoice:
    draft = _draft(name)
    return lifecycle.invoice_finalize(invoice=draft, now=NOW)


def _slow_publish():
    """The audit is written before the announcement (which posts): pause in between."""
    return mock.patch.object(lifecycle, "outbox_publish", _slowly(lifecycle.outbox_publish))


def test_payment_and_period_close_do_not_deadlock(catalog):
    invoice = _finalized("pay")
    key = _open_only_today()

    def pay():
        with mock.patch.object(lifecycle, "audit_record", _slowly(lifecycle.audit_record)):
            lifecycle.payment_record(invoice=invoice, amount="5.00", paid_on=timezone.localdate())

    assert _side_by_side(pay, lambda: period_close(key=key)) == {}
    assert Invoice.objects.get(pk=invoice.pk).amount_paid == 5


def test_credit_note_and_period_close_do_not_deadlock(catalog):
    invoice = _finalized("cn")
    key = _open_only_today()
    line = invoice.lines.first()

    def credit():
        with mock.patch.object(lifecycle, "audit_record", _slowly(lifecycle.audit_record)):
            lifecycle.credit_note_create(
                invoice=invoice, lines=[{"invoice_line": line.pk, "amount": "1.00"}], reason="Goodwill"
            )

    assert _side_by_side(credit, lambda: period_close(key=key)) == {}
    assert CreditNote.objects.filter(invoice=invoice).count() == 1


def test_single_finalize_and_finalization_batch_do_not_deadlock(catalog):
    single, batched = _draft("one"), _draft("batch")
    _open_only_today()

    def finalize():
        with mock.patch.object(lifecycle, "invoice_refresh_draft", _slowly(lifecycle.invoice_refresh_draft)):
            lifecycle.invoice_finalize(invoice=single, now=NOW)

    with mock.patch("billing.invoicing.finalization.planning.enqueue_on_commit"):
        run = finalization_start(invoice_ids=[batched.pk])
    finalization_plan(run_id=run.pk)

    def batch():  # the batch takes the counter, the period, then the chain head
        finalization_work(run_id=run.pk)

    assert _side_by_side(finalize, batch) == {}
    invoices = Invoice.objects.filter(pk__in=[single.pk, batched.pk]).order_by("sequence")
    assert [inv.status for inv in invoices] == [Invoice.Status.FINALIZED] * 2
    assert [inv.pk for inv in invoices] == [single.pk, batched.pk]  # the single one held the counter
