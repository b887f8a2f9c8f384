"""Registers the finance pages of billing with the kernel: navigation (the "Billing" section), dashboard
widgets, the "billing" demo seeder (which runs after "catalog" and "usage") and billing runs and
finalization runs with the kernel's stalled-run resumer."""

from __future__ import annotations


def register() -> None:
    from billing.invoicing.demo import seed_billing
    from billing.invoicing.finalization import finalization_resume
    from billing.invoicing.runs import billing_run_resume
    from billing.models import BillingRun, FinalizationRun
    from revops.core.dashboard import register_widgets
    from revops.core.demo import register_seeder
    from revops.core.services.jobs import register_resumable_run
    from revops.navigation import NavItem
    from revops.navigation import register as register_nav

    register_nav(
        "Billing",
        NavItem("Customers", "customers", "customers", "◎"),
        NavItem("Contracts", "contracts", "contracts", "▭"),
        NavItem("Billing runs", "billing-runs", "billing", "↻"),
        NavItem("Invoices", "invoices", "billing", "▤"),
        NavItem("Billing settings", "billing-settings", "billing", "⚙"),
        before="Operations",
    )
    register_widgets("billing", billing_widgets)
    register_seeder("billing", seed_billing)
    register_resumable_run(
        "billing_run",
        model=BillingRun,
        active=(BillingRun.Status.QUEUED, BillingRun.Status.RUNNING),
        resume=billing_run_resume,
    )
    register_resumable_run(
        "invoice_finalization",
        model=FinalizationRun,
        active=(FinalizationRun.Status.QUEUED, FinalizationRun.Status.RUNNING),
        resume=finalization_resume,
    )


def billing_widgets(user) -> list[dict]:
    """Drafts awaiting review, open receivables (per currency) and the last billing run."""
    from django.conf import settings
    from django.db.models import Count, DecimalField, F, Q, Sum
    from django.urls import reverse
    from django.utils import timezone

    from billing.models import BillingRun, Invoice
    from revops.formatting import day, money

    drafts = Invoice.objects.filter(status=Invoice.Status.DRAFT)
    n_drafts = drafts.count()
    oldest = drafts.order_by("billing_date").values_list("billing_date", flat=True).first()
    today = timezone.localdate()
    receivables = list(
        Invoice.objects.filter(
            status=Invoice.Status.FINALIZED, total__gt=F("amount_paid") + F("amount_credited")
        )
        .values("currency")
        .annotate(
            s=Sum(
                F("total") - F("amount_paid") - F("amount_credited"),
                output_field=DecimalField(max_digits=30, decimal_places=10),
            ),
            n=Count("id"),
            overdue=Count("id", filter=Q(due_date__lt=today)),
        )
        .order_by()
    )
    # Amounts in different currencies do not compare: the headline is the house currency, then the
    # currency with the most open invoices.
    house = settings.CONCORD["DEFAULT_CURRENCY"]
    receivables.sort(key=lambda r: (r["currency"] != house, -r["n"], r["currency"]))
    open_count = sum(r["n"] for r in receivables)
    overdue = sum(r["overdue"] for r in receivables)
    last = BillingRun.objects.select_related("job").order_by("-id").first()
    cards = [
        {
            "title": "Drafts awaiting review",
            "value": n_drafts,
            "tone": "warn" if n_drafts else None,
            "note": (
                f"Oldest billed on {day(oldest)}. Review and finalize them in bulk."
                if n_drafts
                else "Nothing waiting: every invoice is finalized."
            ),
            "url": reverse("invoices") + "?status=draft",
            "link_label": "Review queue",
        },
        {
            "title": "Open receivables",
            "value": money(receivables[0]["s"], receivables[0]["currency"]) if receivables else "0",
            "tone": "bad" if overdue else None,
            "note": (
                f"{open_count} open invoice{'s' if open_count != 1 else ''}"
                + (f", {overdue} overdue" if overdue else "")
                + (
                    " · also " + ", ".join(money(r["s"], r["currency"]) for r in receivables[1:])
                    if len(receivables) > 1
                    else ""
                )
                + "."
            )
            if receivables
            else "No finalized invoice is waiting for payment.",
            "url": reverse("invoices") + "?status=finalized",
            "link_label": "Open invoices",
        },
    ]
    if last is None:
        cards.append(
            {
                "title": "Last billing run",
                "value": "None yet",
                "note": "Start one to bill everything due.",
                "url": reverse("billing-runs"),
                "link_label": "Billing runs",
            }
        )
    else:
        cards.append(
            {
                "title": "Last billing run",
                "value": last.get_status_display(),
                "tone": "bad" if last.status == BillingRun.Status.FAILED else None,
                "note": f"#{last.pk} as of {day(last.as_of)} · {last.job.progress_done}/"
                f"{last.job.progress_total} items · {last.invoices_created} invoice"
                f"{'s' if last.invoices_created != 1 else ''}.",
                "url": reverse("billing-run", args=[last.pk]),
                "link_label": "Open the run",
            }
        )
    return cards
