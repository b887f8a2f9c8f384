"""An outside review of the month end and the close checklist, each finding performed as an attack.

1. A period must not close with revenue left to recognize: drafts finalized after the period's
   revenue run hold usage the run never saw; the checklist's revenue item, the board and the close
   say so until the run is made again (which posts it in the period, not as a later correction).
2. The finalize action takes exactly the drafts that block the close — also one billed after the
   period's end holding usage of it — and its label counts what the blocker counts.
3. A period before the books begin has no stage to do, no action and no close; no revenue run.
4. A later stage is not 'done' before the earlier ones ran; singular wording; a customer's grace
   period is not a change to the books."""

import itertools
from datetime import date

import pytest
from django.test import Client

from billing.models import Invoice
from compliance.month_end import DONE, NOT_STARTED, month_end
from compliance.services.close import checks_status, close_checklist
from revops.parties.models import Customer
from revops.parties.services.customers import customer_update
from revrec.models import JournalEntry
from tests.compliance.test_month_end import given_a_contract

pytestmark = pytest.mark.django_db

KEY = "2026-01"
START = f"/compliance/periods/{KEY}/month-end/start/"


@pytest.fixture
def login(make_user):
    counter = itertools.count(1)

    def make(role: str) -> Client:
        client = Client()
        client.user = make_user(f"rv-{role}-{next(counter)}", role)
        client.force_login(client.user)
        return client

    return make


def item(key: str, code: str):
    return next(i for i in close_checklist(key) if i.code == code)


def test_drafts_finalized_after_the_revenue_run_keep_the_period_open_until_it_runs_again(catalog, scenario):
    # The run for January sees only the invoice billed 1 January; the draft billed 1 February (January's
    # usage in arrears) is finalized after it.
    given_a_contract(scenario).bill("2026-02-01").finalize(limit=1).recognize(KEY)
    assert item(KEY, "revenue_run").ok
    scenario.finalize().check()
    assert not Invoice.objects.filter(status="draft").exists()

    revenue = item(KEY, "revenue_run")
    assert not revenue.ok and revenue.count == 1
    assert "1 contract has revenue through 2026-01 left to recognize" in revenue.detail
    state = month_end(key=KEY)
    stage = state.stage("revenue_run")
    assert stage.status == NOT_STARTED and stage.label == "Out of date"
    assert "out of date — 1 contract has revenue to recognize through 2026-01; run again" in stage.summary
    assert stage.action.code == "revenue_run" and stage.counts["contracts_due"] == 1
    assert state.next_stage.code == "revenue_run" and "revenue_run" in {b.code for b in state.blockers}
    # The checks read 'done' over a stale revenue run: they wait for it.
    assert state.stage("checks").status == NOT_STARTED and state.stage("checks").label == "Waiting"
    # The finalized and posted figures differ (the 1 February invoice posts in February): said why.
    final = state.stage("finalization")
    assert final.counts["finalized"] == 2 and final.counts["invoices_posted"] == 1
    assert "1 invoice entry is in 2026-01's ledger" in final.summary

    refused = scenario.post(f"periods/{KEY}/close", status=409)
    assert "checklist.revenue_run" in {e["field"] for e in refused.get("errors", [])} or "Revenue run" in str(
        refused
    )

    # Run again: January's usage is posted in January itself, and the period closes.
    scenario.recognize(KEY).check()
    assert item(KEY, "revenue_run").ok
    assert month_end(key=KEY).stage("revenue_run").status == DONE
    assert not JournalEntry.objects.filter(source="recognition").exclude(period=KEY).exists()
    scenario.post(f"periods/{KEY}/close")
    scenario.approve_as(kind="period_close")


def test_the_finalize_action_takes_exactly_the_drafts_that_block_the_close(
    catalog, scenario, login, django_capture_on_commit_callbacks
):
    given_a_contract(scenario).bill("2026-02-01", "2026-03-01")
    # The draft holding January's usage is billed after the period's end (a late billing date).
    late = Invoice.objects.get(billing_date=date(2026, 2, 1))
    Invoice.objects.filter(pk=late.pk).update(billing_date=date(2026, 2, 15))
    march = Invoice.objects.get(billing_date=date(2026, 3, 1))  # February and March: not January's

    state = month_end(key=KEY)
    blocking = item(KEY, "drafts_finalized")
    assert not blocking.ok and blocking.detail.startswith("2 draft invoices hold")
    final = state.stage("finalization")
    assert state.stage("drafts").counts["drafts"] == 2
    assert final.action.label == f"Finalize 2 drafts holding fees or usage of {KEY}"

    finance = login("finance")
    shown = finance.post(f"{START}finalize/")  # the confirmation: what will be finalized, and its digest
    assert shown.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = {"confirm": "1", "expected": shown.context["digest"]}
        assert finance.post(f"{START}finalize/", confirmed).status_code == 302
    assert Invoice.objects.get(pk=late.pk).status == "finalized"
    assert Invoice.objects.get(pk=march.pk).status == "draft"
    assert item(KEY, "drafts_finalized").ok
    assert month_end(key=KEY).stage("finalization").action is None


def test_one_draft_is_singular_in_the_checklist(catalog, scenario):
    given_a_contract(scenario).bill("2026-01-01")
    assert item(KEY, "drafts_finalized").detail.startswith("1 draft invoice holds fees or usage of 2026-01")


def test_a_period_before_the_books_begin_has_nothing_to_do(catalog, scenario, login):
    # The books begin in 2026-01 and it is closed: no period can open before it.
    given_a_contract(scenario).bill("2026-02-01").finalize().closed(KEY)
    for key in ("2025-06", "1900-01"):
        state = month_end(key=key)
        assert state.before_books and "before the books begin (2026-01)" in state.before_books
        assert state.next_stage is None and state.blockers == [] and state.checklist == []
        assert {s.label for s in state.stages} == {"Before the books"}
        assert all(s.action is None and s.status != DONE for s in state.stages)
        body = scenario.get(f"periods/{key}/month-end")
        assert body["status"] == "before_books" and body["next_stage"] is None and body["blockers"] == []
        assert all(stage["action"] is None for stage in body["stages"])
        page = login("finance").get(f"/compliance/periods/{key}/month-end/")
        assert page.status_code == 200 and "Before the books begin" in page.content.decode()
        assert "/month-end/start/" not in page.content.decode()
    # A run for 2025-06 is refused (while nothing is closed a backdated run may still open earlier
    # months, as any backdated posting does).
    refused = scenario.post("revenue-runs", {"period": "2025-06"}, status=400)
    assert "they begin in 2026-01" in str(refused)


def test_later_stages_wait_for_earlier_ones(catalog, scenario):
    # Fees billed in advance (1 January) finalized and the checks run — but no month-end billing run
    # and no revenue run: finalization and checks are not 'done'.
    given_a_contract(scenario).bill("2026-01-01").finalize().check()
    state = month_end(key=KEY)
    assert state.stage("billing_run").status == NOT_STARTED
    for code in ("finalization", "checks"):
        stage = state.stage(code)
        assert stage.status == NOT_STARTED and stage.label == "Waiting", code
    assert "Waits for the billing run" in state.stage("finalization").summary


def test_a_grace_period_change_leaves_the_check_run_current_a_tax_rate_change_does_not(catalog, scenario):
    given_a_contract(scenario).check()
    assert checks_status().current
    customer = Customer.objects.get(external_id="me")
    customer_update(customer=customer, auto_finalize_grace_hours=48)
    assert checks_status().current
    customer_update(customer=customer, tax_rate="7.5")
    status = checks_status()
    assert not status.current and status.latest_change.action == "customer.updated"


def test_a_closed_period_offers_nothing_and_keeps_its_own_finalization_run(catalog, scenario, login):
    # review1516 finding 2: January is closed; February's finalization run came last. January's month end
    # showed February's run as its own (the latest run of any period) and offered a next stage.
    from billing.invoicing.finalization.planning import finalization_start

    given_a_contract(scenario).bill("2026-01-01").finalize().closed(KEY)
    scenario.bill("2026-02-01")
    february = finalization_start(
        filters={"status": "draft", "holds_period": "2026-02"}, actor=scenario.finance.user
    )
    state = month_end(key=KEY)
    assert state.closed and state.next_stage is None
    run = state.stage("finalization").run
    assert run is None or run.id != february.pk
    assert all(s.action is None for s in state.stages)
    body = scenario.get(f"periods/{KEY}/month-end")
    assert body["status"] == "closed" and body["next_stage"] is None
    assert (state_feb := month_end(key="2026-02")).stage("finalization").run.id == february.pk
    assert state_feb.next_stage is not None
