"""Billing tasks: thin, explicit names, ids in, safe to run twice."""

from celery import shared_task


@shared_task(name="billing.plan_billing_run", bind=True, max_retries=5)
def plan_billing_run(self, run_id: int) -> int:
    from django.conf import settings

    from billing.invoicing.runs import billing_run_fail, billing_run_finish, billing_run_plan

    try:
        total = billing_run_plan(run_id=run_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            billing_run_fail(run_id=run_id, error=f"Planning failed: {exc}")
            raise
        raise self.retry(exc=exc, countdown=10)
    if total == 0:
        billing_run_finish(run_id=run_id)
        return 0
    for _ in range(int(getattr(settings, "BILLING_RUN_PARALLELISM", 4))):
        work_billing_run.delay(run_id)
    return total


@shared_task(name="billing.work_billing_run")
def work_billing_run(run_id: int) -> int:
    from billing.invoicing.runs import billing_run_work

    return billing_run_work(run_id=run_id)


@shared_task(name="billing.resume_stalled_runs")
def resume_stalled_runs() -> int:
    from billing.invoicing.runs import stalled_runs_resume

    return stalled_runs_resume()


@shared_task(name="billing.daily_billing_run")
def daily_billing_run() -> int:
    from django.utils import timezone

    from billing.invoicing.runs import billing_run_start

    return billing_run_start(as_of=timezone.localdate(), actor="beat").pk


@shared_task(name="billing.expire_credits")
def expire_credits() -> int:
    """Beat, daily: release the unused part of prepaid credits that expired (breakage)."""
    from django.utils import timezone

    from billing.invoicing.credits import credits_expire

    return len(credits_expire(on=timezone.localdate()))
