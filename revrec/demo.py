"""Demo revenue (``manage.py seed_demo``, after the "billing" seeder).

The approver signs off the revenue schedules that finance requested (those of contracts that started
this month stay in the approval queue), and a revenue run posts every month from the first contract's
start through last month. The controls and the close that follow are compliance's seeder ("close").

Everything goes through the real services. Idempotent: once a revenue run exists, nothing is added."""

from __future__ import annotations


def months_between(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _run_revenue(period: str, actor):
    """A revenue run through the real entry point; worked in-process when no worker takes it."""
    from revrec.models import RevenueRun
    from revrec.services.runs import revenue_run_execute, revenue_run_start

    run = revenue_run_start(period=period, actor=actor)
    run.refresh_from_db()
    if run.status != RevenueRun.Status.COMPLETED:
        revenue_run_execute(run_id=run.pk)
        run.refresh_from_db()
    return run


def seed_revenue() -> str:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from billing.contracts.models import Contract
    from revops.core.approvals.models import Approval
    from revops.core.approvals.services import approval_decide
    from revrec.models import RevenueRun, RevenueSchedule
    from revrec.services.periods import period_key

    if RevenueRun.objects.exists() or not Contract.objects.exists():
        return "nothing new (revenue already run, or no contracts)"
    users = get_user_model().objects
    finance = users.filter(username="finance").first() or "seed_demo"
    approver = users.filter(username="approver").first()
    if approver is None:
        return "skipped: the demo approver is missing"
    today = timezone.localdate()
    this_month = period_key(today)

    # 1. Sign off the schedules of contracts that started before this month.
    approved = 0
    for schedule in RevenueSchedule.objects.filter(
        status=RevenueSchedule.Status.PENDING_APPROVAL
    ).select_related("obligation__contract"):
        if schedule.obligation.contract.start_date >= today.replace(day=1):
            continue
        approval = Approval.objects.get(
            kind="revenue_schedule",
            object_type="revrec.revenueschedule",
            object_id=str(schedule.pk),
            status=Approval.Status.PENDING,
        )
        approval_decide(
            approval=approval, user=approver, approve=True, comment="Matches the signed order form."
        )
        approved += 1

    # 2. Post revenue month by month, oldest first.
    first = min(Contract.objects.values_list("start_date", flat=True))
    periods = [p for p in months_between(period_key(first), this_month) if p < this_month]
    entries = sum(_run_revenue(period, finance).entries_created for period in periods)

    return f"{approved} schedules approved; {len(periods)} revenue runs ({entries} journal entries)"
