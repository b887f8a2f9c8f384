"""Demo renewals (``manage.py seed_demo``, the "renewals" seeder, after "billing"): two customers on the
team-seats plan — one evergreen (month to month since four months ago, renewed each month) and one
termed (a 12-month term that ended at the start of this month, renewed for 12 months with a 5 % price
uplift, 30 days' notice). Their billing runs go through ``billing_run_start`` as the other demo
contracts', so the renewals are applied by the runs' due step (``contracts_apply_due``) exactly as in
production; their invoices up to last month are finalized. Idempotent: nothing is added when the first
renewal customer exists."""

from __future__ import annotations

from decimal import Decimal

MARKER = "evergreen-coffee"
CUSTOMERS = (
    (MARKER, "Evergreen Coffee Roasters", "evergreen.example"),
    ("northpeak", "Northpeak Outfitters", "northpeak.example"),
)


def seed_renewals() -> str:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from billing.contracts.models import ContractRenewal
    from billing.contracts.renewals import add_months
    from billing.contracts.services import contract_activate, contract_create
    from billing.invoicing.demo import _finalize
    from billing.invoicing.runs import billing_run_plan, billing_run_start, billing_run_work
    from billing.models import BillingRun, Invoice, Plan
    from revops.parties.models import Customer
    from revops.parties.services.customers import customer_create

    if (
        Customer.objects.filter(external_id=MARKER).exists()
        or not Plan.objects.filter(code="team-seats").exists()
    ):
        return "nothing new (demo renewals already there, or no team-seats plan)"
    actor = get_user_model().objects.filter(username="finance").first() or "seed_demo"
    m0 = timezone.localdate().replace(day=1)
    evergreen_start, termed_start = add_months(m0, -4), add_months(m0, -12)
    with transaction.atomic():
        for ext, name, domain in CUSTOMERS:
            customer_create(
                external_id=ext,
                name=name,
                currency="USD",
                timezone="UTC",
                tax_rate=Decimal("0"),
                email=f"billing@{domain}",
                actor=actor,
            )
        evergreen = contract_create(
            customer=MARKER,
            currency="USD",
            start_date=evergreen_start,
            end_date=add_months(evergreen_start, 1),
            lines=[{"key": "seats", "product": "seats", "plan": "team-seats", "quantity": "8"}],
            renewal={"policy": "evergreen", "notice_days": 0},
            notes="Month to month: renews each month until cancelled.",
            actor=actor,
        )
        contract_activate(contract=evergreen, actor=actor)
        termed = contract_create(
            customer="northpeak",
            currency="USD",
            start_date=termed_start,
            end_date=m0,
            lines=[{"key": "seats", "product": "seats", "plan": "team-seats", "quantity": "20"}],
            renewal={"policy": "termed", "term_months": 12, "notice_days": 30, "uplift_percent": "5.00"},
            notes="Annual term, auto-renews for 12 months with a 5% uplift; 30 days' notice.",
            actor=actor,
        )
        contract_activate(contract=termed, actor=actor)
    customers = [ext for ext, _n, _d in CUSTOMERS]
    day = termed_start
    while day <= m0:  # the runs renew what is due on their date first, then bill
        run = billing_run_start(as_of=day, customers=customers, actor=actor)
        run.refresh_from_db()
        if run.status not in (BillingRun.Status.COMPLETED, BillingRun.Status.FAILED):
            billing_run_plan(run_id=run.pk)
            billing_run_work(run_id=run.pk)
        day = add_months(day, 1)
    with transaction.atomic():
        drafts = Invoice.objects.filter(
            status=Invoice.Status.DRAFT, customer__external_id__in=customers, billing_date__lt=m0
        ).order_by("billing_date", "id")
        finalized = _finalize(list(drafts), actor=actor)
    renewed = ContractRenewal.objects.filter(
        contract__customer__external_id__in=customers, status=ContractRenewal.Status.APPLIED
    ).count()
    return f"2 renewing contracts (evergreen, termed +5%): {renewed} renewals, {finalized} invoices finalized"
