"""Registers the revenue pages with the kernel: the "Revenue" navigation section, the dashboard cards and the
"revenue" demo seeder (after "billing") and revenue runs with the kernel's stalled-run resumer.
Called from ``RevrecConfig.ready()``."""

from __future__ import annotations


def register() -> None:
    from revops.core.dashboard import register_widgets
    from revops.core.demo import register_seeder
    from revops.core.services.jobs import register_resumable_run
    from revops.navigation import NavItem
    from revops.navigation import register as register_nav
    from revrec.demo import seed_revenue
    from revrec.models import RevenueRun
    from revrec.services.runs import revenue_run_resume

    register_nav(
        "Revenue",
        NavItem("Revenue", "revenue", "revenue", "◔"),
        NavItem("Reports", "revenue-reports", "reports", "▤"),
        NavItem("Subscription metrics", "revenue-report-subscriptions", "reports", "↗"),
        NavItem("Ledger", "revenue-ledger", "revenue", "⚖"),
        NavItem("SSP book", "revenue-ssp", "revenue", "≡"),
        before="Operations",
    )
    register_widgets("revenue", revenue_widgets)
    register_widgets("approvals", approval_widgets)
    register_seeder("revenue", seed_revenue)
    register_resumable_run(
        "revenue_run",
        model=RevenueRun,
        active=(RevenueRun.Status.QUEUED, RevenueRun.Status.RUNNING),
        resume=revenue_run_resume,
    )

    from revops.core.approvals.registry import register_approval_preview
    from revrec.services.estimates import ESTIMATE
    from revrec.services.progress import EXPECTED_COSTS
    from revrec.views.approvals import (
        estimate_previews,
        expected_costs_previews,
        modification_previews,
        schedule_previews,
    )

    register_approval_preview(
        "revenue_schedule", build=schedule_previews, template="revrec/_approval_preview_schedule.html"
    )
    register_approval_preview(
        "contract_modification",
        build=modification_previews,
        template="revrec/_approval_preview_modification.html",
    )
    register_approval_preview(
        ESTIMATE, build=estimate_previews, template="revrec/_approval_preview_estimate.html"
    )
    register_approval_preview(
        EXPECTED_COSTS,
        build=expected_costs_previews,
        template="revrec/_approval_preview_expected_costs.html",
    )


def revenue_widgets(user) -> list[dict]:
    from django.urls import reverse
    from django.utils import timezone

    from revops.formatting import money
    from revrec import reports

    currency = reports.default_currency()
    period = reports.period_of(timezone.localdate())
    kpis = reports.revenue_kpis(currency=currency, period=period)
    last = kpis["last_recognized_period"]
    note = f"{period}, {currency}."
    if not kpis["recognized_period"] and last and last != period:
        note = f"Nothing recognized in {period} yet; last revenue run posted {last}."
    elif not last:
        note = "No revenue recognized yet: approve schedules, then run revenue for a period."
    return [
        {
            "title": "Revenue recognized this month",
            "value": money(kpis["recognized_period"], currency),
            "note": note,
            "url": reverse("revenue"),
            "link_label": "Revenue",
        },
        {
            "title": "Deferred revenue",
            "value": money(kpis["deferred"], currency),
            "note": f"Balance of the deferred revenue account; unbilled receivables "
            f"{money(kpis['unbilled'], currency)}.",
            "url": reverse("revenue-report-deferred"),
            "link_label": "Rollforward",
        },
    ]


def approval_widgets(user) -> list[dict]:
    from django.urls import reverse

    from revops.core.approvals.models import Approval
    from revops.roles import can_decide

    pending = Approval.objects.filter(status=Approval.Status.PENDING)
    count = pending.count()
    own = pending.filter(requested_by_id=getattr(user, "pk", None)).count() if count else 0
    note = "Nothing waiting for a decision."
    if count and can_decide(user):
        note = f"{count - own:,} awaiting your decision."
        if own:
            note += f" {own:,} of your own wait for another approver."
    elif count:
        note = "Only approvers decide; you can follow them in the queue."
    return [
        {
            "title": "Pending approvals",
            "value": f"{count:,}",
            "tone": "warn" if count else None,
            "note": note,
            "url": reverse("approvals"),
            "link_label": "Approval queue",
        }
    ]
