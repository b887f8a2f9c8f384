from celery import shared_task


def _actor(actor_id: int | None):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=actor_id).first() if actor_id else "revrec"


@shared_task(name="revrec.generate_schedules")
def generate_schedules(contract_id: int, actor_id: int | None = None) -> int:
    """One contract's first schedules (messages queued before activations were sent in batches)."""
    from revrec.services.schedule_batches import schedules_generate_many

    return schedules_generate_many(contract_ids=[contract_id], actor=_actor(actor_id))


@shared_task(name="revrec.generate_schedules_many")
def generate_schedules_many(contract_ids: list[int], actor_id: int | None = None) -> int:
    """The first schedules of the contracts activated in one transaction: batches of obligations
    claimed with SKIP LOCKED (any number of these tasks may run over the same ids)."""
    from revrec.services.schedule_batches import schedules_generate_many

    return schedules_generate_many(contract_ids=contract_ids, actor=_actor(actor_id))


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
