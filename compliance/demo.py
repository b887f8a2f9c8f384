"""Demo controls and close (``manage.py seed_demo``, after the "revenue" seeder).

The controls run, and every month up to the end of the last complete quarter is closed through the
close checklist, so the quick start shows a closed quarter, an open one and the work waiting in
between. Everything goes through the real services. Idempotent: once its own check run (trigger
``seed_demo``) exists, nothing is added — the runs the billing and revenue seeders trigger do not count."""

from __future__ import annotations

from datetime import date


def _quarter_end(today: date) -> str:
    """The last month of the last complete quarter before ``today`` (``YYYY-MM``)."""
    first_month = (today.month - 1) // 3 * 3 + 1  # first month of the current quarter
    index = today.year * 12 + first_month - 2  # the month before it, zero-based
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def seed_close() -> str:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from compliance.models import CheckRun, ComplianceException
    from compliance.services.close import close_checklist, period_close_request
    from compliance.services.exceptions import compliance_run
    from revops.core.approvals.services import approval_decide
    from revrec.models import RevenueRun
    from revrec.services.periods import is_closed

    if CheckRun.objects.filter(trigger="seed_demo").exists() or not RevenueRun.objects.exists():
        return "nothing new (controls already run, or no revenue run)"
    finance = get_user_model().objects.filter(username="finance").first() or "seed_demo"
    approver = get_user_model().objects.filter(username="approver").first()
    today = timezone.localdate()
    periods = sorted(
        set(RevenueRun.objects.filter(status=RevenueRun.Status.COMPLETED).values_list("period", flat=True))
    )

    # Controls, then close every month up to the end of the last complete quarter.
    compliance_run(trigger="seed_demo", actor=finance)
    closed, blocked = [], []
    for period in periods:
        if period > _quarter_end(today) or is_closed(period):
            continue
        failing = [item.label for item in close_checklist(period) if not item.ok]
        if failing:
            blocked.append(f"{period} ({', '.join(failing)})")
            break  # periods close in order
        request = period_close_request(key=period, actor=finance)
        approval_decide(approval=request, user=approver, approve=True, comment="Demo close.")
        closed.append(period)
    open_exceptions = ComplianceException.objects.filter(status="open").count()
    report = [
        f"closed {closed[0]}…{closed[-1]}" if closed else "no period closed",
        f"{open_exceptions} open exceptions",
    ]
    if blocked:
        report.append("close stopped at " + blocked[0])
    return "; ".join(report)
