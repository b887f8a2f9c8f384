"""Hand-offs between roles and approvals in business terms (issue 16 §3, §4), in a real browser.

§3: finance asks to reopen the closed September; the approver's dashboard leads with their queue and
the sidebar counts it; the approver rejects it with a reason; finance's bell shows the outcome, the
notification names the reason and is marked read; finance asks again and withdraws the request from
the queue (the approver's count drops to nothing). §4: a contract's revenue schedule waits for approval;
the queue shows its customer, contract, what changes (before → after), the amount with its currency and
the revenue effect, and its link opens the contract's revenue page."""

import re

import pytest
from playwright.sync_api import expect

from compliance.services.close import period_reopen_request
from revops.core.approvals.models import Approval

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _flash(page):
    return page.locator(".messages")


def test_a_rejected_request_reaches_its_requester_who_can_withdraw_the_next(login, shot, e2e_world):
    finance = e2e_world.users["finance"]
    first = period_reopen_request(key="2026-09", reason="Late vendor credit", actor=finance)

    page = login("approver")
    expect(page.locator("#your-queue")).to_contain_text("Reopen 2026-09: Late vendor credit")
    expect(page.locator("#nav-approvals-count")).to_contain_text("1")
    shot("approver-dashboard-queue", keep="approver-dashboard")
    page.locator("#your-queue").get_by_role("link", name=re.compile("Reopen 2026-09")).click()
    row = page.locator(f"#approval-{first.pk}")
    row.locator("textarea[name=comment]").fill("Post it in October instead")
    row.get_by_role("button", name="Reject").click()
    expect(_flash(page)).to_contain_text("Rejected: Reopen 2026-09")
    expect(page.locator("#nav-approvals-count")).to_have_count(0)

    page = login("finance")
    bell = page.locator("#nav-bell")
    expect(bell).to_contain_text("1 unread")
    bell.click()
    note = page.locator(".nt-list li").first
    expect(note).to_contain_text("Rejected: Reopen 2026-09")
    expect(note).to_contain_text("Post it in October instead")
    shot("requester-notified", keep="requester-notified")
    note.get_by_role("button", name="Mark read").click()
    expect(page.locator("#nav-bell")).not_to_contain_text("unread")
    page.goto("/approvals/?requester=mine")
    expect(page.locator("#my-requests")).to_contain_text("Rejected")
    expect(page.locator("#my-requests")).to_contain_text("Post it in October instead")

    second = period_reopen_request(key="2026-09", reason="Second try", actor=finance)
    page.goto("/approvals/?requester=mine")
    row = page.locator(f"#approval-{second.pk}")
    expect(row).to_contain_text("Awaiting another approver")
    shot("own-request-withdrawable", keep="approvals-withdraw-own")
    row.get_by_role("button", name="Withdraw request").click()
    expect(_flash(page)).to_contain_text("Withdrawn: Reopen 2026-09")
    expect(page.locator("#my-requests")).to_contain_text("Withdrawn")
    assert Approval.objects.get(pk=second.pk).status == "cancelled"

    page = login("approver")
    page.goto("/")
    expect(page.locator("#your-queue")).to_contain_text("Nothing waits for your decision.")


def test_an_approval_shows_the_change_in_business_terms_and_opens_it(login, shot, e2e_world):
    from tests.scenario import Scenario

    s = Scenario(name="terms")
    s.customer("terms-co", name="Terms Co").contract(
        "2026-10-01",
        "2027-10-01",
        [{"key": "setup", "product": "platform", "amount": "1200.00", "billing": "one_time"}],
    )
    contract = s.get(f"contracts/{s.id}")
    schedule = Approval.objects.filter(kind="revenue_schedule", status="pending").latest("id")

    page = login("approver")
    page.goto("/approvals/?kind=revenue_schedule")
    row = page.locator(f"#approval-{schedule.pk}")
    terms = row.locator(".ap-terms")
    expect(terms).to_contain_text("Terms Co (terms-co)")
    expect(terms).to_contain_text(contract["number"])
    expect(terms).to_contain_text("USD")
    expect(terms).to_contain_text("Recognizes")
    changes = row.locator(".ap-changes")
    expect(changes).to_contain_text("none approved")
    expect(changes).to_contain_text("pending approval")
    shot("approval-in-business-terms", keep="approval-business-terms")
    row.locator(".ap-open").click()
    expect(page).to_have_url(re.compile(f"/revenue/contracts/{contract['id']}/$"))
    shot("opened-the-change")


def test_the_approvers_hear_of_a_new_request_and_its_requester_does_not(login, shot, e2e_world):
    """§3: finance asks to reopen September; each approver's bell counts it and the notification opens
    the request in the queue; finance (the requester) hears nothing until it is decided."""
    finance = e2e_world.users["finance"]
    asked = period_reopen_request(key="2026-09", reason="Late vendor credit", actor=finance)

    page = login("approver")
    expect(page.locator("#nav-bell")).to_contain_text("1 unread")
    page.locator("#nav-bell").click()
    note = page.locator(".nt-list li").first
    expect(note).to_contain_text("To decide: Reopen 2026-09: Late vendor credit")
    expect(note).to_contain_text(f"Fiona Finance asked for a period reopen decision (request #{asked.pk}).")
    shot("approver-notified", keep="approver-notified")
    note.get_by_role("link", name=re.compile("To decide")).click()
    expect(page).to_have_url(re.compile(rf"/approvals/\?request={asked.pk}#approval-{asked.pk}$"))
    expect(page.locator(f"#approval-{asked.pk}")).to_contain_text("Late vendor credit")
    expect(page.locator(f"#approval-{asked.pk}").get_by_role("button", name="Approve")).to_be_visible()

    expect(login("approver2").locator("#nav-bell")).to_contain_text("1 unread")
    expect(login("finance").locator("#nav-bell")).not_to_contain_text("unread")
