"""Month-end page in a real browser (issue 15 §6): while a revenue run is under way the stage board
polls itself and shows the run's progress; once the run is done the board shows it done and stops
polling — no request to the live partial after that. Issue 16: the month end's bulk finalize is
confirmed by count, total and digest first; a close request that went stale is brought up to date by
its approver ("Run the checks") and approved."""

import re
import time

import pytest
from playwright.sync_api import expect

from revops.core.models import Job
from revrec.models import RevenueRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

KEY = "2026-10"


def test_the_board_follows_a_running_run_then_stops_polling(login, shot):
    job = Job.objects.create(kind="revenue_run", status="running", progress_done=30, progress_total=120)
    run = RevenueRun.objects.create(period=KEY, status="running", job=job)
    page = login("finance")
    polls: list[float] = []
    page.on("request", lambda r: polls.append(time.monotonic()) if "/month-end/live/" in r.url else None)
    page.goto(f"/compliance/periods/{KEY}/month-end/")
    stage = page.locator("#stage-revenue_run")
    expect(stage.locator(".badge").first).to_have_text("Running")
    expect(stage.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "25")
    with page.expect_request(lambda r: "/month-end/live/" in r.url):
        pass  # the board asks for itself again
    shot("running", keep="month-end-running")

    Job.objects.filter(pk=job.pk).update(status="completed", progress_done=120)
    RevenueRun.objects.filter(pk=run.pk).update(status="completed", entries_created=120)
    # No billing run yet: a finished revenue run waits for the stages before it (never a green tick
    # over work not done), and nothing runs any more.
    expect(stage.locator(".badge").first).to_have_text("Waiting")
    expect(page.locator("#month-end-board")).to_have_attribute("data-running", "false")
    settled = len(polls)
    page.wait_for_timeout(5_000)  # more than two polling intervals
    assert len(polls) == settled, "the board kept polling after the run was done"
    shot("done")


def _flash(page):
    return page.locator(".messages")


def test_finance_confirms_the_month_ends_drafts_by_count_total_and_digest(login, shot, e2e_world):
    """Issue 16 §2: the month end's "Finalize N drafts" shows the review queue's confirmation — count
    and total per currency, carried as the digest of exactly those drafts — before anything starts."""
    from billing.invoicing.finalization import finalization_preview
    from billing.models import FinalizationRun
    from compliance.month_end import finalize_filter
    from revops.formatting import money
    from tests.scenario import Scenario

    s = Scenario(name="drafts")
    s.customer("octo", name="Octo Ltd").contract(
        "2026-10-01",
        "2027-10-01",
        [{"key": "setup", "product": "platform", "amount": "1200.00", "billing": "one_time"}],
        approved_by="approver",
    )
    s.bill("2026-11-01")
    preview = finalization_preview(filters=finalize_filter(KEY))
    count = preview["count"]
    assert count >= 1

    page = login("finance")
    page.goto(f"/compliance/periods/{KEY}/month-end/")
    page.get_by_role("button", name=f"Finalize {count} draft").first.click()
    expect(page.locator("h1")).to_have_text(f"Finalize {count} draft{'s' if count != 1 else ''} of {KEY}?")
    confirm = page.locator("#finalize-confirm")
    [total] = preview["totals"]
    expect(confirm.locator("tbody tr").first).to_contain_text(total["currency"])
    expect(confirm.locator("tbody tr").first).to_contain_text(money(total["total"], total["currency"]))
    expect(confirm.locator("input[name=expected]")).to_have_value(preview["digest"])
    expect(page.locator(".breadcrumbs")).to_contain_text(f"Month end {KEY}")
    shot("finalize-confirm", keep="month-end-finalize-confirm")
    assert not FinalizationRun.objects.exists()
    page.locator("#confirm-finalize").click()
    expect(_flash(page)).to_contain_text("Finalization run #")
    expect(page).to_have_url(re.compile(f"/compliance/periods/{KEY}/month-end/$"))
    assert FinalizationRun.objects.get().filters == {"status": "draft", "holds_period": KEY}


def test_the_approver_brings_a_stale_close_request_up_to_date_and_approves_it(login, shot, e2e_world):
    """Issue 16 §3 (after e3263ea): October was checked green and finance asked to close it; then a
    customer was added. The approver sees why approving would be refused, runs the checks from the
    request and approves it."""
    from compliance.services.close import period_close_request
    from revrec.models import AccountingPeriod
    from tests.scenario import Scenario

    s = Scenario(name="stale")
    s.bill("2026-11-01").recognize(KEY).check()
    asked = period_close_request(key=KEY, actor=e2e_world.users["finance"])
    s.customer("late-co", name="Late Co")  # a change to the books after the checks ran

    page = login("approver")
    page.goto("/approvals/?kind=period_close")
    row = page.locator(f"#approval-{asked.pk}")
    panel = row.locator(".ap-readiness")
    expect(panel).to_contain_text("Approving now would be refused: the books changed after the checks ran.")
    expect(panel).to_contain_text("The latest: Customer Late Co — customer created")
    shot("stale-close-request", keep="approval-close-stale")
    panel.get_by_role("button", name="Run the checks").click()
    expect(_flash(page)).to_contain_text(f"Request #{asked.pk} to close {KEY} can be decided now")
    expect(row.locator(".ap-readiness")).to_have_count(0)
    row.locator("textarea[name=comment]").fill("Checks current, checklist green")
    row.get_by_role("button", name="Approve").click()
    expect(_flash(page)).to_contain_text(f"Approved: Close {KEY}")
    assert AccountingPeriod.objects.get(period=KEY).status == "closed"
