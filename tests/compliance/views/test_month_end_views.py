"""Month-end page and API (issue 15 §6): every role reads it; each action is offered to, and allowed
for, the roles that write its area only (finance bills and recognizes; approvers run the checks and
close; auditors and the pricing role read); the stage board polls itself while a run is under way
and stops when nothing runs; the API answers the stages as JSON and a bad period as problem+json."""

import itertools
import re

import pytest
from django.test import Client

from billing.models import BillingRun, FinalizationRun
from compliance.models import CheckRun
from revops.core.models import Job
from revrec.models import AccountingPeriod, RevenueRun
from tests.compliance.test_month_end import given_a_contract

pytestmark = pytest.mark.django_db

KEY = "2026-01"
PAGE = f"/compliance/periods/{KEY}/month-end/"
LIVE = f"/compliance/periods/{KEY}/month-end/live/"
START = f"/compliance/periods/{KEY}/month-end/start/"
API = f"/api/v1/periods/{KEY}/month-end"


@pytest.fixture
def login(make_user):
    counter = itertools.count(1)

    def make(role: str) -> Client:
        client = Client()
        client.user = make_user(f"me-{role}-{next(counter)}", role)
        client.force_login(client.user)
        return client

    return make


def start_forms(html: str) -> set[str]:
    """The action codes the page offers as buttons (POST forms)."""
    return set(re.findall(r'action="/compliance/periods/\d{4}-\d{2}/month-end/start/([a-z_]+)/"', html))


def test_every_role_reads_the_page_and_sees_only_its_actions(catalog, scenario, login):
    given_a_contract(scenario)
    pages = {role: login(role).get(PAGE) for role in ("finance", "approver", "auditor", "pricing")}
    assert {role: r.status_code for role, r in pages.items()} == dict.fromkeys(pages, 200)
    html = {role: r.content.decode() for role, r in pages.items()}
    for text in html.values():
        assert (
            "Billing run" in text and "What blocks the close" in text and "Full billing run complete" in text
        )
    assert start_forms(html["finance"]) == {"billing_run", "revenue_run", "compliance_run"}
    assert start_forms(html["approver"]) == {"compliance_run"}
    assert start_forms(html["auditor"]) == set() and start_forms(html["pricing"]) == set()
    assert "Start billing run as of" in html["finance"] and "Start billing run as of" not in html["auditor"]


def test_actions_start_their_stage_for_writers_and_are_forbidden_to_others(catalog, scenario, login):
    given_a_contract(scenario)
    finance, approver, auditor, pricing = (login(r) for r in ("finance", "approver", "auditor", "pricing"))
    for client, code in ((approver, "billing_run"), (approver, "revenue_run"), (auditor, "compliance_run")):
        assert client.post(f"{START}{code}/").status_code == 403
    assert pricing.post(f"{START}billing_run/").status_code == 403
    assert not BillingRun.objects.exists() and not CheckRun.objects.exists()

    response = finance.post(f"{START}billing_run/")
    assert response.status_code == 302 and response["Location"] == PAGE
    run = BillingRun.objects.get()
    assert str(run.as_of) == "2026-02-01" and run.customers == [] and run.requested_by == finance.user

    assert approver.post(f"{START}compliance_run/").status_code == 302
    assert CheckRun.objects.get().started_by == approver.user
    assert finance.post(f"{START}close/").status_code == 404  # not offered: the checklist fails
    assert finance.post(f"{START}nonsense/").status_code == 404


def test_finance_finalizes_the_periods_drafts_as_one_job_from_the_page(
    catalog, scenario, login, django_capture_on_commit_callbacks
):
    given_a_contract(scenario).bill("2026-02-01")
    finance, approver = login("finance"), login("approver")
    page = finance.get(PAGE).content.decode()
    assert "finalize" in start_forms(page) and "Finalize 2 drafts holding fees or usage of 2026-01" in page
    assert "Open the review queue" in page
    approver_page = approver.get(PAGE).content.decode()
    assert "finalize" not in start_forms(approver_page)
    assert "Open the review queue" not in approver_page and "See the drafts" in approver_page
    assert approver.post(f"{START}finalize/").status_code == 403
    asked = finance.post(f"{START}finalize/").content.decode()  # the count and total first (§2)
    assert "Finalize 2 drafts of 2026-01?" in asked and "cannot be undone" in asked
    assert not FinalizationRun.objects.exists()
    # Confirmed only with the digest of the drafts it showed (the review queue's confirmation).
    assert finance.post(f"{START}finalize/", {"confirm": "1"}).status_code == 200
    assert not FinalizationRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(f"{START}finalize/", {"confirm": "1", "expected": digest_of(asked)})
    assert response.status_code == 302
    run = FinalizationRun.objects.get()
    assert run.filters == {"status": "draft", "holds_period": KEY} and run.requested_by == finance.user
    assert run.status == "completed" and run.finalized == 2
    done = finance.get(PAGE).content.decode()
    assert f"Finalization run #{run.pk}" in done and "/jobs/?kind=invoice_finalization" in done
    assert "finalize" not in start_forms(done)


def digest_of(html: str) -> str:
    return re.search(r'name="expected" value="([0-9a-f]{64})"', html).group(1)


def test_the_finalize_confirmation_shows_the_drafts_digest_and_refuses_a_changed_set(
    catalog, scenario, login
):
    """The month end's bulk finalize is confirmed as the review queue's is (issue 16 §2): the drafts'
    count and total per currency, carried as the SHA-256 of exactly those drafts and totals; when the
    set changed since the page was shown, nothing is finalized and the new set is shown to confirm."""
    from decimal import Decimal

    from billing.invoicing.finalization import finalization_preview
    from billing.models import Invoice
    from compliance.month_end import finalize_filter

    given_a_contract(scenario).bill("2026-02-01")
    finance = login("finance")
    asked = finance.post(f"{START}finalize/").content.decode()
    preview = finalization_preview(filters=finalize_filter(KEY))
    assert digest_of(asked) == preview["digest"] and preview["count"] == 2
    assert 'id="finalize-confirm"' in asked and "Every draft holding fees or usage of 2026-01" in asked
    [total] = preview["totals"]
    assert f'<td>{total["currency"]}</td><td class="num">2</td>' in asked
    assert f'action="{START}finalize/"' in asked and f'href="{PAGE}">Month end {KEY}</a>' in asked
    assert "Nothing was finalized" not in asked

    # One draft's total changes before the confirmation is posted (same count, same ids).
    draft = Invoice.objects.filter(status="draft").order_by("id").first()
    Invoice.objects.filter(pk=draft.pk).update(total=draft.total + Decimal("1.00"))
    again = finance.post(f"{START}finalize/", {"confirm": "1", "expected": digest_of(asked)})
    assert again.status_code == 200 and not FinalizationRun.objects.exists()
    shown = again.content.decode()
    assert "Nothing was finalized: the drafts or their totals changed since this page was shown" in shown
    assert digest_of(shown) != digest_of(asked)
    assert (
        finance.post(f"{START}finalize/", {"confirm": "1", "expected": digest_of(shown)}).status_code == 302
    )
    assert FinalizationRun.objects.get().filters == {"status": "draft", "holds_period": KEY}


def test_an_approver_asks_to_close_from_the_page_and_a_second_approver_closes(catalog, scenario, login):
    from revops.core.approvals.models import Approval

    given_a_contract(scenario).bill("2026-02-01").finalize().recognize(KEY).check()
    approver = login("approver")
    page = approver.get(PAGE).content.decode()
    assert "Ready to close" in page and start_forms(page) == {"close", "compliance_run"}
    assert f"Ask an approver to close {KEY}" in page
    confirm = approver.post(f"{START}close/").content.decode()
    assert f"Ask an approver to close {KEY}?" in confirm and "nothing posts into it any more" in confirm
    assert not Approval.objects.filter(kind="period_close").exists()
    assert approver.post(f"{START}close/", {"confirm": "1"}).status_code == 302
    assert AccountingPeriod.objects.get(period=KEY).status == "open"
    asked = approver.get(PAGE).content.decode()
    assert "Awaiting approval" in asked and start_forms(asked) == {"compliance_run"}
    second = login("approver")
    request = Approval.objects.get(kind="period_close", status="pending")
    second.post("/approvals/", {"ids": request.pk, "action": "approve", "comment": "ok"})
    period = AccountingPeriod.objects.get(period=KEY)
    assert period.status == "closed" and period.closed_by == second.user
    closed = approver.get(PAGE).content.decode()
    assert f"{KEY} is closed" in closed and start_forms(closed) == set()


def board_read_takes(monkeypatch, seconds: float) -> None:
    """Make every read of the board take exactly ``seconds`` as the view measures it: the view's own
    clock (its module's ``time``, nobody else's) advances by ``seconds`` at each reading, and the view
    reads it twice per board (before and after). The polling interval then depends on the stated read
    time only, never on how loaded the machine running the test is (a real read of over 0.4 s made
    the interval 3 s, not 2 s, on a busy CI machine)."""
    from types import SimpleNamespace

    ticks = itertools.count()
    monkeypatch.setattr(
        "compliance.views.month_end.time", SimpleNamespace(perf_counter=lambda: next(ticks) * seconds)
    )


def test_the_board_polls_while_a_run_is_under_way_and_stops_when_it_is_done(
    catalog, scenario, login, monkeypatch
):
    given_a_contract(scenario).bill("2026-02-01")
    finance = login("finance")
    board_read_takes(monkeypatch, 0.1)  # a quick board: polled at the floor, every 2 s
    idle = finance.get(LIVE).content.decode()
    assert 'id="month-end-board"' in idle and "hx-trigger" not in idle

    job = Job.objects.create(kind="revenue_run", status="running", progress_done=5, progress_total=20)
    run = RevenueRun.objects.create(period=KEY, status="running", job=job)
    live = finance.get(LIVE).content.decode()
    assert f'hx-get="{LIVE}"' in live and 'hx-trigger="every 2s"' in live
    assert 'aria-valuenow="25"' in live and "5 / 20" in live
    assert 'hx-trigger="every 2s"' in finance.get(PAGE).content.decode()  # the page starts polling too

    # A board that takes 1.5 s to read (a huge month) polls every 8 s, not every 2 s.
    board_read_takes(monkeypatch, 1.5)
    assert 'hx-trigger="every 8s"' in finance.get(LIVE).content.decode()
    # Just over the 0.4 s that five times fits in two seconds: the next whole second.
    board_read_takes(monkeypatch, 0.41)
    assert 'hx-trigger="every 3s"' in finance.get(LIVE).content.decode()
    board_read_takes(monkeypatch, 0.1)

    Job.objects.filter(pk=job.pk).update(status="completed", progress_done=20)
    RevenueRun.objects.filter(pk=run.pk).update(status="completed")
    done = finance.get(LIVE).content.decode()
    assert "hx-trigger" not in done and 'aria-valuenow="100"' in done


def test_a_bad_period_in_the_page_url_is_not_found(login):
    assert login("finance").get("/compliance/periods/2026-13/month-end/").status_code == 404


# --- API ---------------------------------------------------------------------------------------------


def test_api_answers_the_stages_with_the_callers_actions(catalog, scenario):
    given_a_contract(scenario).bill("2026-02-01")
    body = scenario.get(f"periods/{KEY}/month-end")
    assert (body["period"], body["start"], body["end"], body["status"]) == (
        KEY,
        "2026-01-01",
        "2026-02-01",
        "open",
    )
    assert [s["code"] for s in body["stages"]] == [
        "billing_run",
        "drafts",
        "finalization",
        "revenue_run",
        "checks",
        "close",
    ]
    stages = {s["code"]: s for s in body["stages"]}
    billing = stages["billing_run"]
    assert billing["status"] == "done" and billing["run"]["kind"] == "billing_run"
    assert billing["run"]["url"] == f"/api/v1/billing-runs/{billing['run']['id']}"
    assert billing["progress"] == {"done": 2, "total": 2, "percent": 100}  # billing dates 1 Jan and 1 Feb
    assert stages["drafts"]["status"] == "blocked" and stages["drafts"]["counts"] == {"drafts": 2}
    assert body["next_stage"] == "drafts" and body["running"] is False
    assert "drafts_finalized" in {b["code"] for b in body["blockers"]}
    revenue = stages["revenue_run"]["action"]
    assert stages["finalization"]["action"] == {
        "code": "finalize",
        "label": "Finalize 2 drafts holding fees or usage of 2026-01",
        "method": "POST",
        "path": "/api/v1/invoices/finalize",
        "body": {"filter": {"status": "draft", "holds_period": KEY}},
    }
    assert revenue == {
        "code": "revenue_run",
        "label": f"Start revenue run for {KEY}",
        "method": "POST",
        "path": "/api/v1/revenue-runs",
        "body": {"period": KEY},
    }
    auditor = scenario.get(f"periods/{KEY}/month-end", role="auditor")
    assert all(s["action"] is None for s in auditor["stages"])
    approver = scenario.get(f"periods/{KEY}/month-end", role="approver")
    assert {s["code"] for s in approver["stages"] if s["action"]} == {"checks"}


def test_api_refuses_a_bad_period_as_problem_json(db, scenario):
    client = scenario.as_("finance")
    bad = client.get("/api/v1/periods/2026-13/month-end")
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"] == "period"
    missing = client.get("/api/v1/periods/january/month-end")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"


def test_navigation_dashboard_and_period_pages_lead_to_the_month_end_under_way(catalog, scenario, login):
    given_a_contract(scenario).bill("2026-02-01").finalize(limit=1)
    finance = login("finance")
    assert finance.get("/compliance/month-end/")["Location"] == PAGE  # the books' first period, open
    home = finance.get("/").content.decode()
    assert "Month end" in home and f'href="{PAGE}"' in home and "1 draft invoice still holds fees" in home
    assert 'href="/compliance/month-end/"' in home  # the navigation
    assert f'href="{PAGE}"' in finance.get("/compliance/periods/").content.decode()
    assert f'href="{PAGE}"' in finance.get(f"/compliance/periods/{KEY}/").content.decode()
    scenario.finalize().recognize(KEY).check().post(f"periods/{KEY}/close")
    scenario.approve_as(kind="period_close")
    assert finance.get("/compliance/month-end/")["Location"] == "/compliance/periods/2026-02/month-end/"
