"""POST /invoices/finalize and GET /invoices/finalize/{id} (issue 15 §1): a finalization run through the
API — 202 with the run, problem+json for bad ids and filters, only the roles that finalize today.
In-process tasks: the commits of a transactional test run the job before the response is read."""

from __future__ import annotations

from datetime import date

import pytest

from billing.models import FinalizationRun, Invoice
from tests.billing.invoicing.test_finalization import _drafts

pytestmark = pytest.mark.django_db(transaction=True)
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_finalize_by_ids_answers_202_with_the_run_and_its_progress(api_for, catalog):
    drafts = _drafts(3)
    finance = api_for("finance")
    response = finance.post("/api/v1/invoices/finalize", {"ids": [d.pk for d in drafts]}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/invoices/finalize/{body['id']}"
    assert set(body) >= {"id", "status", "progress", "finalized", "failed", "skipped", "failures", "job"}
    assert body["trigger"] == "api" and body["invoices"] == 3
    run = finance.get(f"/api/v1/invoices/finalize/{body['id']}").json()
    assert run["status"] == "completed" and run["progress"] == {"done": 3, "total": 3}
    assert (run["finalized"], run["failed"], run["skipped"], run["failures"]) == (3, 0, 0, [])
    assert not Invoice.objects.filter(status="draft").exists()
    assert FinalizationRun.objects.get(pk=body["id"]).requested_by == finance.user


def test_finalize_by_filter_takes_the_invoice_lists_filter_names(api_for, catalog):
    _drafts(2, prefix="apr")
    may = _drafts(2, start=date(2026, 5, 1), prefix="may")
    finance = api_for("finance")
    response = finance.post(
        "/api/v1/invoices/finalize",
        {"filter": {"status": "draft", "billing_date_from": "2026-05-01", "billing_date_to": "2026-05-31"}},
        format="json",
    )
    assert response.status_code == 202, response.content
    run = finance.get(response["Location"]).json()
    assert run["finalized"] == 2 and run["filter"]["billing_date_from"] == "2026-05-01"
    assert set(Invoice.objects.exclude(status="draft").values_list("pk", flat=True)) == {i.pk for i in may}
    # The same names filter GET /invoices.
    listed = finance.get("/api/v1/invoices?billing_date_from=2026-05-01&status=finalized").json()
    assert {i["id"] for i in listed["results"]} == {i.pk for i in may}


def test_an_invoice_no_longer_a_draft_is_reported_with_its_reason(api_for, catalog):
    drafts = _drafts(2)
    finance = api_for("finance")
    single = finance.post(f"/api/v1/invoices/{drafts[0].pk}/finalize")  # the synchronous endpoint stays
    assert single.status_code == 200 and single.json()["number"]
    run = finance.post("/api/v1/invoices/finalize", {"ids": [d.pk for d in drafts]}, format="json").json()
    run = finance.get(f"/api/v1/invoices/finalize/{run['id']}").json()
    assert (run["finalized"], run["skipped"]) == (1, 1)
    (problem,) = run["failures"]
    assert problem["invoice"] == drafts[0].pk and problem["status"] == "skipped"
    assert problem["error"] == f"Already finalized as {single.json()['number']}."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "filter"),
        ({"ids": []}, "ids"),
        ({"ids": ["x"]}, "ids[0]"),
        ({"ids": [0]}, "ids[0]"),
        ({"ids": [2**63]}, "ids[0]"),
        ({"ids": [987654]}, "ids[0]"),
        ({"ids": [1], "filter": {}}, "filter"),
        ({"filter": {"status": "finalized"}}, "filter.status"),
        ({"filter": {"colour": "red"}}, "filter.colour"),
        ({"filter": {"billing_date_from": "2026-02-30"}}, "filter.billing_date_from"),
        ({"filter": {"customer": "nobody"}}, "filter.customer"),
        ({"filter": "draft"}, "filter"),
        ({"filter": {"holds_period": "2026-13"}}, "filter.holds_period"),
        ({"filter": {"holds_period": "garbage"}}, "filter.holds_period"),
    ],
)
def test_bad_ids_and_filters_are_a_400_problem_naming_the_field(api_for, catalog, body, field):
    response = api_for("finance").post("/api/v1/invoices/finalize", body, format="json")
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM, response.content
    fields = [e.get("field") or e.get("pointer") for e in response.json().get("errors", [])]
    assert any(field == f or (f or "").lstrip("/").replace("/", ".") == field for f in fields), (
        response.json()
    )
    assert not FinalizationRun.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [("finance", 202), ("admin", 202), ("approver", 403), ("auditor", 403), ("pricing", 403)],
)
def test_only_the_roles_that_finalize_invoices_may_start_a_run(api_for, catalog, role, status):
    (draft,) = _drafts(1)
    client = api_for(role)
    response = client.post("/api/v1/invoices/finalize", {"ids": [draft.pk]}, format="json")
    assert response.status_code == status, response.content
    # The single-invoice endpoint answers the same roles the same way.
    other = _drafts(1, prefix="single")[0]
    assert client.post(f"/api/v1/invoices/{other.pk}/finalize").status_code == (200 if status == 202 else 403)
    if status == 403:
        assert Invoice.objects.get(pk=draft.pk).status == "draft" and not FinalizationRun.objects.exists()
        assert client.get("/api/v1/invoices/finalize/1").status_code == 404  # every role reads billing


def test_an_unknown_run_is_a_404_problem(api_for, catalog):
    response = api_for("auditor").get("/api/v1/invoices/finalize/987654")
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM


def test_a_reversed_date_range_is_a_400_problem_naming_the_field_and_starts_no_run(api_for, catalog):
    _drafts(1)
    response = api_for("finance").post(
        "/api/v1/invoices/finalize",
        {"filter": {"billing_date_from": "2026-12-31", "billing_date_to": "2026-01-01"}},
        format="json",
    )
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["filter.billing_date_to"]
    assert not FinalizationRun.objects.exists()


def test_an_unknown_run_is_a_404_problem_that_does_not_name_the_model(api_for, catalog):
    response = api_for("finance").get("/api/v1/invoices/finalize/999999")
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert response.json()["detail"] == "Finalization run 999999 not found."
    assert "FinalizationRun" not in response.content.decode()


def test_a_run_whose_planning_raises_ends_failed_with_the_reason(api_for, ui_for, catalog):
    from unittest import mock

    from django.urls import reverse

    from revops.core.services.jobs import runs_resume_stalled

    _drafts(1)
    finance = api_for("finance")
    with mock.patch(
        "billing.invoicing.finalization.planning._selected", side_effect=RuntimeError("the index is gone")
    ):
        response = finance.post("/api/v1/invoices/finalize", {"filter": {}}, format="json")
    assert response.status_code == 202, response.content
    run = FinalizationRun.objects.get()
    assert run.status == FinalizationRun.Status.FAILED and run.finished_at is not None
    body = finance.get(f"/api/v1/invoices/finalize/{run.pk}").json()
    assert body["status"] == "failed"
    assert body["error"] == "Planning failed: RuntimeError: the index is gone"
    assert not runs_resume_stalled(stall_seconds=-60)  # nothing left for the resumer to re-queue
    page = ui_for("finance", "finance-page").get(reverse("finalization-run", args=[run.pk]))
    assert "the index is gone" in page.content.decode()
