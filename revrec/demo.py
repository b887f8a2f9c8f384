"""Demo revenue and close (``manage.py seed_demo``, after the "billing" seeder).

The approver signs off the revenue schedules that finance requested (those of contracts that started
this month stay in the approval queue); a revenue run posts every month from the first contract's
start through last month; the controls run; and every month up to the end of the last complete
quarter is closed through the close checklist, so the quick start shows a closed quarter, an open
one and the work waiting in between.

Everything goes through the real services. Idempotent: once a revenue run exists, nothing is added."""

from __future__ import annotations

from datetime import date


def _quarter_end(today: date) -> str:
    """The last month of the last complete quarter before ``today`` (``YYYY-MM``)."""
    first_month = (today.month - 1) // 3 * 3 + 1  # first month of the current quarter
    index = today.year * 12 + first_month - 2  # the month before it, zero-based
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _months(first: str, last: str) -> list[str]:
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
    from compliance.approvals import approval_decide
    from compliance.models import Approval, ComplianceException
    from compliance.services.close import close_checklist, period_close_request
    from compliance.services.exceptions import compliance_run
    from revrec.models import RevenueRun, RevenueSchedule
    from revrec.services.periods import is_closed, period_key

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
    periods = [p for p in _months(period_key(first), this_month) if p < this_month]
    entries = sum(_run_revenue(period, finance).entries_created for period in periods)

    # 3. Controls, then close every month up to the end of the last complete quarter.
    compliance_run(trigger="seed_demo", actor=finance)
    closed, blocked = [], []
    for period in periods:
        if period > _quarter_end(today) or is_closed(period):
            continue
        failing = [item.label for item in close_checklist(period) if not item.ok]
        if failing:
            blocked.append(f"{period} ({', '.join(failing)})")
            break  # periods close in order
        period_close_request(key=period, actor=finance)
        closed.append(period)
    open_exceptions = ComplianceException.objects.filter(status="open").count()
    report = [
        f"{approved} schedules approved",
        f"{len(periods)} revenue runs ({entries} journal entries)",
        f"closed {closed[0]}…{closed[-1]}" if closed else "no period closed",
        f"{open_exceptions} open exceptions",
    ]
    if blocked:
        report.append("close stopped at " + blocked[0])
    return "; ".join(report)
