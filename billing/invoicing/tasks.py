"""Billing tasks: thin, explicit names, ids in, safe to run twice."""

from celery import shared_task


@shared_task(name="billing.plan_billing_run", bind=True, max_retries=None)
def plan_billing_run(self, run_id: int) -> int:
    """Plan, then send the workers; the retry policy is the service's (billing_run_plan_failed)."""
    from billing.invoicing.runs import (
        PLAN_RETRY_SECONDS,
        billing_run_plan_and_fan_out,
        billing_run_plan_failed,
    )

    try:
        return billing_run_plan_and_fan_out(run_id=run_id)
    except Exception as exc:
        if billing_run_plan_failed(run_id=run_id, error=exc, attempt=self.request.retries):
            raise self.retry(exc=exc, countdown=PLAN_RETRY_SECONDS)
        raise


@shared_task(name="billing.work_billing_run")
def work_billing_run(run_id: int) -> int:
    from billing.invoicing.runs import billing_run_work

    return billing_run_work(run_id=run_id)


@shared_task(name="billing.daily_billing_run")
def daily_billing_run() -> int:
    from django.utils import timezone

    from billing.invoicing.runs import billing_run_start

    return billing_run_start(as_of=timezone.localdate(), actor="beat").pk


@shared_task(name="billing.apply_due_lifecycle")
def apply_due_lifecycle() -> dict:
    """Beat, daily before the billing run: renewals, trial conversions and scheduled changes due today."""
    from django.utils import timezone

    from billing.contracts.services.due import contracts_apply_due

    return contracts_apply_due(as_of=timezone.localdate())


@shared_task(name="billing.expire_credits")
def expire_credits() -> int:
    """Beat, daily: release the unused part of prepaid credits that expired (breakage)."""
    from django.utils import timezone

    from billing.invoicing.lifecycle import credits_expire

    return len(credits_expire(on=timezone.localdate()))


@shared_task(name="billing.render_invoice_documents")
def render_invoice_documents(invoice_ids: list[int]) -> int:
    """After a finalization commits: render and store the finalized invoices' PDFs (safe to run twice:
    a recorded document is never rendered again)."""
    from billing.documents.services import invoice_documents_store

    return invoice_documents_store(invoice_ids=invoice_ids)


@shared_task(name="billing.render_missing_documents")
def render_missing_documents() -> int:
    """Beat: re-queue the documents of finalized invoices whose render task was lost."""
    from billing.documents.services import invoice_documents_missing_queue

    return invoice_documents_missing_queue()


@shared_task(name="billing.auto_finalize_drafts")
def auto_finalize_drafts() -> int:
    """Beat: the drafts whose grace period has ended go to a finalization run (late usage re-rated
    first; safe to run twice). Returns how many drafts the pass handed to the run."""
    from billing.invoicing.auto_finalize import auto_finalize_due_drafts

    return len(auto_finalize_due_drafts().submitted)


@shared_task(name="billing.plan_finalization_run")
def plan_finalization_run(run_id: int) -> int:
    """Plan a finalization run's items, then send its workers (safe to run twice)."""
    from billing.invoicing.finalization import finalization_plan_and_fan_out

    return finalization_plan_and_fan_out(run_id=run_id)


@shared_task(name="billing.work_finalization_run")
def work_finalization_run(run_id: int) -> int:
    """Claim and finalize batches of a run's drafts until none is pending (any number of workers)."""
    from billing.invoicing.finalization import finalization_work

    return finalization_work(run_id=run_id)
