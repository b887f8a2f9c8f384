"""Browser journeys: the whole product the way its users use it, in Debian's chromium.

One journey, in the order the month happens (each step asserts what the user sees and saves a
screenshot under tests/e2e/artifacts/screenshots/<test>/):

1. the pricing admin creates the token-priced plan ``e2e-tokens`` (USD, monthly) — a platform fee and
   an ``llm_tokens`` standard charge priced per model and token type — and submits it for publication;
   it takes effect on 1 October 2026, in the past, so an approver signs it off;
2. finance creates customer ``e2e-co`` and a contract on that plan from 1 October 2026, activates it;
3. finance's pipeline sends October's token usage through ``POST /api/v1/events``;
4. finance starts a billing run as of 1 November 2026 and sees its progress bar at 100%, Completed;
5. finance finalizes the drafts from the review queue, reads the number and the usage lines per
   dimension with their amounts, and fetches the PDF;
6. the revenue schedule made at activation waits for approval: finance (its preparer) has no approve
   control and is refused; an approver approves it. The approver then asks to reopen September, cannot
   approve that request (409, shown on the page), and a second approver approves it;
7. finance runs revenue for 2026-10, runs the compliance checks (all pass, nothing open); October's
   checklist is blocked while September is open; with green checklists finance asks an approver to
   close each period, the approver finds the request at the head of their dashboard and approves it,
   the period closes and finance is notified;
8. the auditor downloads the evidence pack for 2026-10; its MANIFEST.sha256 verifies.
9. the auditor finds an invoice's trail by typing its number into the global search (issue 16 §1).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from contextlib import contextmanager
from decimal import Decimal

import pytest
import requests

pytestmark = pytest.mark.e2e

PLAN = "e2e-tokens"
CUSTOMER = "e2e-co"
PLATFORM_FEE = "49.00"
PRICES = {"input": "0.0000025", "output": "0.00001"}
# October 2026 usage: 2,000,000 input tokens (5.00 USD) and 450,000 output tokens (4.50 USD).
EVENTS = [
    ("e2e-oct-1", "2026-10-03T09:15:00+00:00", "input", 1_500_000),
    ("e2e-oct-2", "2026-10-14T16:40:00+00:00", "input", 500_000),
    ("e2e-oct-3", "2026-10-14T16:40:01+00:00", "output", 250_000),
    ("e2e-oct-4", "2026-10-28T23:59:00+00:00", "output", 200_000),
]


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@contextmanager
def replaced(page, selector: str):
    """Wait, after the block, until HTMX has swapped ``selector`` for a new element: its response
    arriving is not enough, typing into the old element before the swap would be lost."""
    page.eval_on_selector(selector, "el => { el.dataset.e2eStale = '1'; }")
    yield
    page.wait_for_function(
        "s => { const el = document.querySelector(s); return el !== null && !el.dataset.e2eStale; }",
        arg=selector,
    )


def flash(page):
    return page.locator(".messages")


# --- 1. pricing ------------------------------------------------------------------------------------------


def new_draft_plan(page, code: str, name: str, shot=None) -> None:
    """Create a monthly USD plan through the form; it opens its draft version 1."""
    page.goto("/pricing/plans/")
    page.get_by_role("link", name="New plan").first.click()
    page.fill("#id_code", code)
    page.fill("#id_name", name)
    page.fill("#id_currency", "USD")
    page.select_option("#id_interval", "month")
    page.fill("#id_effective_from", "2026-10-01")
    if shot:
        shot("plan-form")
    page.get_by_role("button", name="Create plan and open the draft").click()
    expect(flash(page)).to_contain_text(f"Plan {code} created with a draft version 1")
    expect(page.locator("h1")).to_contain_text("Version 1")


def create_plan(login, shot):
    page = login("pricing")
    new_draft_plan(page, PLAN, "E2E tokens", shot)

    # the platform fee: flat, in advance
    page.get_by_role("link", name="Add the first charge").click()
    page.fill("#id_code", "platform")
    page.fill("#id_name", "Platform fee")
    page.select_option("#id_product", "platform")
    with replaced(page, "#model-section"):  # the model's own price inputs come from the server
        page.select_option("#id_model", "flat")
    page.select_option("#id_timing", "in_advance")
    page.fill("#id_p-amount", PLATFORM_FEE)
    page.fill("#preview-quantity", "1")
    expect(page.locator(".preview-amount")).to_have_text("49.00 USD")
    shot("charge-platform-fee")
    page.get_by_role("button", name="Save charge").click()
    expect(flash(page)).to_contain_text("Charge platform saved to draft version 1.")

    # the tokens: per unit (the editor's default model), priced per model and token type
    page.get_by_role("link", name="Add charge").click()
    page.fill("#id_code", "llm_tokens")
    page.fill("#id_name", "LLM tokens")
    page.select_option("#id_product", "tokens")
    with replaced(page, "#model-section"):
        page.select_option("#id_meter", "llm_tokens")
    expect(page.locator("#id_model")).to_have_value("standard")
    page.select_option("#id_timing", "in_arrears")
    page.fill("#id_p-unit_amount", "0")
    rows = page.locator("#dim-rows .dim-row")
    for n, (token_type, price) in enumerate(PRICES.items()):
        page.get_by_role("button", name="+ Add dimension").click()
        expect(rows).to_have_count(n + 1)
        row = rows.nth(n)
        row.locator('input[name="f-match"]').fill(f"model=gpt-4o, token_type={token_type}")
        row.locator('input[name="f-name"]').fill(f"GPT-4o {token_type} tokens")
        row.locator('input[name="f-unit_amount"]').fill(price)
    # The preview re-renders itself (its price-set select included) after each input: choose the
    # price set only once the preview for the typed quantity is on the page.
    page.fill("#preview-quantity", "1000000")
    expect(page.locator("#preview")).to_contain_text("for a quantity of 1,000,000")
    page.select_option("#preview-group", "0")  # dimension 1: gpt-4o input
    expect(page.locator(".preview-amount")).to_have_text("2.50 USD")
    expect(page.locator("#preview-group")).to_have_value("0")
    shot("charge-llm-tokens")
    page.get_by_role("button", name="Save charge").click()
    expect(flash(page)).to_contain_text("Charge llm_tokens saved to draft version 1.")
    charges = page.locator("table.charges-table")
    expect(charges).to_contain_text("Platform fee")
    expect(charges).to_contain_text("0.0000025")
    expect(charges).to_contain_text("0.00001")
    shot("draft-with-charges")

    # 1 October 2026 is in the past: a back-dated version is published once an approver signs it off.
    page.get_by_role("link", name="Publish…").click()
    expect(page.locator("h1")).to_contain_text("Publish version 1?")
    expect(page.locator(".flash", has_text="Needs an approver")).to_contain_text("back-dated")
    page.get_by_role("button", name="Submit version 1 for approval").click()
    expect(flash(page)).to_contain_text("Version 1 was submitted for approval")
    expect(page.locator("h1 .badge")).to_have_text("Draft")
    shot("version-submitted")

    page = login("approver")
    page.goto("/approvals/")
    row = page.locator("table.rv-queue tbody tr", has_text=f"Publish {PLAN} v1")
    expect(row).to_contain_text("Priya Pricing")
    row.get_by_role("button", name="Approve").click()
    expect(flash(page)).to_contain_text(f"Approved: Publish {PLAN} v1")

    page = login("pricing")
    page.goto(f"/pricing/plans/{PLAN}/versions/1/")
    expect(page.locator("h1 .badge")).to_have_text("In force")
    shot("version-published")


# --- 2. customer and contract -----------------------------------------------------------------------------


def create_customer_and_contract(login, shot) -> str:
    page = login("finance")
    page.goto("/customers/")
    page.get_by_role("link", name="New customer").first.click()
    page.fill("#id_name", "E2E Co")
    page.fill("#id_external_id", CUSTOMER)
    page.fill("#id_currency", "USD")
    page.fill("#id_timezone", "UTC")
    page.fill("#id_tax_rate", "10")
    page.fill("#id_email", "billing@e2e.example")
    shot("customer-form")
    page.get_by_role("button", name="Create customer").click()
    expect(flash(page)).to_contain_text(f"Customer E2E Co ({CUSTOMER}) created.")
    expect(page.locator("h1")).to_contain_text("E2E Co")
    expect(page.locator(".facts")).to_contain_text("10% exclusive")
    shot("customer-created")

    page.locator("header").get_by_role("link", name="New contract").click()
    expect(page.locator("#id_customer")).to_have_value(CUSTOMER)
    page.fill("#id_start_date", "2026-10-01")
    page.fill("#id_end_date", "2027-10-01")
    page.select_option("#id_billing_anchor", "calendar")
    row = page.locator("#line-rows tr").first
    row.locator('input[name="line-key"]').fill("main")
    row.locator('select[name="line-product"]').select_option("platform")
    row.locator('select[name="line-plan"]').select_option(PLAN)
    row.locator('input[name="line-quantity"]').fill("1")
    shot("contract-form")
    page.get_by_role("button", name="Create draft contract").click()
    expect(flash(page)).to_contain_text("created as a draft (588.00 USD fixed consideration)")
    number = page.locator("h1 .mono").inner_text()
    assert re.fullmatch(r"C-\d+", number), number
    expect(page.locator("h1 .badge")).to_have_text("Draft")
    page.get_by_role("button", name="Activate…").click()
    # Irreversible: the consequence first (issue 16 §2), then the activation.
    expect(page.locator("#confirm-consequence")).to_contain_text("Activation cannot be undone")
    page.get_by_role("button", name=f"Activate {number}").click()
    expect(flash(page)).to_contain_text(f"Contract {number} of E2E Co is active")  # names the customer
    expect(page.locator("h1 .badge")).to_have_text("Active")
    lines = page.locator("section[aria-labelledby=lines-title]")
    expect(lines).to_contain_text(PLAN)
    expect(lines).to_contain_text("1 Oct 2026 – 1 Oct 2027")
    shot("contract-active")
    return number


# --- 3. usage through the API -------------------------------------------------------------------------------


def send_usage(live_server, world, login, shot):
    payload = {
        "events": [
            {
                "transaction_id": tid,
                "customer": CUSTOMER,
                "code": "llm_tokens",
                "timestamp": ts,
                "properties": {"model": "gpt-4o", "token_type": kind, "tokens": tokens},
            }
            for tid, ts, kind, tokens in EVENTS
        ]
    }
    response = requests.post(
        f"{live_server.url}/api/v1/events",
        json=payload,
        headers={"Authorization": f"Bearer {world.api_token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (4, 0, [])
    page = login("finance")
    page.goto(
        f"/usage/?customer={CUSTOMER}&meter=llm_tokens&start=2026-10-01&end=2026-11-01&group_by=token_type"
    )
    expect(page.locator(".stat-value").first).to_have_text("2,450,000")
    groups = page.locator("table", has_text="Share")
    expect(groups.locator("tr", has_text="input")).to_contain_text("2,000,000")
    expect(groups.locator("tr", has_text="output")).to_contain_text("450,000")
    shot("usage-received")


# --- 4. billing run -----------------------------------------------------------------------------------------


def run_billing(login, shot) -> None:
    page = login("finance")
    page.goto("/billing/runs/")
    page.fill("#id_as_of", "2026-11-01")  # every customer: only a full run completes the close checklist
    shot("billing-run-form")
    page.get_by_role("button", name="Start billing run").click()
    expect(flash(page)).to_contain_text("as of 1 Nov 2026 started.")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator(".progress-meta .badge")).to_have_text("Completed")
    expect(page.locator(".progress-meta")).to_contain_text("2 / 2")
    expect(page.locator(".stat", has_text="Invoices built").locator(".stat-value")).to_have_text("2")
    expect(page.locator(".stat", has_text="Parked failures").locator(".stat-value")).to_have_text("0")
    expect(page.locator("#run-live")).to_contain_text("No failures: every due contract was billed.")
    shot("billing-run-completed")


# --- 5. review queue, finalize, PDF -------------------------------------------------------------------------


def finalize_and_open_pdf(login, shot) -> str:
    page = login("finance")
    page.get_by_role("link", name=re.compile(r"Review 2 drafts")).click()
    expect(page.locator("h1")).to_have_text("Invoice review queue")
    queue = page.locator("#queue-form")
    expect(queue).to_contain_text("2 drafts")
    expect(queue.locator("tbody tr")).to_have_count(2)
    expect(queue.locator("tbody tr").nth(0)).to_contain_text("53.90 USD")  # 1 Oct: October's fee + tax
    expect(queue.locator("tbody tr").nth(1)).to_contain_text("64.35 USD")  # 1 Nov: fee + October's usage
    page.get_by_label("Select all drafts on this page").check()
    shot("review-queue")
    page.get_by_role("button", name="Finalize selected").click()
    # Irreversible: first the count and the total to confirm, then the run.
    expect(page.locator("h1")).to_have_text("Finalize 2 drafts?")
    expect(page.locator("#finalize-confirm")).to_contain_text("118.25 USD")
    shot("finalize-confirm")
    page.get_by_role("button", name="Finalize 2 drafts").click()
    # A finalization run: the page shows the job's progress bar, then what was finalized.
    expect(page.locator("h1")).to_contain_text("Finalizing invoices")
    expect(page.locator(".progress-meta")).to_contain_text("2 / 2")
    live = page.locator("#finalization-live")
    expect(live).to_contain_text("Every draft of this run was finalized.")
    numbers = re.findall(r"INV-\d+", live.locator(".stat").first.inner_text())
    assert len(numbers) == 2, numbers
    shot("finalization-run")
    page.get_by_role("link", name="Review queue").first.click()
    expect(page.locator("#queue-form")).to_contain_text("The review queue is empty.")
    shot("queue-empty")

    november = numbers[1]  # finalized in billing-date order: October's fee, then November's invoice
    page.goto("/invoices/?status=all")
    page.get_by_role("link", name=november).click()
    expect(page.locator("h1")).to_contain_text(november)
    expect(page.locator("h1 .badge")).to_have_text("Finalized")
    lines = page.locator("table.bu-lines tbody tr.bu-line")
    expect(lines).to_have_count(3)
    usage_in = lines.filter(has_text="token_type=input")
    expect(usage_in).to_contain_text("LLM tokens — GPT-4o input tokens")
    expect(usage_in).to_contain_text("1 Oct 2026 – 1 Nov 2026")
    expect(usage_in).to_contain_text("2,000,000")
    expect(usage_in).to_contain_text("0.0000025")
    expect(usage_in).to_contain_text("5.00 USD")
    usage_out = lines.filter(has_text="token_type=output")
    expect(usage_out).to_contain_text("450,000")
    expect(usage_out).to_contain_text("0.00001")
    expect(usage_out).to_contain_text("4.50 USD")
    fee = lines.filter(has_text="Platform fee")
    expect(fee).to_contain_text("1 Nov 2026 – 1 Dec 2026")
    expect(fee).to_contain_text("49.00 USD")
    totals = page.locator("table.bu-totals")
    expect(totals.locator("tr", has_text="Subtotal")).to_contain_text("58.50 USD")
    expect(totals.locator("tr", has_text="Tax (10%)")).to_contain_text("5.85 USD")
    expect(totals.locator("tr.total", has_text="Total")).to_contain_text("64.35 USD")
    expect(totals.locator("tr", has_text="Balance due")).to_contain_text("64.35 USD")
    shot("invoice-finalized")

    link = page.get_by_role("link", name="Download PDF")
    pdf = page.request.get(link.get_attribute("href"))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    body = pdf.body()
    assert body.startswith(b"%PDF")
    sha = page.locator("dd.hash").inner_text().strip()
    assert hashlib.sha256(body).hexdigest() == sha == pdf.headers["x-content-sha256"]
    return november


# --- 6. approvals (maker-checker) ---------------------------------------------------------------------------

# A form the page does not offer, posted from the page (a stale tab, a hand-made request): the server
# must refuse it on its own. The CSRF token comes from the page's sign-out form.
FORGE_POST = """([action, fields]) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = action;
  const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  for (const [name, value] of [["csrfmiddlewaretoken", token], ...fields]) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}"""


def post_without_a_button(page, action: str, fields: dict) -> int:
    with page.expect_navigation() as navigation:
        page.evaluate(FORGE_POST, [action, list(fields.items())])
    return navigation.value.status


def approve_schedule(login, shot, contract: str) -> None:
    from revops.core.approvals.models import Approval

    schedule_request = Approval.objects.get(kind="revenue_schedule", status="pending")
    summary = f"Revenue schedule v1 for {contract} / main: 588.00 USD ratable (daily)"

    # finance prepared it (activating the contract): no approve control, and a forced POST is refused
    page = login("finance")
    page.goto("/approvals/")
    row = page.locator("table.rv-queue tbody tr", has_text=summary)
    expect(row).to_contain_text("Fiona Finance")
    expect(row).to_contain_text("Awaiting another approver")
    expect(row.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve selected")).to_have_count(0)
    shot("finance-sees-no-approve")
    status = post_without_a_button(
        page, "/approvals/", {"ids": str(schedule_request.pk), "action": "approve", "comment": ""}
    )
    assert status == 403
    expect(page.get_by_role("alert")).to_contain_text("Only approvers can decide approval requests.")
    shot("finance-refused")

    page = login("approver")
    page.goto("/approvals/")
    row = page.locator("table.rv-queue tbody tr", has_text=summary)
    row.locator("summary", has_text="Preview schedule").click()
    preview = row.locator(".rv-preview-body")
    expect(preview.locator("tr", has_text="2026-10")).to_contain_text("49.94")
    expect(preview.locator("tfoot")).to_contain_text("588.00")
    shot("approver-previews-schedule")
    row.get_by_role("button", name="Approve").click()
    expect(flash(page)).to_contain_text(f"Approved: {summary}")
    recent = page.locator(".card", has_text="Recently decided")
    expect(recent.locator("tr", has_text=summary)).to_contain_text("Approved")
    expect(recent.locator("tr", has_text=summary)).to_contain_text("by Arthur Approver")
    shot("schedule-approved")


def reopen_needs_another_approver(login, shot, closed: str) -> None:
    from revops.core.approvals.models import Approval

    page = login("approver")
    page.goto(f"/compliance/periods/{closed}/")
    expect(page.locator("h1 .badge")).to_have_text("Closed")
    page.fill("#reopen-reason", "Post the late vendor credit into September")
    page.get_by_role("button", name="Request reopen").click()
    expect(flash(page)).to_contain_text(f"Reopening {closed} requested")
    expect(page.locator("section", has_text="Reopen")).to_contain_text("Awaiting approval")
    shot("reopen-requested")

    reopen = Approval.objects.get(kind="period_reopen", status="pending")
    page.goto("/approvals/")
    row = page.locator(f"#approval-{reopen.pk}")
    expect(row).to_contain_text(f"Reopen {closed}: Post the late vendor credit into September")
    expect(row).to_contain_text("Awaiting another approver")
    expect(row.get_by_role("button", name="Approve")).to_have_count(0)
    status = post_without_a_button(
        page, "/approvals/", {"ids": str(reopen.pk), "action": "approve", "comment": "self"}
    )
    assert status == 409
    expect(page.locator("#decide-error")).to_contain_text(
        "Not decided: You requested this; someone else must approve or reject it (maker-checker)."
    )
    expect(page.locator(f"#approval-{reopen.pk}")).to_contain_text("Awaiting another approver")
    shot("requester-refused-409")

    page = login("approver2")
    page.goto("/approvals/")
    row = page.locator(f"#approval-{reopen.pk}")
    row.locator("textarea[name=comment]").fill("Agreed: credit note CN-77 is dated September")
    shot("second-approver-decides")
    row.get_by_role("button", name="Approve").click()
    expect(flash(page)).to_contain_text(f"Approved: Reopen {closed}")
    page.goto(f"/compliance/periods/{closed}/")
    expect(page.locator("h1 .badge")).to_have_text("Open")
    earlier = page.locator("section", has_text="Earlier reopen requests")
    expect(earlier).to_contain_text("Approved by beatrice")
    expect(earlier).to_contain_text("arthur")
    shot("period-reopened")


# --- 7. revenue run, checks, close ----------------------------------------------------------------------------


def run_revenue_and_close(login, shot) -> None:
    from revops.core.approvals.models import Approval

    page = login("finance")
    # September was reopened above; periods close strictly in order, so it closes again first.
    for period in ("2026-09", "2026-10"):
        page.goto("/revenue/runs/")
        page.fill("#f-period", period)
        page.get_by_role("button", name="Start run").click()
        expect(flash(page)).to_contain_text(f"for {period} started.")
        row = page.locator("table tbody tr", has_text=period).first
        expect(row.locator(".progress-meta .badge")).to_have_text("Completed")
        expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    shot("revenue-run-completed")

    page.goto("/compliance/")
    page.get_by_role("button", name="Run all checks now").click()
    expect(flash(page)).to_contain_text(re.compile(r"Check run #\d+: all \d+ checks pass\."))
    shot("checks-pass")
    page.goto("/compliance/exceptions/?status=open")
    expect(page.locator(".empty")).to_have_text(
        "No open exceptions: every check passes, or its findings were resolved or waived."
    )
    shot("no-open-exceptions")

    # October cannot close while September is open
    page.goto("/compliance/periods/2026-10/")
    checklist = page.locator("section", has_text="Close checklist")
    expect(checklist.locator("li.bad")).to_contain_text("2026-09 is still open: periods close in order.")
    shot("close-checklist-previous-open")

    for period in ("2026-09", "2026-10"):
        page = login("finance")
        page.goto(f"/compliance/periods/{period}/")
        checklist = page.locator("section", has_text="Close checklist")
        expect(checklist.locator(".card-head .badge")).to_have_text("All 9 done")
        expect(checklist.locator("li.bad")).to_have_count(0)
        expect(checklist).to_contain_text("(all customers) as of 2026-11-01")
        shot(f"close-checklist-green-{period}")
        # Closing needs a second person: finance asks an approver.
        page.get_by_role("button", name=f"Ask an approver to close {period}").click()
        expect(page.locator("#confirm-consequence")).to_contain_text("nothing posts into it any more")
        page.get_by_role("button", name=f"Ask to close {period}").click()
        expect(flash(page)).to_contain_text(f"Asked an approver to close {period}")
        expect(page.locator("#close-pending")).to_contain_text("Awaiting approval")
        expect(page.locator("h1 .badge")).to_have_text("Open")
        shot(f"close-asked-{period}")

        page = login("approver")
        page.goto("/")
        queue = page.locator("#your-queue")
        expect(queue).to_contain_text(f"Close {period}")
        expect(page.locator("#nav-approvals-count")).to_have_text(re.compile(r"\d+"))
        shot(f"approver-dashboard-{period}")
        queue.get_by_role("link", name=re.compile(f"Close {period}")).click()
        asked = Approval.objects.get(kind="period_close", status="pending")
        row = page.locator(f"#approval-{asked.pk}")
        expect(row).to_contain_text(f"Period {period}")
        expect(row.locator(".ap-changes")).to_contain_text("closed")
        row.locator("textarea[name=comment]").fill("Checklist green, ledger tied out")
        row.get_by_role("button", name="Approve").click()
        expect(flash(page)).to_contain_text(f"Approved: Close {period}")

        page = login("finance")
        page.goto(f"/compliance/periods/{period}/")
        expect(page.locator("h1 .badge")).to_have_text("Closed")
        expect(page.locator("section", has_text="History")).to_contain_text("period.closed")
        expect(page.locator("#nav-bell")).to_contain_text("unread")
    shot("period-closed")
    page.goto("/notifications/")
    expect(page.locator(".nt-list")).to_contain_text("Approved: Close 2026-10")
    shot("finance-notified")


# --- 8. evidence pack -----------------------------------------------------------------------------------------


def download_evidence(login, shot, tmp_path) -> dict:
    page = login("auditor")
    page.goto("/compliance/evidence/")
    page.select_option("#f-period", "2026-10")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#manifest-title")).to_have_text("Manifest of 2026-10")
    expect(page.locator("#f-period option:checked")).to_have_text("2026-10 (closed)")
    shot("evidence-preview")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download concord-evidence-2026-10.zip").click()
    download = info.value
    assert download.suggested_filename == "concord-evidence-2026-10.zip"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    sums = files.pop("MANIFEST.sha256").decode().splitlines()
    assert sums, "empty MANIFEST.sha256"
    listed = {}
    for line in sums:
        digest, name = line.split("  ", 1)
        listed[name] = digest
        assert hashlib.sha256(files[name]).hexdigest() == digest, f"{name} does not match its hash"
    assert set(listed) == set(files) - {"manifest.json"}
    page.reload()
    expect(page.locator("section", has_text="Recent downloads")).to_contain_text("otto")
    shot("evidence-downloaded")
    return files


# --- 9. an invoice's trail by its number ------------------------------------------------------------------


def find_trail_by_number(login, shot) -> None:
    from billing.models import Invoice

    invoice = Invoice.objects.exclude(number=None).select_related("customer").order_by("sequence").first()
    page = login("auditor")
    page.goto("/")
    page.keyboard.press("/")
    page.keyboard.type(invoice.number)
    palette = page.locator("#palette")
    expect(palette.get_by_role("option").first).to_contain_text(invoice.number)
    trail = palette.get_by_role("option").filter(has_text=f"Audit trail of {invoice.number}")
    expect(trail).to_have_count(1)
    shot("auditor-types-the-number")
    trail.click()  # an option of the palette's listbox opens its page
    page.wait_for_url(f"**/compliance/audit/?ref={invoice.number}")
    results = page.locator("#audit-results")
    expect(results).to_contain_text(f"Trail of Invoice {invoice.number} · {invoice.customer.name}")
    expect(results.get_by_role("row").filter(has_text="Invoice finalized")).to_have_count(1)
    shot("auditor-reads-the-trail")


# --- the journey -----------------------------------------------------------------------------------------


def test_month_end_journey(login, shot, e2e_world, live_server, tmp_path):
    create_plan(login, shot)
    contract = create_customer_and_contract(login, shot)
    send_usage(live_server, e2e_world, login, shot)
    run_billing(login, shot)
    finalize_and_open_pdf(login, shot)
    approve_schedule(login, shot, contract)
    reopen_needs_another_approver(login, shot, e2e_world.closed_period)
    run_revenue_and_close(login, shot)
    files = download_evidence(login, shot, tmp_path)
    find_trail_by_number(login, shot)

    # what the pack says about October: closed, recognized from the approved schedule and the usage
    assert json.loads(files["policy.json"])["period_status"] == "closed"
    journal = list(csv.DictReader(io.StringIO(files["journal_entries.csv"].decode())))
    revenue = sorted(Decimal(r["credit"]) for r in journal if r["account"] == "4000")
    assert revenue == [Decimal("9.50"), Decimal("49.94")]  # tokens as billed; platform 31/365 of 588
    schedule = list(csv.DictReader(io.StringIO(files["schedules.csv"].decode())))
    october = next(r for r in schedule if r["period"] == "2026-10")
    assert (october["status"], Decimal(october["amount"])) == ("approved", Decimal("49.94"))
    assert october["posted_entry"]
    rollforward = list(csv.DictReader(io.StringIO(files["rollforward.csv"].decode())))
    assert all(r["ties_out"] == "True" for r in rollforward)
    # Not asserted: approvals.csv and audit_trail.csv hold nothing here, because the pack keeps only
    # approvals requested, and audit events dated, inside October, and this close (like any close)
    # happens after the month ends.
