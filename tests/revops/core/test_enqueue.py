"""The kernel's task-enqueue seam (revops.core.enqueue) and its one stalled-run resumer
(revops.core.services.jobs.runs_resume_stalled)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from billing.invoicing import runs
from billing.models import BillingRun
from revops.celery import app
from revops.core.enqueue import enqueue, enqueue_on_commit, task_named
from revops.core.models import Job
from revops.core.services.jobs import runs_resume_stalled
from revrec.models import RevenueRun
from revrec.services import runs as revenue_runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Record what would go to the broker instead of running it in-process."""
    calls: list[tuple] = []
    for name in (runs.PLAN_TASK, runs.WORK_TASK, revenue_runs.EXECUTE_TASK, "compliance.run_checks"):
        task = task_named(name)
        monkeypatch.setattr(task, "delay", lambda *a, _n=name, **kw: calls.append((_n, a, kw)))
        monkeypatch.setattr(
            task, "apply_async", lambda _n=name, **options: calls.append((_n, "later", options))
        )
    return calls


def test_every_task_a_service_or_the_beat_names_is_registered():
    names = {runs.PLAN_TASK, runs.WORK_TASK, revenue_runs.EXECUTE_TASK, "billing.deliver_webhook"}
    names |= {"billing.dispatch_webhooks", "revrec.generate_schedules", "compliance.run_checks"}
    names |= {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    app.loader.import_default_modules()
    assert names <= set(app.tasks), names - set(app.tasks)


def test_work_is_sent_after_the_commit_and_never_after_a_rollback(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            enqueue_on_commit("compliance.run_checks", "billing_run")
            assert sent == []  # not before the commit: a worker would not find the rows yet
    assert sent == [("compliance.run_checks", ("billing_run",), {})]

    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue_on_commit("compliance.run_checks", "billing_run")
            raise RuntimeError("the service failed")
    assert sent == []


def test_a_countdown_goes_to_the_broker_as_apply_async_options(sent):
    assert enqueue("compliance.run_checks", "nightly", countdown=30)
    assert sent == [("compliance.run_checks", "later", {"args": ["nightly"], "countdown": 30})]


def test_a_broker_outage_is_logged_and_never_fails_the_caller(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(task_named("compliance.run_checks"), "delay", down)
    with caplog.at_level(logging.WARNING, logger="revops.core.enqueue"):
        assert enqueue("compliance.run_checks", "nightly") is False
    assert "Could not queue compliance.run_checks" in caplog.text


def _stall(run, *, seconds: int) -> None:
    Job.objects.filter(pk=run.job_id).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_one_resumer_sends_again_the_stalled_billing_and_revenue_runs_only(sent):
    # Started inside the test's transaction, so their on-commit enqueue never fires: they look lost.
    billing_stalled = runs.billing_run_start(as_of=date(2026, 3, 1))
    billing_alive = runs.billing_run_start(as_of=date(2026, 3, 1))
    revenue_stalled = revenue_runs.revenue_run_start(period="2026-01")
    assert sent == []
    stall = settings.BILLING_RUN_STALL_SECONDS
    _stall(billing_stalled, seconds=stall + 5)
    _stall(billing_alive, seconds=stall - 30)
    _stall(revenue_stalled, seconds=stall + 5)
    RevenueRun.objects.filter(pk=revenue_stalled.pk).update(status=RevenueRun.Status.RUNNING)
    assert runs_resume_stalled() == 2
    assert sorted(sent) == sorted(
        [(runs.PLAN_TASK, (billing_stalled.pk,), {}), (revenue_runs.EXECUTE_TASK, (revenue_stalled.pk,), {})]
    )
    assert BillingRun.objects.get(pk=billing_alive.pk).status == BillingRun.Status.QUEUED


@pytest.mark.services
def test_a_coalesced_sweep_is_queued_once_until_it_starts(monkeypatch, django_capture_on_commit_callbacks):
    """The outbox dispatch after each finalization batch: while one is queued and not started, more
    commits queue nothing (it will read their rows); once it starts, the next commit queues again."""
    import uuid

    from revops.core.enqueue import coalesced_task_started, enqueue_coalesced_on_commit

    monkeypatch.setitem(app.conf, "task_default_queue", f"test-{uuid.uuid4().hex[:10]}")  # a flag of its own
    monkeypatch.setitem(app.conf, "task_always_eager", False)  # a broker that holds queued tasks
    task = task_named("billing.dispatch_webhooks")
    queued: list[tuple] = []
    monkeypatch.setattr(task, "delay", lambda *a, **kw: queued.append(a))
    coalesced_task_started(task)  # no flag left over from another test
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_coalesced_on_commit(task)
    assert len(queued) == 1
    coalesced_task_started(task)
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_coalesced_on_commit(task)
    assert len(queued) == 2
    coalesced_task_started(task)


@pytest.mark.services
def test_in_process_tasks_are_never_coalesced_away(monkeypatch, django_capture_on_commit_callbacks):
    """With in-process tasks nothing waits in a queue, so a queued flag (left by a broker run sharing
    this Redis) must not swallow the work: the sweep runs as it is sent."""
    import uuid

    from revops.core import enqueue as seam

    monkeypatch.setitem(app.conf, "task_default_queue", f"test-{uuid.uuid4().hex[:10]}")
    task = task_named("billing.dispatch_webhooks")
    ran: list[tuple] = []
    monkeypatch.setattr(task, "delay", lambda *a, **kw: ran.append(a))
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    with django_capture_on_commit_callbacks(execute=True):
        seam.enqueue_coalesced_on_commit(task)  # leaves the flag set: nothing has started it
    assert len(ran) == 1
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        seam.enqueue_coalesced_on_commit(task)
    assert len(ran) == 2
    seam.coalesced_task_started(task)
