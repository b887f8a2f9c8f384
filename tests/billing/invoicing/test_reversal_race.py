"""Two approvers approve the same credit-note request at once on PostgreSQL: one wins, the other is
refused (invalid transition) — one credit note, one number, one ``credit_note.issued``."""

from __future__ import annotations

import threading
import time
from datetime import date
from unittest import mock

import pytest
from django.db import connections, transaction

from billing.invoicing import lifecycle, reversals
from billing.invoicing.build import invoice_build
from billing.models import CreditNote
from revops.core.approvals.models import Approval
from revops.core.approvals.services import approval_decide
from revops.core.models import OutboxEvent
from tests.billing.factories import ContractFactory
from tests.builders import NOW
from tests.revops.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_a_double_approval_race_has_one_winner(catalog):
    customer = CustomerFactory(external_id="race", name="Race Ltd")
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        start_date=date(2026, 4, 1),
        customer=customer,
    )
    with transaction.atomic():
        draft = invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1), now=NOW)
    invoice = lifecycle.invoice_finalize(invoice=draft, now=NOW)
    maker = UserFactory(username="race-maker", role="finance")
    approval = reversals.credit_note_request(
        invoice=invoice,
        lines=[{"invoice_line": invoice.lines.get().pk, "amount": "4.00"}],
        reason="SLA",
        actor=maker,
    )
    checkers = [UserFactory(username=f"race-checker-{i}", role="approver") for i in (1, 2)]
    real = lifecycle.credit_note_create

    def slow(**kwargs):  # the winner holds its locks while the other approves
        note = real(**kwargs)
        time.sleep(1.5)
        return note

    outcomes: dict[str, str] = {}

    def run(name, user, delay):
        time.sleep(delay)
        try:
            approval_decide(approval=Approval.objects.get(pk=approval.pk), user=user, approve=True)
            outcomes[name] = "approved"
        except Exception as exc:  # noqa: BLE001 - reported by the test
            outcomes[name] = type(exc).__name__
        finally:
            connections.close_all()

    with mock.patch.object(lifecycle, "credit_note_create", slow):
        threads = [
            threading.Thread(target=run, args=("first", checkers[0], 0)),
            threading.Thread(target=run, args=("second", checkers[1], 0.5)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(outcomes.values()) == ["InvalidTransition", "approved"], outcomes
    assert CreditNote.objects.count() == 1
    assert OutboxEvent.objects.filter(topic="credit_note.issued").count() == 1
    assert Approval.objects.get(pk=approval.pk).status == "approved"
