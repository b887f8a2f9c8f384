"""Closed periods stay closed (issue 12 §1, accounting.md §9).

A book billed and recognized January–March 2026 and closed through March (through the API). Every kind
of backdated action — a payment and a payment's reversal, a prepaid credit grant and its expiry, a backdated contract with its
billing and revenue runs for old periods, a contract modification with a catch-up, invoices finalized
on a date in a closed period, a credit note, late usage — is performed through the API or UI, one at a
time and all together, and every report of every closed period is compared, serialized to JSON, with
the snapshot taken before: byte-identical. Each backdated posting lands in the first open period (2026-04),
dated its first day, with its business date kept."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from django.db import transaction
from django.utils import timezone

from billing.invoicing.credits import credits_expire
from billing.invoicing.lifecycle import invoice_finalize
from billing.models import CreditExpiry, CreditGrant, Invoice, InvoiceLine, Payment
from compliance.checks.ledger import nothing_posted_in_closed_periods
from revops.core.approvals.models import Approval
from revops.parties.models import Customer
from revrec.models import AccountingPeriod, ContractModification, JournalEntry
from tests.builders import approved_credit_grant, day, send_events, through_approval
from tests.closing import close_period

pytestmark = pytest.mark.django_db

CLOSED = ("2026-01", "2026-02", "2026-03")
FIRST_OPEN = "2026-04"
IN_CLOSED_MONTH = date(2026, 3, 20)  # "today" while the backdated actions run


def _ok(response, *codes):
    assert response.status_code in (codes or (200, 201, 202)), getattr(response, "content", b"")[:2000]
    return response


def _approve_schedules(finance, approver):
    for sched in finance.get("/api/v1/schedules?status=pending_approval&page_size=100").json()["results"]:
        _ok(approver.post(f"/api/v1/schedules/{sched['id']}/approve", {"comment": "ok"}, format="json"))


def _run(capture, client, url, payload=None):
    with capture(execute=True):
        return _ok(client.post(url, payload or {}, format="json"))


@pytest.fixture
def books(api_for, catalog, django_capture_on_commit_callbacks, settings):
    """Alpha (platform in advance + API usage in arrears + onboarding), Beta (3,600.00 one-time over
    three years), Delta (31.00 a month); billed and recognized January–March, paid, closed through March."""
    capture = django_capture_on_commit_callbacks
    settings.USAGE_SETTLE_SECONDS = 0  # late usage received "now" is billed by the next run
    finance, approver = api_for("finance"), api_for("approver")
    for ref, name, tax in (("alpha", "Alpha", "10"), ("beta", "Beta", "0"), ("delta", "Delta", "0")):
        _ok(
            finance.post(
                "/api/v1/customers",
                {"external_id": ref, "name": name, "currency": "USD", "tax_rate": tax},
                format="json",
            )
        )
    specs = {
        "alpha": ("2027-01-01", [
            {"key": "platform", "product": "platform", "plan": "hybrid"},
            {"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"},
        ]),
        "beta": ("2029-01-01", [
            {"key": "support", "product": "platform", "amount": "3600.00", "billing": "one_time",
             "recognition": "ratable_daily"},
        ]),
        "delta": ("2027-01-01", [{"key": "svc", "product": "platform", "unit_price": "31.00"}]),
    }  # fmt: skip
    contracts = {}
    for ref, (end, lines) in specs.items():
        contract = _ok(
            finance.post(
                "/api/v1/contracts",
                {
                    "customer": ref,
                    "currency": "USD",
                    "start_date": "2026-01-01",
                    "end_date": end,
                    "lines": lines,
                },
                format="json",
            )
        ).json()
        _run(capture, finance, f"/api/v1/contracts/{contract['id']}/activate")
        contracts[ref] = contract
    _approve_schedules(finance, approver)
    send_events(
        Customer.objects.get(external_id="alpha"),
        [
            {"code": "api_calls", "timestamp": day(date(2026, m, 10)), "transaction_id": f"a{m}-{i}"}
            for m in (1, 2, 3)
            for i in range(1005)
        ],
        received_at=datetime(2026, 3, 31, 23, tzinfo=UTC),
    )
    for as_of in ("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"):
        _run(capture, finance, "/api/v1/billing-runs", {"as_of": as_of})
    for invoice in Invoice.objects.filter(status="draft").order_by("billing_date", "id"):
        with transaction.atomic(), capture(execute=True):
            invoice_finalize(invoice=invoice, actor=finance.user, issue_date=invoice.billing_date)
    for invoice in Invoice.objects.filter(billing_date__lt="2026-03-01").exclude(total=0):
        _run(
            capture,
            finance,
            f"/api/v1/invoices/{invoice.pk}/payments",
            {"amount": str(invoice.total), "date": str(invoice.due_date)},
        )
    for period in CLOSED:
        _run(capture, finance, "/api/v1/revenue-runs", {"period": period})
    for period in CLOSED:
        response = close_period(finance, period)
        assert response.status_code == 202, response.json()
    assert AccountingPeriod.objects.get(period=FIRST_OPEN).status == "open"
    return {"finance": finance, "approver": approver, "capture": capture, "contracts": contracts}


# --- every report of every closed period ----------------------------------------------------------------


def closed_period_reports(client) -> dict[str, str]:
    """Each report of each closed period through the report API, as its JSON text."""
    out = {}
    for period in CLOSED:
        end = {"2026-01": "2026-02", "2026-02": "2026-03", "2026-03": "2026-04"}[period]
        urls = {
            "trial balance of the month": f"/api/v1/reports/trial-balance?start={period}&end={end}",
            "trial balance since 2020": f"/api/v1/reports/trial-balance?start=2020-01&end={end}",
            "deferred revenue rollforward": f"/api/v1/reports/deferred-revenue?period={period}",
            "unbilled receivables": f"/api/v1/reports/unbilled?period={period}",
            "waterfall": f"/api/v1/reports/waterfall?start=2020-01&end={end}",
            "revenue by product": f"/api/v1/reports/revenue?start=2020-01&end={end}&group_by=product",
            "revenue by customer": f"/api/v1/reports/revenue?start=2020-01&end={end}&group_by=customer",
            "journal of the month": f"/api/v1/reports/journal-entries?period={period}",
            "journal since 2020": f"/api/v1/reports/journal-entries?start=2020-01&end={end}",
        }
        for name, url in urls.items():
            response = client.get(url + "&currency=USD")
            assert response.status_code == 200, (url, response.content[:500])
            if name.startswith("journal"):
                body = b"".join(response.streaming_content).decode()
            else:
                body = json.dumps(response.json())
            out[f"{period} {name}"] = body
    return out


@contextmanager
def today_in_march():
    """``timezone.localdate()`` (today) is 20 March 2026, inside the closed March: invoices finalized
    and credit notes issued meanwhile are dated then. (Billing runs keep the real today: they may not
    bill beyond the current period plus one interval.)"""
    real = timezone.localdate

    def localdate(value=None, timezone=None):
        return real(value, timezone) if value is not None else IN_CLOSED_MONTH

    module = sys.modules["django.utils.timezone"]
    module.localdate = localdate
    try:
        yield
    finally:
        module.localdate = real


def _finalize_today_in_march(b, invoices):
    with today_in_march():
        for invoice in invoices:
            _run(b["capture"], b["finance"], f"/api/v1/invoices/{invoice.pk}/finalize")
    assert not Invoice.objects.filter(
        pk__in=[i.pk for i in invoices], issue_date__gte=date(2026, 4, 1)
    ).exists()


# --- the backdated actions ------------------------------------------------------------------------------


def payment_backdated(b):
    invoice = Invoice.objects.filter(
        contract_id=b["contracts"]["alpha"]["id"], billing_date="2026-03-01"
    ).get()
    _run(
        b["capture"],
        b["finance"],
        f"/api/v1/invoices/{invoice.pk}/payments",
        {"amount": "10.00", "date": "2025-06-15", "reference": "found in the lockbox"},
    )


def payment_reversal(b):
    """A January payment (in a closed period) reversed while "today" is in the closed March: the
    reversing entry posts into the first open period as a correction (issue 16 §2)."""
    payment = Payment.objects.filter(date__lt="2026-02-01").order_by("id").first()
    with today_in_march():
        _run(
            b["capture"],
            b["finance"],
            f"/api/v1/invoices/{payment.invoice_id}/payments/{payment.pk}/reverse",
            {"reason": "The transfer bounced"},
        )


def credit_grant_backdated(b, ui):
    client = ui("finance")
    alpha = Customer.objects.get(external_id="alpha")
    with b["capture"](execute=True):
        response = client.post(
            f"/customers/{alpha.pk}/credits/",
            {
                "kind": "purchased",
                "amount": "500.00",
                "granted_on": "2024-06-01",
                "expires_on": "",
                "reason": "prepaid commit",
                "payment_reference": "WIRE-2024-06-01",
            },
        )
    assert response.status_code in (200, 302), response.content[:2000]
    approval = Approval.objects.get(kind="purchased_credit", status="pending")
    with b["capture"](execute=True):
        _ok(b["approver"].post(f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json"))
    assert CreditGrant.objects.filter(granted_on="2024-06-01").exists()


def goodwill_credit_backdated(b):
    """A goodwill credit dated in February, requested through the API and approved by an approver."""
    response = _ok(
        b["finance"].post(
            "/api/v1/customers/beta/credit-grants",
            {
                "kind": "goodwill",
                "amount": "40.00",
                "granted_on": "2026-02-10",
                "reason": "outage in February",
            },
            format="json",
        ),
        202,
    )
    approval = response.json()["approval"]
    approval_id = approval["id"] if isinstance(approval, dict) else approval
    with b["capture"](execute=True):
        _ok(b["approver"].post(f"/api/v1/approvals/{approval_id}/approve", {"comment": "ok"}, format="json"))
    assert CreditGrant.objects.filter(kind="goodwill", granted_on="2026-02-10").exists()


def credit_expiry_backdated(b):
    beta = Customer.objects.get(external_id="beta")
    with transaction.atomic(), b["capture"](execute=True):
        approved_credit_grant(
            customer=beta,
            amount="300.00",
            granted_on=date(2026, 1, 5),
            expires_on=date(2026, 2, 28),
            reason="prepaid commit",
        )
    with b["capture"](execute=True):
        credits_expire(on=IN_CLOSED_MONTH)
    assert CreditExpiry.objects.filter(expired_on="2026-02-28").exists()


def backdated_contract(b):
    """A contract signed now but starting 2025-06-01: activated, billed as of 1 April (its invoices
    finalized today, 20 March) and its revenue run for 2025-06 and 2026-02."""
    finance, capture = b["finance"], b["capture"]
    _ok(
        finance.post(
            "/api/v1/customers", {"external_id": "gamma", "name": "Gamma", "currency": "USD"}, format="json"
        )
    )
    contract = _ok(
        finance.post(
            "/api/v1/contracts",
            {
                "customer": "gamma",
                "currency": "USD",
                "start_date": "2025-06-01",
                "end_date": "2026-06-01",
                "lines": [
                    {"key": "svc", "product": "platform", "unit_price": "50.00"},
                    {"key": "setup", "product": "onboarding", "amount": "600.00", "billing": "one_time"},
                ],
            },
            format="json",
        )
    ).json()
    _run(capture, finance, f"/api/v1/contracts/{contract['id']}/activate")
    _approve_schedules(finance, b["approver"])
    # 2025-06 is before the books (they begin in 2026-01 and a period is closed): its run is refused,
    # and the run for the first open period recognizes everything scheduled up to it.
    refused = finance.post("/api/v1/revenue-runs", {"period": "2025-06"}, format="json")
    assert refused.status_code == 400 and "not a period of the books" in refused.json()["detail"]
    _run(capture, finance, "/api/v1/revenue-runs", {"period": "2026-02"})
    _run(capture, finance, "/api/v1/billing-runs", {"as_of": "2026-04-01", "customers": ["gamma"]})
    drafts = list(Invoice.objects.filter(contract_id=contract["id"], status="draft"))
    assert drafts
    _finalize_today_in_march(b, drafts)


def modification_catch_up(b):
    """Delta's price doubles from 1 February (a closed month), cumulative catch-up, approved; the revenue
    run for March (closed) and a billing run bill and recognize the difference."""
    finance, approver, capture = b["finance"], b["approver"], b["capture"]
    contract = b["contracts"]["delta"]
    _run(
        capture,
        finance,
        f"/api/v1/contracts/{contract['id']}/amend",
        {"effective_date": "2026-02-01", "changes": [{"line": "svc", "unit_price": "62.00"}]},
    )
    mod = ContractModification.objects.get(contract_id=contract["id"], status="pending_approval")
    _ok(
        finance.post(
            f"/api/v1/modifications/{mod.pk}/treatment", {"treatment": "cumulative_catch_up"}, format="json"
        )
    )
    approval = Approval.objects.filter(kind="contract_modification", status="pending").get()
    with capture(execute=True):
        _ok(approver.post(f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json"))
    _run(capture, finance, "/api/v1/revenue-runs", {"period": "2026-03"})
    _run(capture, finance, "/api/v1/billing-runs", {"as_of": "2026-04-01", "customers": ["delta"]})
    _finalize_today_in_march(b, list(Invoice.objects.filter(contract_id=contract["id"], status="draft")))


def invoice_finalized_backdated(b):
    """Delta's May invoice, finalized with an issue date in February (the service takes one)."""
    _run(b["capture"], b["finance"], "/api/v1/billing-runs", {"as_of": "2026-05-01", "customers": ["delta"]})
    drafts = Invoice.objects.filter(contract_id=b["contracts"]["delta"]["id"], status="draft")
    assert drafts.exists()
    for invoice in drafts:
        with transaction.atomic(), b["capture"](execute=True):
            invoice_finalize(invoice=invoice, actor=b["finance"].user, issue_date=date(2026, 2, 15))


def late_usage(b):
    """Usage of January and February received after they were billed (the invoices' watermark), billed
    on the next invoice as adjustments of the finalized ones, finalized through the API today."""
    alpha = Customer.objects.get(external_id="alpha")
    send_events(
        alpha,
        [
            {"code": "api_calls", "timestamp": day(date(2026, m, 12)), "transaction_id": f"late-{m}-{i}"}
            for m in (1, 2)
            for i in range(300)
        ],
        received_at=datetime.now(UTC),
    )
    _run(b["capture"], b["finance"], "/api/v1/billing-runs", {"as_of": "2026-05-01", "customers": ["alpha"]})
    drafts = Invoice.objects.filter(customer=alpha, status="draft")
    assert InvoiceLine.objects.filter(invoice__in=drafts, kind="usage_adjustment").exists()
    _finalize_today_in_march(b, list(drafts))


def credit_note(b):
    line = InvoiceLine.objects.filter(
        invoice__contract_id=b["contracts"]["alpha"]["id"],
        invoice__billing_date="2026-01-01",
        kind="one_time",
    ).get()
    with today_in_march(), b["capture"](execute=True):
        asked = b["finance"].post(
            "/api/v1/credit-notes",
            {
                "invoice": line.invoice_id,
                "reason": "Goodwill",
                "lines": [{"invoice_line": line.pk, "amount": "100.00"}],
            },
            format="json",
        )
        through_approval(asked)  # a credit note waits for a second person


ACTIONS = {
    "payment": payment_backdated,
    "payment_reversal": payment_reversal,
    "credit_grant": credit_grant_backdated,
    "goodwill_credit": goodwill_credit_backdated,
    "credit_expiry": credit_expiry_backdated,
    "backdated_contract_and_old_revenue_runs": backdated_contract,
    "modification_catch_up": modification_catch_up,
    "invoice_finalized_backdated": invoice_finalized_backdated,
    "late_usage": late_usage,
    "credit_note": credit_note,
}


def _perform(name, b, ui):
    action = ACTIONS[name]
    if name == "credit_grant":
        action(b, ui)
    else:
        action(b)


def _assert_closed_periods_untouched(b, before_reports, before_periods, first_new_entry):
    new = JournalEntry.objects.filter(pk__gte=first_new_entry)
    assert new.exists(), "the action posted nothing"
    # Nothing landed in (or before) a closed period; the backdated ones are corrections in the first
    # open period, dated its first day, keeping their business date.
    assert not new.filter(period__lte=CLOSED[-1]).exists()
    assert not new.filter(date__lt=date(2026, 4, 1)).exists()
    corrections = new.filter(business_date__lt=date(2026, 4, 1))
    assert corrections.exists(), "the action posted nothing backdated"
    for entry in corrections:
        assert entry.period == FIRST_OPEN and entry.date == date(2026, 4, 1), entry
        assert entry.correction_for_period == f"{entry.business_date:%Y-%m}"
    # No period was created before the books' first (closed) one.
    periods = set(AccountingPeriod.objects.values_list("period", flat=True))
    assert min(periods) == min(before_periods) == CLOSED[0]
    assert closed_period_reports(b["finance"]) == before_reports
    assert nothing_posted_in_closed_periods() == []


def _next_entry_id() -> int:
    return (JournalEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1


def test_every_kind_of_backdated_action_leaves_every_closed_period_byte_identical(books, ui_for):
    """One world, every action in turn; after each, the closed periods' reports are compared with the
    snapshot taken before the first (the world takes a minute and a half to build on a busy machine,
    so the actions share it)."""
    before_reports = closed_period_reports(books["finance"])
    before_periods = set(AccountingPeriod.objects.values_list("period", flat=True))
    first_of_all = _next_entry_id()
    for name in ACTIONS:
        first_new_entry = _next_entry_id()
        _perform(name, books, ui_for)
        try:
            _assert_closed_periods_untouched(books, before_reports, before_periods, first_new_entry)
        except AssertionError as error:
            raise AssertionError(f"after the backdated {name}: {error}") from error
    sources = set(JournalEntry.objects.filter(pk__gte=first_of_all).values_list("source", flat=True))
    assert {"payment", "credit_grant", "credit_expiry", "invoice", "credit_note", "recognition"} <= sources
