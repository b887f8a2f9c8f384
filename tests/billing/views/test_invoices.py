"""Invoice pages: the review queue (bulk finalize), the invoice page and its actions (void, payment,
credit note, PDF) and the line drill-down to the exact usage events (issue 5 §7)."""

import hashlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.invoicing.finalization import finalization_preview
from billing.models import CreditNote, FinalizationRun, Invoice, InvoiceLine
from revops.core.approvals.models import Approval
from tests.billing.factories import ContractFactory
from tests.billing.views.conftest import build, finalize
from tests.builders import day, send_events
from tests.revops.factories import ApprovalFactory, CustomerFactory, approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafts(catalog):
    """Three drafts billed on 1 April 2026, one per customer."""
    out = []
    for name in ("Alpha", "Beta", "Gamma"):
        customer = CustomerFactory(external_id=name.lower(), name=f"{name} Ltd")
        contract = ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
            start_date=date(2026, 4, 1),
            customer=customer,
        )
        out.append(build(contract, date(2026, 4, 1)))
    return out


def _shown(*, ids=None, **filters) -> str:
    """The digest a confirmation page shown now carries (the exact drafts and their totals)."""
    return finalization_preview(invoice_ids=ids, filters=None if ids else {"status": "draft", **filters})[
        "digest"
    ]


def test_review_queue_lists_drafts_with_checkboxes_and_totals(finance, drafts):
    html = finance.get("/invoices/").content.decode()
    assert "Invoice review queue" in html and "Finalize selected" in html
    for invoice in drafts:
        assert f'name="invoice" value="{invoice.pk}"' in html and invoice.draft_reference in html
    assert "3 drafts · 30.00 USD" in html
    filtered = finance.get("/invoices/?status=draft&customer=beta", HTTP_HX_REQUEST="true").content.decode()
    assert "Beta Ltd" in filtered and "Alpha Ltd" not in filtered and "<html" not in filtered


def test_bulk_finalize_returns_at_once_with_the_jobs_progress_bar(
    finance, drafts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = finance.post(
            "/invoices/finalize/",
            {
                "invoice": [d.pk for d in drafts],
                "confirm": "1",
                "expected": _shown(ids=[d.pk for d in drafts]),
            },
        )
    run = FinalizationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/invoices/finalize/{run.pk}/"
    assert len(queued) == 1  # the plan task, sent once the request's transaction commits
    assert not Invoice.objects.exclude(status="draft").exists()  # nothing finalized in the request
    html = finance.get(response["Location"]).content.decode()
    assert f'id="job-{run.job_id}-progress"' in html and f'hx-get="/jobs/{run.job_id}/progress/"' in html
    assert 'hx-trigger="every 1s"' in html and "3 selected drafts" in html and "Queued" in html


def test_bulk_finalize_finalizes_the_selected_drafts_with_consecutive_numbers(
    finance, drafts, django_capture_on_commit_callbacks
):
    first, second, third = drafts
    with django_capture_on_commit_callbacks(execute=True):  # the commit runs the job (in-process tasks)
        response = finance.post(
            "/invoices/finalize/",
            {
                "invoice": [first.pk, third.pk],
                "next": "/invoices/?status=draft",
                "confirm": "1",
                "expected": _shown(ids=[first.pk, third.pk]),
            },
        )
    html = finance.get(response["Location"]).content.decode()
    first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
    assert (first.status, third.status, second.status) == ("finalized", "finalized", "draft")
    assert third.sequence == first.sequence + 1
    assert "Finalizing invoices" in html and "Completed" in html and "2 / 2" in html
    assert f"{first.number} … {third.number}" in html and "Every draft of this run was finalized." in html
    assert "hx-trigger" not in html  # finished: the page stops polling


def test_bulk_finalize_reports_each_failure_and_keeps_the_others(
    finance, drafts, django_capture_on_commit_callbacks
):
    done = finalize(drafts[0])
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(
            "/invoices/finalize/",
            {
                "invoice": [done.pk, drafts[1].pk],
                "confirm": "1",
                "expected": _shown(ids=[done.pk, drafts[1].pk]),
            },
        )
    html = finance.get(response["Location"]).content.decode()
    assert "No longer drafts" in html and f"Already finalized as {done.number}." in html
    assert Invoice.objects.get(pk=drafts[1].pk).status == "finalized"


def test_finalize_all_drafts_matching_the_filter_without_selecting_them(
    finance, drafts, django_capture_on_commit_callbacks
):
    html = finance.get("/invoices/?status=draft&customer=beta").content.decode()
    assert 'id="finalize-all"' in html and "Finalize all 1 matching draft" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(
            "/invoices/finalize/",
            {"all": "1", "customer": "beta", "confirm": "1", "expected": _shown(customer="beta")},
        )
    assert "Every draft matching: customer beta" in finance.get(response["Location"]).content.decode()
    assert list(Invoice.objects.exclude(status="draft").values_list("customer__external_id", flat=True)) == [
        "beta"
    ]


def test_bulk_finalize_is_for_the_roles_that_finalize(ui_for, drafts):
    approver = ui_for("approver", "an-approver")
    response = approver.post("/invoices/finalize/", {"all": "1", "confirm": "1", "expected": "3"})
    assert response.status_code == 403
    assert not FinalizationRun.objects.exists() and not Invoice.objects.exclude(status="draft").exists()


def test_a_bad_filter_is_reported_and_starts_nothing(finance, drafts):
    response = finance.post("/invoices/finalize/", {"all": "1", "billing_date": "2026-02-30"}, follow=True)
    assert "Nothing was finalized" in response.content.decode() and not FinalizationRun.objects.exists()


def _queue_form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the review queue's bulk-finalize form (what "finalize all" posts)."""
    form = html[html.index('id="queue-form"') : html.index("</form>", html.index('id="queue-form"'))]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_finalize_all_finalizes_exactly_what_the_list_shows_with_every_filter_kept(
    finance, drafts, django_capture_on_commit_callbacks
):
    # The attack: a filter the toolbar has no field for (set by a link) was dropped by the run, which
    # then finalized every draft. Now the run gets the very filter the list applied.
    may = [build(invoice.contract, date(2026, 5, 1)) for invoice in drafts[:2]]
    url = "/invoices/?status=draft&billing_date_from=2026-05-01&billing_date_to=2026-05-31"
    html = finance.get(url).content.decode()
    assert (
        "Finalize all 2 matching drafts" in html and "Also filtered by billing date from 2026-05-01" in html
    )
    fields = _queue_form_fields(html)
    assert fields["billing_date_from"] == "2026-05-01" and fields["billing_date_to"] == "2026-05-31"
    # First post: the confirmation step, with the count and the total; nothing started yet.
    confirm = finance.post("/invoices/finalize/", {**fields, "all": "1"})
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Finalize 2 drafts?" in page and "20.00 USD" in page
    assert "billing date from 2026-05-01, billing date to 2026-05-31" in page
    assert not FinalizationRun.objects.exists()
    confirmed = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert confirmed["expected"] == _shown(billing_date_from="2026-05-01", billing_date_to="2026-05-31")
    assert confirmed["billing_date_from"] == "2026-05-01"
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post("/invoices/finalize/", confirmed)
    run = FinalizationRun.objects.get()
    assert response["Location"] == f"/invoices/finalize/{run.pk}/"
    assert run.filters == {
        "status": "draft",
        "billing_date_from": "2026-05-01",
        "billing_date_to": "2026-05-31",
    }
    finalized = set(Invoice.objects.exclude(status="draft").values_list("pk", flat=True))
    assert finalized == {i.pk for i in may}  # the April drafts the list did not show stay drafts


def test_finalize_all_refuses_a_filter_the_run_cannot_honour(finance, drafts):
    response = finance.post(
        "/invoices/finalize/", {"all": "1", "status": "draft", "colour": "red", "confirm": "1"}, follow=True
    )
    assert (
        "Nothing was finalized" in response.content.decode() and "Unknown filter" in response.content.decode()
    )
    assert not FinalizationRun.objects.exists() and not Invoice.objects.exclude(status="draft").exists()


def test_finalize_selected_asks_to_confirm_with_the_count_and_total_first(
    finance, drafts, django_capture_on_commit_callbacks
):
    ApprovalFactory(kind="price_override", obj=drafts[1].contract, payload={"action": "amend"})
    response = finance.post("/invoices/finalize/", {"invoice": [drafts[0].pk, drafts[1].pk]})
    page = response.content.decode()
    assert response.status_code == 200 and "Finalize 2 drafts?" in page and "20.00 USD" in page
    assert "1 of them belongs to a contract that awaits an approval" in page  # the run will park it
    assert 'id="confirm-finalize"' in page and not FinalizationRun.objects.exists()
    # A stale confirmation (the drafts changed since) shows the new count instead of starting a run.
    finalize(drafts[0])
    stale = finance.post(
        "/invoices/finalize/", {"invoice": [drafts[0].pk, drafts[1].pk], "confirm": "1", "expected": "2"}
    )
    assert "Finalize 1 draft?" in stale.content.decode() and not FinalizationRun.objects.exists()


def test_finalize_all_refuses_when_the_set_changed_but_not_its_count(
    finance, drafts, django_capture_on_commit_callbacks
):
    """review16 §4: the confirmation compared only the count — one draft finalized elsewhere and
    another billed meanwhile kept "3" and the run finalized a draft nobody had seen."""
    page = finance.post("/invoices/finalize/", {"all": "1", "status": "draft"}).content.decode()
    confirmed = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert "Finalize 3 drafts?" in page
    finalize(drafts[0])
    newcomer = build(drafts[1].contract, date(2026, 5, 1))
    with django_capture_on_commit_callbacks(execute=True):
        again = finance.post("/invoices/finalize/", confirmed)
    html = again.content.decode()
    assert again.status_code == 200 and "Nothing was finalized: the drafts or their totals changed" in html
    assert "Finalize 3 drafts?" in html and not FinalizationRun.objects.exists()
    assert Invoice.objects.get(pk=newcomer.pk).status == "draft"


def test_invoice_page_shows_header_lines_totals_and_audit(finance, drafts):
    invoice = drafts[0]
    html = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert invoice.draft_reference in html and "assigned at finalization" in html
    assert "Refresh usage" in html and ">Finalize…<" in html
    assert "Platform" in html and "10.00 USD" in html and "Balance due" in html
    assert "invoice.drafted" in html  # the invoice's audit events


def test_finalize_then_void_keeps_the_number(finance, drafts):
    invoice = drafts[0]
    asked = finance.post(f"/invoices/{invoice.pk}/finalize/")  # first the consequence, nothing done
    asked_html = asked.content.decode()
    assert asked.status_code == 200 and "Finalizing cannot be undone" in asked_html
    assert 'name="confirm" value="1"' in asked_html and "Total now (before credits)" in asked_html
    invoice.refresh_from_db()
    assert invoice.status == "draft" and not invoice.number
    finance.post(f"/invoices/{invoice.pk}/finalize/", {"confirm": "1"})
    invoice.refresh_from_db()
    number = invoice.number
    assert invoice.status == "finalized" and number
    page = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Record payment" in page and "Void this invoice" in page
    # The PDF is rendered by a task after the commit (none runs in this test): the page says so.
    assert "Download PDF" in page and "Being prepared" in page and invoice.pdf_sha256 == ""
    response = finance.post(f"/invoices/{invoice.pk}/void/", {"reason": "Issued to the wrong entity"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "finalized"  # voiding reverses its posting: a second person approves
    waiting = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Waiting for approval" in waiting and "Void " + number in waiting
    approve(Approval.objects.get(kind="invoice_void", status="pending"))
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, invoice.void_reason) == (
        "void",
        number,
        "Issued to the wrong entity",
    )
    html = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert number in html and "Void since" in html and "Record payment" not in html


def test_void_needs_a_reason(finance, drafts):
    invoice = finalize(drafts[0])
    response = finance.post(f"/invoices/{invoice.pk}/void/", {"reason": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert Invoice.objects.get(pk=invoice.pk).status == "finalized"


def test_payment_marks_the_invoice_paid_and_overpayment_is_a_field_error(finance, drafts):
    invoice = finalize(drafts[0])
    refused = finance.post(f"/invoices/{invoice.pk}/payments/", {"amount": "999", "date": "2026-04-20"})
    assert refused.status_code == 400 and "overpayments are not accepted" in refused.content.decode()
    first = {"amount": "4.00", "date": "2026-04-20", "reference": "W1"}
    asked = finance.post(f"/invoices/{invoice.pk}/payments/", first).content.decode()
    assert "Record a payment of" in asked and "Balance due after" in asked and "reversing entry" in asked
    assert Invoice.objects.get(pk=invoice.pk).amount_paid == 0  # nothing recorded before the confirmation
    assert 'name="paid_before" value="0' in asked  # the state the confirmation showed travels with it
    finance.post(f"/invoices/{invoice.pk}/payments/", {**first, "confirm": "1", "paid_before": "0"})
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("finalized", Decimal("4.00"))
    finance.post(
        f"/invoices/{invoice.pk}/payments/",
        {"amount": "6.00", "date": "2026-04-25", "confirm": "1", "paid_before": "4.00"},
    )
    invoice.refresh_from_db()
    assert invoice.status == "paid" and invoice.balance_due == 0
    html = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "W1" in html and "25 Apr 2026" in html and "Record payment" not in html


def test_a_replayed_or_doubled_payment_confirmation_records_nothing(finance, drafts):
    """An outside abuse test posted the confirmed payment twice (a double submit, a browser resubmit)
    and got two payments. The confirmation carries what the invoice had been paid when it was shown; a
    second POST of it finds that changed and records nothing — and a POST that skips the page is asked."""
    invoice = finalize(drafts[0])
    confirmed = {
        "amount": "1.00",
        "date": "2026-04-20",
        "reference": "dup",
        "confirm": "1",
        "paid_before": "0",
    }
    finance.post(f"/invoices/{invoice.pk}/payments/", confirmed)
    again = finance.post(f"/invoices/{invoice.pk}/payments/", confirmed)
    assert again.status_code == 400 and "changed since this payment was confirmed" in again.content.decode()
    skipped = finance.post(f"/invoices/{invoice.pk}/payments/", {**confirmed, "paid_before": ""})
    assert "Record a payment of" in skipped.content.decode()  # asked again, not recorded
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("1.00") and invoice.payments.count() == 1


def test_credit_note_form_credits_a_line(finance, monthly):
    invoice = finalize(build(monthly, date(2026, 4, 1)))  # 10.00 + 10% tax
    line = invoice.lines.get()
    form = finance.get(f"/invoices/{invoice.pk}/credit-note/").content.decode()
    assert f'name="line_{line.pk}"' in form and "Tax at 10%" in form
    refused = finance.post(f"/invoices/{invoice.pk}/credit-note/", {f"line_{line.pk}": "50", "reason": "SLA"})
    refused_html = refused.content.decode()
    assert refused.status_code == 400 and "can still be credited on this line" in refused_html
    assert 'value="50"' in refused_html and not CreditNote.objects.exists()
    wanted = {f"line_{line.pk}": "4.00", "reason": "SLA"}
    asked = finance.post(f"/invoices/{invoice.pk}/credit-note/", wanted)
    asked_html = asked.content.decode()  # the total with tax first: 4.00 + 10% = 4.40
    assert asked.status_code == 200 and "Total credited, with tax" in asked_html and "4.40" in asked_html
    assert not CreditNote.objects.exists()
    response = finance.post(f"/invoices/{invoice.pk}/credit-note/", {**wanted, "confirm": "1"})
    assert response.status_code == 302
    assert not CreditNote.objects.exists()  # a request: issued once a second person approves
    approve(Approval.objects.get(kind="credit_note", status="pending"))
    note = CreditNote.objects.get()
    assert (note.subtotal, note.tax, note.total, note.reason) == (
        Decimal("4.00"),
        Decimal("0.40"),
        Decimal("4.40"),
        "SLA",
    )
    html = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert note.number in html and "4.40 USD" in html


def test_pdf_is_served_from_storage_with_its_sha256(finance, monthly):
    invoice = finalize(build(monthly, date(2026, 4, 1)))
    # Its after-commit render has not run (no commit in this test): the download renders it on demand,
    # records it, and serves the recorded document from then on.
    assert invoice.pdf_sha256 == ""
    response = finance.get(f"/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response["Content-Disposition"]
    invoice.refresh_from_db()
    assert hashlib.sha256(response.content).hexdigest() == invoice.pdf_sha256 == response["X-Content-SHA256"]
    assert finance.get(f"/invoices/{invoice.pk}/pdf/").content == response.content
    draft = build(monthly, date(2026, 5, 1))
    missing = finance.get(f"/invoices/{draft.pk}/pdf/", follow=True)
    assert missing.status_code == 200 and "no stored PDF" in missing.content.decode()


def test_line_drilldown_lists_exactly_the_events_the_line_covers(finance, catalog):
    customer = CustomerFactory(external_id="tok")
    other = CustomerFactory(external_id="other")
    contract = ContractFactory(
        lines=[{"key": "ai", "product": "tokens", "plan": "tokens"}],
        start_date=date(2026, 3, 1),
        customer=customer,
    )
    received = datetime(2026, 4, 1, 6, tzinfo=UTC)

    def ev(tid, when, token_type, tokens=1000):
        return {
            "transaction_id": tid,
            "code": "llm_tokens",
            "timestamp": when,
            "properties": {"model": "m1", "token_type": token_type, "tokens": tokens},
        }

    send_events(
        customer,
        [
            ev("out-1", day(date(2026, 3, 2)), "output"),
            ev("out-2", day(date(2026, 3, 15)), "output"),
            ev("out-3", day(date(2026, 3, 31), hour=23), "output"),
            ev("in-1", day(date(2026, 3, 3)), "input"),  # another filter group
            ev("apr-1", day(date(2026, 4, 1), hour=1), "output"),  # outside the window
        ],
        received_at=received,
    )
    send_events(other, [ev("x-1", day(date(2026, 3, 5)), "output")], received_at=received)
    invoice = build(contract, date(2026, 4, 1))
    # Received after the draft's watermark (NOW - 5 minutes): not covered by the line.
    send_events(
        customer,
        [ev("late-1", day(date(2026, 3, 20)), "output")],
        received_at=datetime(2030, 1, 2, tzinfo=UTC),
    )
    [line] = [
        ln
        for ln in InvoiceLine.objects.filter(invoice=invoice)
        if ln.dimension == {"model": "m1", "token_type": "output"}
    ]
    assert line.event_count == 3
    html = finance.get(f"/invoices/{invoice.pk}/lines/{line.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and "Rating breakdown" in html
    listed = set(re.findall(r'<td class="mono">([\w-]+)</td>', html))
    assert listed == {"out-1", "out-2", "out-3"}
    assert line.event_hash in html and "re-counted now: 3 — matches" in html
    assert "tokens v1" in html and "/pricing/plans/tokens/versions/1/" in html
    page = finance.get(f"/invoices/{invoice.pk}/lines/{line.pk}/").content.decode()
    assert "<html" in page and "out-2" in page  # a full page without HTMX


def test_invoice_page_warns_when_the_pdf_cannot_show_the_customers_name(finance, drafts):
    """The PDF embeds Unicode fonts: names in Greek, Cyrillic, Chinese, Japanese or Korean print as
    written and raise no warning; a character it cannot show is printed "?" — never silently."""
    from revops.parties.services.customers import customer_update

    invoice = drafts[0]
    assert "PDF cannot show every character" not in finance.get(f"/invoices/{invoice.pk}/").content.decode()
    customer_update(customer=invoice.customer, name="株式会社 Zoë Ελλάδα Москва 한국 Łódź 😀")
    html = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "PDF cannot show every character" not in html
    customer_update(customer=invoice.customer, name="株式会社 Zoë 🦊 Łódź شركة")
    html = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "PDF cannot show every character" in html and "🦊شركة" in html  # the rest prints


@pytest.mark.parametrize("value", ["²", "9" * 5000])
def test_bulk_finalize_with_a_unicode_or_huge_digit_id_is_not_a_500(ui_for, value):
    client = ui_for("finance")
    client.raise_request_exception = False
    response = client.post("/invoices/finalize/", {"invoice": value})
    assert response.status_code == 302  # back to the queue: "Select at least one draft invoice"
