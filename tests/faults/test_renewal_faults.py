"""The daily renewal step under duplicate delivery and a killed worker (issue 17 acceptance), with real
Celery workers on PostgreSQL and Redis: ``billing.apply_due_lifecycle`` delivered twice at once renews
each due contract once; a worker SIGKILLed in the middle of a renewal leaves nothing of it (the
renewal's transaction dies with it), and the task sent again renews it exactly once — one renewal
record, one new version, one set of renewal lines, one audit event, one outbox event, one set of
obligations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from billing.contracts.models import Contract, ContractLine, ContractRenewal, ContractVersion
from billing.contracts.renewals import add_months
from billing.contracts.services import contract_activate, contract_create
from revops.core.audit.models import AuditChainHead, AuditEvent
from revops.core.enqueue import enqueue
from revops.core.models import OutboxEvent
from revops.parties.services.customers import customer_create
from revrec.models import PerformanceObligation
from tests.workers import database_url, real_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TASK = "billing.apply_due_lifecycle"
M0 = date.today().replace(day=1)
CONTRACTS = 6


def _book(n: int, make_user) -> list[Contract]:
    """N contracts whose 12-month term ended on the first of this month, renewing for 12 months."""
    preparer = make_user("preparer", "finance")
    out = []
    for i in range(n):
        with transaction.atomic():
            customer = customer_create(external_id=f"r-{i:03d}", name=f"Renew {i}", currency="USD")
            contract = contract_create(
                customer=customer.external_id,
                currency="USD",
                start_date=add_months(M0, -12),
                end_date=M0,
                lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
                renewal={"policy": "termed", "term_months": 12, "uplift_percent": "3.00"},
            )
            out.append(contract_activate(contract=contract, actor=preparer))
    return out


def _renewing_transactions_blocked() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            [f"%{AuditChainHead._meta.db_table}%"],
        )
        return cursor.fetchone()[0]


def _renewed_exactly_once(contracts) -> None:
    for contract in contracts:
        contract.refresh_from_db()
        assert contract.end_date == add_months(M0, 12) and contract.version == 2
        assert ContractRenewal.objects.filter(contract=contract).count() == 1
        assert ContractVersion.objects.filter(contract=contract, kind="renewal").count() == 1
        assert list(
            ContractLine.objects.filter(contract=contract).order_by("id").values_list("key", "unit_price")
        ) == [("svc", Decimal("10")), ("svc-r1", Decimal("10.3"))]
        assert AuditEvent.objects.filter(action="contract.renewed", object_id=str(contract.pk)).count() == 1
        assert OutboxEvent.objects.filter(topic="contract.renewed", object_id=str(contract.pk)).count() == 1
        assert PerformanceObligation.objects.filter(contract=contract, key="svc-r1").count() == 1


def test_duplicate_delivery_renews_each_contract_once(make_user, catalog):
    contracts = _book(CONTRACTS, make_user)
    with real_workers(count=2) as workers:
        enqueue(TASK)
        enqueue(TASK)  # delivered twice, taken by two workers at once
        wait_for(
            lambda: ContractRenewal.objects.filter(status="applied").count() == CONTRACTS,
            timeout=180,
            interval=0.5,
            message=f"every contract renewed\n{workers.output()}",
        )
    # Delivered once more after the fact (here, in-process): nothing is due any more.
    from billing.contracts.services.renewals import contracts_renew_due

    assert contracts_renew_due(as_of=M0) == 0
    _renewed_exactly_once(contracts)


def test_a_worker_killed_mid_renewal_leaves_nothing_and_the_next_delivery_renews_once(make_user, catalog):
    contracts = _book(CONTRACTS, make_user)
    with real_workers(count=1) as workers:
        holder = psycopg.connect(database_url())
        try:
            # Hold the audit chain's head: the worker's first renewal blocks at its audit event, after
            # writing its lines, version and renewal record, inside its transaction.
            holder.execute(f"SELECT 1 FROM {AuditChainHead._meta.db_table} WHERE id = 1 FOR UPDATE")  # noqa: S608
            enqueue(TASK)
            wait_for(
                lambda: _renewing_transactions_blocked() >= 1,
                timeout=120,
                message=f"a renewal to reach its audit event\n{workers.output()}",
            )
            workers.kill(0)  # SIGKILL the worker (main process and pool child) mid-renewal
        finally:
            holder.rollback()
            holder.close()
        assert not ContractRenewal.objects.exists()
        assert not ContractVersion.objects.filter(kind="renewal").exists()
        assert not ContractLine.objects.filter(key__endswith="-r1").exists()
        # A fresh worker; the task comes again (the beat's next day, or a redelivery), twice.
        workers.start(1)
        enqueue(TASK)
        enqueue(TASK)
        wait_for(
            lambda: ContractRenewal.objects.filter(status="applied").count() == CONTRACTS,
            timeout=180,
            interval=0.5,
            message=f"every contract renewed after the kill\n{workers.output()}",
        )
    _renewed_exactly_once(contracts)
