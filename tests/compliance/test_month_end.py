"""Month end of a period (issue 15 §6): the selector at each stage of one story, told as a Scenario.

Given a customer on the hybrid plan with a one-time setup fee, activated from 1 January 2026 with its
schedules approved by a second person, and January usage; when the month end of 2026-01 goes from
nothing to closed — billing run as of 1 February, drafts reviewed and finalized, revenue run, checks,
close — then each stage reads as it stands: not started, blocked, done, with its counts and run."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import FinalizationRun
from compliance.month_end import BLOCKED, DONE, FAILED, NOT_STARTED, RUNNING, allowed_action, month_end
from revops.core.models import Job
from revrec.models import RevenueRun
from tests.builders import day

pytestmark = pytest.mark.django_db

KEY = "2026-01"


def statuses(key: str = KEY) -> dict[str, str]:
    return {s.code: s.status for s in month_end(key=key).stages}


def given_a_contract(scenario):
    scenario.customer("me", name="Month End Ltd").contract(
        "2026-01-01",
        "2027-01-01",
        [
            {"key": "platform", "product": "platform", "plan": "hybrid"},
            {"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"},
        ],
        approved_by="approver",
    )
    scenario.usage(
        [
            {"code": "api_calls", "timestamp": day(date(2026, 1, 10)), "transaction_id": f"me-{i}"}
            for i in range(50)
        ],
        received_at=datetime(2026, 1, 31, tzinfo=UTC),
    )
    return scenario


def test_month_end_goes_from_nothing_to_closed_stage_by_stage(catalog, scenario):
    # Nothing yet: every stage waits; the close is blocked by the checklist (no billing run, no revenue run).
    empty = month_end(key=KEY)
    assert [s.code for s in empty.stages] == [
        "billing_run",
        "drafts",
        "finalization",
        "revenue_run",
        "checks",
        "close",
    ]
    assert statuses() == {
        "billing_run": NOT_STARTED,
        "drafts": NOT_STARTED,
        "finalization": NOT_STARTED,
        "revenue_run": NOT_STARTED,
        "checks": NOT_STARTED,
        "close": BLOCKED,
    }
    assert {b.code for b in empty.blockers} >= {"billing_run", "revenue_run"}
    assert empty.next_stage.code == "billing_run" and not empty.running
    assert empty.stage("billing_run").action.code == "billing_run"

    # The run as of 1 January bills January's fees in advance: drafts of the period, but not yet the
    # month-end run (as of 1 February or later).
    given_a_contract(scenario).bill("2026-01-01")
    state = month_end(key=KEY)
    assert state.stage("billing_run").status == NOT_STARTED
    assert state.stage("drafts").status == BLOCKED and state.stage("drafts").counts["drafts"] == 1

    # The month-end run: done, with its run and counts; two drafts now await review.
    scenario.bill("2026-02-01")
    state = month_end(key=KEY)
    billing = state.stage("billing_run")
    assert billing.status == DONE and billing.run.kind == "billing_run" and billing.run.status == "completed"
    assert billing.counts["invoices_created"] == 1 and billing.counts["parked"] == 0
    assert billing.progress.percent == 100
    drafts = state.stage("drafts")
    assert drafts.status == BLOCKED and drafts.counts["drafts"] == 2 and drafts.label == "Awaiting review"
    final = state.stage("finalization")
    assert final.status == NOT_STARTED and final.counts["drafts_left"] == 2 and final.counts["finalized"] == 0
    assert final.action.code == "finalize"
    assert state.next_stage.code == "drafts"
    assert "drafts_finalized" in {b.code for b in state.blockers}

    # One draft finalized: finalization is under way, one draft left.
    scenario.finalize(limit=1)
    final = month_end(key=KEY).stage("finalization")
    assert final.status == BLOCKED and final.counts["drafts_left"] == 1
    assert final.progress.done + 1 == final.progress.total

    # All finalized: the review and the finalization are done; the invoices are posted to the ledger.
    scenario.finalize()
    state = month_end(key=KEY)
    assert state.stage("drafts").status == DONE and state.stage("finalization").status == DONE
    assert state.stage("finalization").counts["invoices_posted"] >= 1
    assert state.stage("finalization").counts["finalized"] == 2  # billed 1 January and 1 February
    assert state.next_stage.code == "revenue_run"

    # The revenue run posts January.
    scenario.recognize(KEY)
    revenue = month_end(key=KEY).stage("revenue_run")
    assert revenue.status == DONE and revenue.run.kind == "revenue_run"
    assert revenue.counts["entries_created"] >= 1 and revenue.counts["recognition_entries"] >= 1

    # The checks run (they also ran by themselves after each run): nothing critical is open.
    scenario.check()
    state = month_end(key=KEY)
    assert state.stage("checks").status == DONE and state.stage("checks").run.kind == "check_run"
    assert state.blockers == [] and state.stage("close").status == NOT_STARTED
    assert state.stage("close").label == "Ready to close" and state.stage("close").action.code == "close"
    assert state.next_stage.code == "close"

    # Closed: every stage done, no action offered, nothing blocks.
    scenario.post(f"periods/{KEY}/close")
    scenario.approve_as(kind="period_close")
    state = month_end(key=KEY)
    assert set(statuses().values()) == {DONE} and state.closed and state.next_stage is None
    assert all(s.action is None for s in state.stages) and state.blockers == []


def test_a_running_run_is_live_and_a_failed_one_is_failed(catalog, scenario, make_user):
    given_a_contract(scenario).bill("2026-02-01").finalize()
    job = Job.objects.create(kind="revenue_run", status="running", progress_done=3, progress_total=12)
    run = RevenueRun.objects.create(period=KEY, status="running", job=job)
    state = month_end(key=KEY)
    revenue = state.stage("revenue_run")
    assert revenue.status == RUNNING and state.running and revenue.action is None
    assert (revenue.progress.done, revenue.progress.total, revenue.progress.percent) == (3, 12, 25)

    Job.objects.filter(pk=job.pk).update(status="failed", error="worker lost\ntraceback")
    RevenueRun.objects.filter(pk=run.pk).update(status="failed")
    state = month_end(key=KEY)
    revenue = state.stage("revenue_run")
    assert revenue.status == FAILED and not state.running
    assert "worker lost" in revenue.summary and "traceback" not in revenue.summary
    assert revenue.action.code == "revenue_run"  # run again

    # A completed run that parked a contract: revenue is not all recognized, the stage is blocked.
    from billing.contracts.models import Contract
    from revrec.models import RevenueRunItem

    job = Job.objects.create(kind="revenue_run", status="completed", progress_done=1, progress_total=1)
    run = RevenueRun.objects.create(period=KEY, status="completed", job=job)
    RevenueRunItem.objects.create(run=run, contract=Contract.objects.get(), status="failed", error="boom")
    revenue = month_end(key=KEY).stage("revenue_run")
    assert revenue.status == BLOCKED and revenue.counts["parked"] == 1 and revenue.run.id == run.pk


def test_a_finalization_run_is_the_finalization_stage_while_it_runs_and_after(catalog, scenario):
    given_a_contract(scenario).bill("2026-02-01")
    job = Job.objects.create(kind="invoice_finalization", status="running", progress_done=1, progress_total=2)
    run = FinalizationRun.objects.create(status="running", job=job, filters={"status": "draft"})
    state = month_end(key=KEY)
    final = state.stage("finalization")
    assert final.status == RUNNING and state.running and final.action is None
    assert final.run.kind == "finalization_run" and final.progress.percent == 50

    # It parked a draft it could not finalize: the stage is blocked, the action starts another run.
    Job.objects.filter(pk=job.pk).update(status="completed", progress_done=2)
    FinalizationRun.objects.filter(pk=run.pk).update(status="completed", finalized=1, failed=1)
    scenario.finalize(limit=1)
    final = month_end(key=KEY).stage("finalization")
    assert final.status == BLOCKED and "parked 1 draft" in final.summary
    assert final.counts["run_parked"] == 1 and final.action.code == "finalize"


def test_checks_that_ran_before_the_latest_run_finished_are_out_of_date(catalog, scenario):
    given_a_contract(scenario).bill("2026-02-01").finalize().recognize(KEY).check()
    assert month_end(key=KEY).stage("checks").status == DONE
    later = timezone.now() + timedelta(minutes=1)
    job = Job.objects.create(kind="revenue_run", status="completed", progress_done=1, progress_total=1)
    RevenueRun.objects.create(period=KEY, status="completed", job=job, finished_at=later)
    state = month_end(key=KEY)
    checks = state.stage("checks")
    assert checks.status == NOT_STARTED and checks.label == "Out of date"
    assert "before revenue run" in checks.summary and checks.action.code == "compliance_run"
    assert state.next_stage.code == "checks"


def test_actions_follow_the_roles(catalog, scenario, make_user):
    given_a_contract(scenario)
    billing = month_end(key=KEY).stage("billing_run")
    checks = month_end(key=KEY).stage("checks")
    finance, approver = make_user("fin", "finance"), make_user("appr", "approver")
    auditor, pricing = make_user("aud", "auditor"), make_user("pri", "pricing")
    assert allowed_action(billing, finance) is not None and allowed_action(checks, finance) is not None
    assert allowed_action(billing, approver) is None and allowed_action(checks, approver) is not None
    for reader in (auditor, pricing):
        assert allowed_action(billing, reader) is None and allowed_action(checks, reader) is None


def test_the_selector_reads_a_bounded_number_of_queries(catalog, scenario):
    """No per-contract or per-invoice loop: ten contracts cost what one costs."""
    given_a_contract(scenario).bill("2026-02-01")
    with CaptureQueriesContext(connection) as one:
        month_end(key=KEY)
    for i in range(9):
        scenario.customer(f"more-{i}").contract(
            "2026-01-01", "2027-01-01", [{"key": "platform", "product": "platform", "plan": "hybrid"}]
        )
    scenario.approve_as("approver").bill("2026-02-01")
    with CaptureQueriesContext(connection) as ten:
        state = month_end(key=KEY)
    assert state.stage("drafts").counts["drafts"] > 2
    assert len(ten.captured_queries) == len(one.captured_queries)


def test_a_bad_period_is_refused_naming_it(db):
    from revops.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        month_end(key="2026-13")
    assert refused.value.errors[0].field == "period"
