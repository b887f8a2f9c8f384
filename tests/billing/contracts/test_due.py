"""The lifecycle seam (issue 17): steps due on a date run in order, from the daily task and first thing
in a billing run's planning, for the run's own date and customers."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest

from billing.contracts.services import due
from billing.invoicing import runs
from billing.invoicing.tasks import apply_due_lifecycle
from billing.models import BillingRun

CALLS: list[tuple[str, date, list[str] | None]] = []


def first_step(*, as_of: date, customers: list[str] | None) -> int:
    CALLS.append(("first", as_of, customers))
    return 2


def second_step(*, as_of: date, customers: list[str] | None) -> int:
    CALLS.append(("second", as_of, customers))
    return 0


def failing_step(*, as_of: date, customers: list[str] | None) -> int:
    raise RuntimeError("renewal failed")


@pytest.fixture
def steps(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(due, "DUE_STEPS", [f"{__name__}.first_step", f"{__name__}.second_step"])
    return CALLS


def test_steps_run_in_order_and_report_what_they_changed(steps):
    changed = due.contracts_apply_due(as_of=date(2026, 5, 1), customers=["acme"])
    assert steps == [("first", date(2026, 5, 1), ["acme"]), ("second", date(2026, 5, 1), ["acme"])]
    assert changed == {f"{__name__}.first_step": 2, f"{__name__}.second_step": 0}


@pytest.mark.django_db
def test_a_billing_run_applies_what_is_due_by_its_own_date_before_it_plans(steps):
    with mock.patch.object(runs, "enqueue_on_commit"):
        run = runs.billing_run_start(as_of=date(2026, 4, 1))
    runs.billing_run_plan(run_id=run.pk)
    assert steps == [("first", date(2026, 4, 1), None), ("second", date(2026, 4, 1), None)]


@pytest.mark.django_db
def test_a_failing_step_stops_the_planning_so_nothing_is_billed_on_a_stale_contract(monkeypatch):
    monkeypatch.setattr(due, "DUE_STEPS", [f"{__name__}.failing_step"])
    with mock.patch.object(runs, "enqueue_on_commit"):
        run = runs.billing_run_start(as_of=date(2026, 4, 1))
    with pytest.raises(RuntimeError, match="renewal failed"):
        runs.billing_run_plan(run_id=run.pk)
    assert not BillingRun.objects.get(pk=run.pk).items.exists()


def test_the_daily_task_applies_what_is_due_today(steps, settings):
    from django.utils import timezone

    apply_due_lifecycle()
    assert steps and all(call[1] == timezone.localdate() for call in steps)
