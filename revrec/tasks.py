from celery import shared_task


@shared_task(name="revrec.generate_schedules")
def generate_schedules(contract_id: int, actor_id: int | None = None) -> int:
    from django.contrib.auth import get_user_model

    from billing.contracts.models import Contract
    from revrec.services.schedules import schedules_generate

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else "revrec"
    return len(schedules_generate(contract=Contract.objects.get(pk=contract_id), actor=actor))


@shared_task(name="revrec.execute_revenue_run")
def execute_revenue_run(run_id: int) -> int:
    """Plan the run (one item per contract), then send its workers (revrec.work_revenue_run)."""
    from revrec.services.runs import revenue_run_fail, revenue_run_plan_and_fan_out

    try:
        return revenue_run_plan_and_fan_out(run_id=run_id)
    except Exception as exc:
        revenue_run_fail(run_id=run_id, error=f"Planning failed: {exc}")
        raise


@shared_task(name="revrec.work_revenue_run")
def work_revenue_run(run_id: int) -> int:
    """Claim batches of the run's items (SKIP LOCKED) and recognize them until none is pending."""
    from revrec.services.runs import revenue_run_work

    return revenue_run_work(run_id=run_id)


@shared_task(name="revrec.consume_billing_events")
def consume_billing_events() -> int:
    from revrec.consumers import consume_missed

    return consume_missed()


@shared_task(name="revrec.monthly_revenue_run")
def monthly_revenue_run() -> int:
    from datetime import timedelta

    from django.utils import timezone

    from revrec.services.periods import period_key
    from revrec.services.runs import revenue_run_start

    today = timezone.localdate()
    previous = today.replace(day=1) - timedelta(days=1)
    return revenue_run_start(period=period_key(previous), actor="beat").pk
