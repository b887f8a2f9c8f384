"""Demo billing data (``manage.py seed_demo``, after the "catalog" and "usage" seeders).

About fifty customers: ten named ones with hand-picked contracts and the rest drawn (deterministically)
from the plan mix — token-priced ``ai-tokens``, the hybrid ``ai-enterprise`` (platform fee, commitment,
overage), ``api-growth`` and ``team-seats``, some with one-time onboarding — started 1–12 months ago
(dates relative to today), all activated; usage events for the token and API contracts; billing runs
up to today through ``billing_run_start``; most older invoices finalized and paid, one voided, one
credited; amendments (seat growth, an upgrade to the hybrid plan), two terminations, a coupon and a
goodwill credit (each approved by the demo approver: maker-checker), prepaid credits (the goodwill one
partly used and expired: its unused part reverses the concession) and late usage billed as an adjustment. The
latest period's invoices stay drafts for the review queue.

Everything goes through the real services (customers, contracts, ingestion, runs, lifecycle), so the
demo shows what the product does. Idempotent: if the first demo customer exists, nothing is added."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from billing.invoicing.demo_book import (
    CUSTOMERS,
    MARKER,
    MIX,
    add_months,
    contract_events,
    demo_contracts,
    extra_contracts,
    months_back,
    more_customers,
)


def _ingest(events: list[dict], *, received_at: datetime) -> int:
    from billing.usage.ingest import MAX_BATCH, ingest_events

    accepted = 0
    for start in range(0, len(events), MAX_BATCH):
        result = ingest_events(events=events[start : start + MAX_BATCH], source="demo", now=received_at)
        accepted += result.accepted
    return accepted


# --- billing ---------------------------------------------------------------------------------------


def _run(as_of: date, actor):
    """A billing run through the real entry point; when no worker is there to take it (tasks are
    queued, not eager), the seeder works it in-process with the same services the tasks call."""
    from billing.invoicing.runs import billing_run_plan, billing_run_start, billing_run_work
    from billing.models import BillingRun

    run = billing_run_start(as_of=as_of, actor=actor)
    run.refresh_from_db()
    if run.status not in (BillingRun.Status.COMPLETED, BillingRun.Status.FAILED):
        billing_run_plan(run_id=run.pk)
        billing_run_work(run_id=run.pk)
        run.refresh_from_db()
    return run


def _finalize(drafts, *, actor, now=None) -> int:
    from billing.invoicing.lifecycle import invoice_finalize

    count = 0
    for invoice in drafts:
        invoice_finalize(invoice=invoice, actor=actor, now=now, issue_date=invoice.billing_date)
        count += 1
    return count


def seed_billing() -> str:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from billing.catalog.demo import seed_catalog
    from billing.contracts.models import Contract
    from billing.contracts.services import (
        contract_activate,
        contract_amend,
        contract_create,
        contract_terminate,
    )
    from billing.invoicing.coupons import coupon_apply, coupon_request
    from billing.invoicing.credits import credit_grant_request, credits_expire, goodwill_credit_request
    from billing.invoicing.lifecycle import payment_record
    from billing.invoicing.reversals import credit_note_request, invoice_void_request
    from billing.models import Coupon, Invoice, InvoiceLine
    from revops.core.approvals.services import approval_decide
    from revops.parties.models import Customer
    from revops.parties.services.customers import customer_create

    if Customer.objects.filter(external_id=MARKER).exists():
        return "nothing new (demo billing data already there)"
    actor = get_user_model().objects.filter(username="finance").first() or "seed_demo"
    today = timezone.localdate()
    m0 = today.replace(day=1)
    real_now = timezone.now()
    received = real_now - timedelta(minutes=60)  # usage "arrived" an hour ago …
    finalize_now = real_now - timedelta(minutes=30)  # … so invoices finalized "half an hour ago" bill it
    report: list[str] = []

    # 1. Customers, contracts (activated), a coupon and a prepaid credit: one transaction.
    specs = demo_contracts(m0)
    with transaction.atomic():
        seed_catalog()  # normally done by the "catalog" seeder already; idempotent
        customers = list(CUSTOMERS) + more_customers()
        for ext, name, tz, tax, domain in customers:
            customer_create(
                external_id=ext,
                name=name,
                currency="USD",
                timezone=tz,
                tax_rate=Decimal(tax),
                email=f"billing@{domain}",
                actor=actor,
            )
        specs += extra_contracts(m0)
        contracts: dict[str, Contract] = {}
        # The money levers go through maker-checker: finance (or pricing) asks, the approver signs off.
        approver = get_user_model().objects.get(username="approver")
        for spec in specs:
            customer = Customer.objects.get(external_id=spec["customer"])
            contract = contract_create(
                customer=customer.external_id,
                currency=customer.currency,
                start_date=spec["start"],
                end_date=add_months(spec["start"], spec["months"]).replace(day=spec["start"].day),
                billing_anchor=spec["anchor"],
                lines=spec["lines"],
                trial_days=spec.get("trial_days"),
                actor=actor,
            )
            contract = contract_activate(contract=contract, actor=actor)
            if contract.override_approval is not None:  # custom-priced lines (onboarding, platform)
                approval_decide(
                    approval=contract.override_approval,
                    user=approver,
                    approve=True,
                    comment="Custom price agreed in the order form",
                )
                contract = Contract.objects.get(pk=contract.pk)
            contracts[spec["customer"]] = contract
        coupon = Coupon.objects.filter(code="launch-20").first()
        if coupon is None:
            request = coupon_request(
                code="launch-20",
                changes={
                    "name": "Launch offer",
                    "kind": Coupon.Kind.PERCENT,
                    "value": "20",
                    "duration": Coupon.Duration.REPEATING,
                    "duration_periods": 3,
                },
                actor=actor,
            )
            approval_decide(approval=request, user=approver, approve=True, comment="Launch campaign")
            coupon = Coupon.objects.get(code="launch-20")
        cyberdyne = contracts["cyberdyne"]
        coupon_apply(coupon=coupon, contract=cyberdyne, applied_from=cyberdyne.start_date, actor=actor)
        vandelay = contracts["vandelay"]
        prepaid = credit_grant_request(  # cash received: approved against the receipt
            customer=vandelay.customer,
            contract=vandelay,
            amount=Decimal("1000.00"),
            granted_on=vandelay.start_date,
            expires_on=add_months(vandelay.start_date, 12),
            reason="Prepaid commit",
            kind="purchased",
            payment_reference="WIRE-VANDELAY-0001",
            actor=actor,
        )
        approval_decide(
            approval=prepaid, user=approver, approve=True, comment="Wire WIRE-VANDELAY-0001 received"
        )
        initech = contracts["initech"]
        goodwill = goodwill_credit_request(  # drawn by two invoices, the rest expires unused
            customer=initech.customer,
            contract=initech,
            amount=Decimal("1000.00"),
            granted_on=months_back(m0, 3),
            expires_on=months_back(m0, 1),
            reason="Goodwill credit for the migration delay (60 days)",
            actor=actor,
        )
        approval_decide(approval=goodwill, user=approver, approve=True, comment="Agreed with the CFO")
    report.append(
        f"{len(customers)} customers, {len(contracts)} contracts (activated), coupon, prepaid credits"
    )

    # 2. Usage for the token and API contracts, received an hour ago.
    api_from = months_back(m0, 2)
    events: list[dict] = []
    for spec in specs:
        if spec.get("tokens") or spec.get("calls"):
            customer = contracts[spec["customer"]].customer
            events += contract_events(
                spec, customer, until=received - timedelta(minutes=5), api_from=api_from
            )
    report.append(f"{_ingest(events, received_at=received)} usage events")

    # 3. Bill up to the start of last month; finalize it all; pay most of it.
    last_month = months_back(m0, 1)
    _run(last_month, actor)
    drafts = Invoice.objects.filter(status=Invoice.Status.DRAFT).order_by("billing_date", "id")
    finalized = _finalize(list(drafts), actor=actor, now=finalize_now)
    unpaid_recent = {"hooli", "stark", "globex"}
    void_target = Invoice.objects.filter(
        contract=contracts["stark"], status=Invoice.Status.FINALIZED, billing_date=months_back(m0, 3)
    ).first()
    paid = 0
    for invoice in (
        Invoice.objects.filter(status=Invoice.Status.FINALIZED, total__gt=0)
        .select_related("customer")
        .order_by("billing_date", "id")
    ):
        recent = invoice.billing_date >= months_back(m0, 2)
        if invoice == void_target or (recent and invoice.customer.external_id in unpaid_recent):
            continue
        if invoice.billing_date == last_month and invoice.pk % 2:
            continue
        paid_on = min(invoice.billing_date + timedelta(days=7 + invoice.pk % 19), today)
        payment_record(
            invoice=invoice,
            amount=invoice.balance_due,
            paid_on=paid_on,
            reference=f"WIRE-{invoice.number}",
            actor=actor,
        )
        paid += 1
    # A void and a credit note move revenue: finance asks, the demo approver approves (maker-checker).
    if void_target is not None:
        asked = invoice_void_request(
            invoice=void_target,
            reason="Seats waived for the onboarding delay (agreed with the customer, ticket CS-1042)",
            actor=actor,
        )
        approval_decide(approval=asked, user=approver, approve=True, comment="Agreed, ticket CS-1042")
    credited = (
        InvoiceLine.objects.filter(
            invoice__contract=contracts["northwind"],
            invoice__status=Invoice.Status.PAID,
            kind=InvoiceLine.Kind.FEE,
            amount__gt=0,
        )
        .order_by("invoice__billing_date")
        .first()
    )
    if credited is not None:
        asked = credit_note_request(
            invoice=credited.invoice,
            lines=[{"invoice_line": credited.pk, "amount": min(credited.amount, Decimal("25.00"))}],
            reason=f"SLA credit: API outage on {credited.service_start + timedelta(days=11):%d %b %Y}",
            actor=actor,
        )
        approval_decide(approval=asked, user=approver, approve=True, comment="SLA credit checked")
    report.append(f"{finalized} invoices finalized, {paid} paid, 1 voided, 1 credit note")

    # 4. Mid-period changes: more seats at Initech and at two other seat customers, a token customer
    #    upgrades to the hybrid plan from this month, Wayne and one more customer terminate.
    drawn = {spec["customer"]: (index, spec) for index, spec in enumerate(specs[len(CUSTOMERS) :])}
    earlier = [ext for ext, (_i, spec) in drawn.items() if spec["start"] < last_month]
    seat_growth = [ext for ext in earlier if MIX[drawn[ext][0] % len(MIX)] == "seats"][:2]
    upgrade = next(ext for ext in earlier if MIX[drawn[ext][0] % len(MIX)] == "ai")
    leaver = next(ext for ext in earlier if MIX[drawn[ext][0] % len(MIX)] == "api+seats")
    amendments = [("initech", last_month.replace(day=15), [{"line": "seats", "quantity": "20"}])]
    for n, ext in enumerate(seat_growth):
        quantity = int(contracts[ext].lines.get(key="seats").quantity) + 5 * (n + 1)
        amendments.append(
            (ext, last_month.replace(day=10 + n), [{"line": "seats", "quantity": str(quantity)}])
        )
    amendments.append((upgrade, m0, [{"line": "ai", "plan": "ai-enterprise"}]))
    for ext, effective, changes in amendments:
        with transaction.atomic():
            contract_amend(contract=contracts[ext], effective_date=effective, changes=changes, actor=actor)
    for ext, effective in (("wayne", last_month.replace(day=20)), (leaver, last_month.replace(day=25))):
        with transaction.atomic():
            contract_terminate(contract=contracts[ext], effective_date=effective, actor=actor)
    report.append(f"{len(amendments)} amendments, 2 terminations")

    # 4b. Changes waiting for their date (issue 17 §4): Initech's seats go to 25 from next month (a
    #     scheduled upgrade, withdrawable until then); one more customer cancels at the end of the
    #     current billing period (no credit: nothing billed past it).
    from billing.contracts.services.scheduled import contract_cancel, scheduled_change_create

    canceler = next(ext for ext in earlier if ext not in {*seat_growth, upgrade, leaver})
    with transaction.atomic():
        scheduled_change_create(
            contract=contracts["initech"],
            effective_date=add_months(m0, 1),
            changes=[{"line": "seats", "quantity": "25"}],
            actor=actor,
            on=today,
        )
        contract_cancel(contract=contracts[canceler], at="period_end", actor=actor, on=today)
    report.append(f"1 upgrade scheduled for {add_months(m0, 1)}, {canceler} cancels at the period end")

    # 5. A few token events for a finalized period arrive late: billed as an adjustment next time.
    zone = ZoneInfo(contracts["northwind"].customer.timezone)
    late_day = datetime.combine(months_back(m0, 2).replace(day=12), time(15), tzinfo=zone)
    late = [
        {
            "transaction_id": f"billing-demo-northwind-late-{n}",
            "customer": "northwind",
            "code": "llm_tokens",
            "timestamp": (late_day + timedelta(minutes=7 * n)).astimezone(UTC).isoformat(),
            "properties": {"model": "gpt-4o", "token_type": "output", "tokens": 400_000 + 25_000 * n},
        }
        for n in range(6)
    ]
    _ingest(late, received_at=real_now - timedelta(minutes=20))

    # 6. Bill up to today; finalize what is older than this month; leave this month's drafts.
    run = _run(today, actor)
    older = Invoice.objects.filter(status=Invoice.Status.DRAFT, billing_date__lt=m0).order_by(
        "billing_date", "id"
    )
    finalized = _finalize(list(older), actor=actor)
    drafts_left = Invoice.objects.filter(status=Invoice.Status.DRAFT).count()
    report.append(
        f"run #{run.pk} as of {today}: {run.invoices_created} invoices; {finalized} more finalized, "
        f"{drafts_left} drafts left for review"
    )
    # 7. Credits that expired unused leave the liability for revenue (what the daily beat task does).
    expired = credits_expire(on=today)
    report.append(f"{len(expired)} expired credit grant{'s' if len(expired) != 1 else ''} released")
    return "; ".join(report)
