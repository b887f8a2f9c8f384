"""Planner statistics refreshed when a batch job is planned over tables the step before just filled."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from revops.core.statistics import planner_statistics_refresh
from revops.parties.models import Customer
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _reltuples(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_on_postgresql_the_tables_are_analyzed_so_the_planner_sees_their_size():
    CustomerFactory.create_batch(7)
    planner_statistics_refresh(Customer)
    assert _reltuples(Customer._meta.db_table) == Customer.objects.count()


def test_elsewhere_nothing_is_sent(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with CaptureQueriesContext(connection) as queries:
        planner_statistics_refresh(Customer)
    assert queries.captured_queries == []


@pytest.mark.postgres
def test_a_revenue_run_and_a_finalization_refresh_the_statistics_of_what_they_read(catalog):
    from unittest import mock

    from billing.invoicing.finalization import planning
    from revrec.services import runs

    with mock.patch.object(runs, "enqueue_on_commit"), transaction.atomic():
        run = runs.revenue_run_start(period="2026-02", actor="test")
    with CaptureQueriesContext(connection) as queries:
        runs.revenue_run_plan(run_id=run.pk)
    analyzed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert analyzed and all(t in analyzed[0] for t in ('"revrec_journalline"', '"billing_invoice"')), analyzed

    with mock.patch.object(planning, "enqueue_on_commit"):
        finalization = planning.finalization_start(filters={}, actor="test")
    with CaptureQueriesContext(connection) as queries:
        planning.finalization_plan(run_id=finalization.pk)
    assert any(q["sql"].startswith('ANALYZE "billing_invoice"') for q in queries.captured_queries)
