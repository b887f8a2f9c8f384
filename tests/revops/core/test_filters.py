"""One FilterSet per list, shared by the API and the page (revops.core.filters): given records of two
customers, when a list is filtered through ``GET /api/v1/...`` and through its page with the same
parameters, then both list the same records (a strict, non-empty subset of the unfiltered list); and a
bad value is a 400 problem naming the parameter in the API and a form error above an empty list on the
page, never a 500 and never ignored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction


@dataclass(frozen=True)
class Case:
    name: str
    api: str
    page: str
    good: dict
    bad: dict
    bad_field: str
    page_ids: str = "page"  # context key of the page's rows (a Page, or a list)
    always: dict | None = None  # parameters both sides send (a page's default status made explicit)


CASES = [
    Case("invoices", "/api/v1/invoices", "/invoices/", {"customer": "alpha"}, {"status": "bogus"}, "status",
         always={"status": "draft"}),
    Case("invoices-date", "/api/v1/invoices", "/invoices/", {"billing_date": "2026-02-01"},
         {"billing_date": "2026-02-30"}, "billing_date", always={"status": "draft"}),
    Case("contracts", "/api/v1/contracts", "/contracts/", {"customer": "alpha"}, {"status": "bogus"}, "status",
         page_ids="contracts"),
    Case("contracts-unknown-customer", "/api/v1/contracts", "/contracts/", {"status": "active"},
         {"customer_id": "0"}, "customer_id", page_ids="contracts"),
    Case("customers", "/api/v1/customers", "/customers/", {"q": "ALP"}, {"currency": "U$D"}, "currency",
         page_ids="customers"),
    Case("quarantine", "/api/v1/events/quarantine", "/usage/quarantine/", {"customer": "nobody"},
         {"status": "bogus"}, "status", always={"status": "open"}),
    Case("webhook-deliveries", "/api/v1/webhook-deliveries", "/billing/webhooks/", {"event_type": "invoice.finalized"},
         {"endpoint": "first"}, "endpoint"),
    Case("exceptions", "/api/v1/compliance/exceptions", "/compliance/exceptions/", {"severity": "high"},
         {"check": "no_such_check"}, "check", always={"status": "open"}),
    Case("ssp", "/api/v1/ssp", "/revenue/ssp/", {"product": "platform"}, {"product": "p" * 65}, "product",
         page_ids="rows"),
]  # fmt: skip


@pytest.fixture
def world(db):
    """Two customers with a contract and a draft invoice each (and a draft contract), quarantined
    events of two unknown customers, webhook deliveries of two event types, exceptions of two
    severities, two SSP entries."""
    from billing.usage.ingest import ingest_events
    from billing.webhooks.dispatch import webhooks_dispatch_outbox
    from compliance.models import CheckRun, ComplianceException
    from revrec.services.ssp import ssp_propose
    from tests.billing.factories import ContractFactory, InvoiceFactory
    from tests.billing.webhooks.conftest import EndpointFactory, OutboxEventFactory
    from tests.revops.factories import CustomerFactory, ProductFactory

    alpha = CustomerFactory(external_id="alpha", name="Alpha Ltd")
    beta = CustomerFactory(external_id="beta", name="Beta Inc")
    for customer, start in ((alpha, date(2026, 2, 1)), (beta, date(2026, 1, 1))):
        InvoiceFactory(contract=ContractFactory(customer=customer, start_date=start), billing_date=start)
    ContractFactory(customer=beta, active=False)
    ProductFactory(code="seats")
    for ref in ("nobody", "someone"):
        ingest_events(
            events=[{"transaction_id": f"q-{ref}", "customer": ref, "code": "api_calls",
                     "timestamp": "2026-02-02T00:00:00+00:00"}],
            source="api", user=None,
        )  # fmt: skip
    EndpointFactory(url="https://erp.example.com/hooks")
    for topic in ("invoice.finalized", "invoice.paid"):
        OutboxEventFactory(topic=topic)
    webhooks_dispatch_outbox()
    run = CheckRun.objects.create(trigger="test")
    for n, severity in enumerate(("high", "low")):
        ComplianceException.objects.create(
            check_code="invoice_totals", severity=severity, object_type="billing.invoice", object_id=str(n),
            explanation="test", details={}, first_run=run, last_seen_run=run,
        )  # fmt: skip
    for product in ("platform", "seats"):
        with transaction.atomic():
            ssp_propose(
                product=product, currency="USD", method="observable", ssp=Decimal("100.00"),
                effective_from=date(2026, 1, 1), evidence="list", actor=None,
            )  # fmt: skip
    return {"alpha": alpha, "beta": beta}


def _page_ids(response, key: str) -> set[int]:
    rows = response.context[key]
    rows = rows.object_list if hasattr(rows, "object_list") else rows
    return {(row["entry"] if isinstance(row, dict) else row).pk for row in rows}


def _api_ids(api, path: str, params: dict) -> set[int]:
    response = api.get(path, {**params, "page_size": 1000})
    assert response.status_code == 200, response.content[:500]
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_filter_lists_the_same_records_through_the_api_and_the_page(world, api_for, ui_for, case):
    api, page = api_for("admin"), ui_for("admin")
    always = case.always or {}
    everything = _api_ids(api, case.api, always)
    through_api = _api_ids(api, case.api, {**always, **case.good})
    response = page.get(case.page, {**always, **case.good})
    assert response.status_code == 200
    assert response.context["filter_errors"] == []
    assert through_api == _page_ids(response, case.page_ids)
    assert through_api and through_api < everything  # the filter chose some records, not all or none


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_filter_value_is_named_by_the_api_and_the_page(world, api_for, ui_for, case):
    response = api_for("admin").get(case.api, {**(case.always or {}), **case.bad})
    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [case.bad_field]
    page = ui_for("admin").get(case.page, {**(case.always or {}), **case.bad})
    assert page.status_code == 200
    assert [name for name, _ in page.context["filter_errors"]] == [case.bad_field]
    assert not _page_ids(page, case.page_ids)  # nothing listed under a filter that was not understood
    assert 'id="filter-errors"' in page.content.decode()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/journal-entries", {"period": "2026-13"}, "period"),
        ("/api/v1/journal-entries", {"source": "bogus"}, "source"),
        ("/api/v1/journal-entries", {"contract": "9" * 30}, "contract"),
        ("/api/v1/schedules", {"status": "bogus"}, "status"),
        ("/api/v1/webhook-deliveries", {"status": "bogus"}, "status"),
        # review1516: each was ignored (the whole list, or INV-000001 for "-1" and "+1" — " 1" decoded)
        ("/api/v1/invoices", {"overdue": "maybe"}, "overdue"),
        ("/api/v1/invoices", {"number": "-1"}, "number"),
        ("/api/v1/invoices", {"number": " 1"}, "number"),
        ("/api/v1/approvals", {"kind": "nonsense"}, "kind"),
        ("/api/v1/approvals", {"status": "bogus"}, "status"),
    ],
)
def test_api_only_lists_name_a_bad_filter_value(api_for, db, path, params, field):
    response = api_for("admin").get(path, params)
    assert response.status_code == 400, response.content[:500]
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_customer_and_customer_id_together_are_refused_naming_the_second(api_for, db):
    from tests.revops.factories import CustomerFactory

    alpha = CustomerFactory(external_id="alpha")
    response = api_for("admin").get("/api/v1/invoices", {"customer": "alpha", "customer_id": alpha.pk})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "customer_id", "message": "Send customer or customer_id, not both."}
    ]


def test_an_unknown_customer_reference_is_still_a_404_in_the_api(api_for, db):
    response = api_for("admin").get("/api/v1/invoices", {"customer": "nobody-here"})
    assert response.status_code == 404
    assert "nobody-here" in response.json()["detail"]


def test_the_schema_documents_each_filter_set(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    params = {
        path: {p["name"]: p["schema"] for p in ops["get"].get("parameters", []) if p["in"] == "query"}
        for path, ops in schema["paths"].items()
        if "get" in ops
    }
    invoices = params["/api/v1/invoices/"]
    assert invoices["status"]["enum"] == ["draft", "finalized", "paid", "void"]
    assert invoices["period_start"] == {"type": "string", "format": "date"}
    assert invoices["customer_id"]["type"] == "integer"
    assert set(params["/api/v1/contracts/"]) >= {"customer", "customer_id", "status"}
    assert set(params["/api/v1/customers/"]) >= {"q", "currency"}
    assert set(params["/api/v1/events/quarantine/"]) >= {"status", "customer", "meter"}
    assert set(params["/api/v1/webhook-deliveries/"]) >= {"endpoint", "status", "event_type"}
    assert set(params["/api/v1/compliance/exceptions/"]) >= {"status", "severity", "check"}
    assert set(params["/api/v1/journal-entries/"]) >= {"period", "source", "contract", "format"}
    assert params["/api/v1/journal-entries/"]["period"]["pattern"] == r"^\d{4}-\d{2}$"
    assert set(params["/api/v1/schedules/"]) >= {"status"}
    assert set(params["/api/v1/ssp/"]) >= {"product"}


def test_a_boolean_filter_still_takes_true_and_false(api_for, db):
    api = api_for("admin")
    for value in ("true", "false", "TRUE", "0", ""):
        assert api.get("/api/v1/invoices", {"overdue": value}).status_code == 200, value


def test_an_unknown_approval_kind_is_refused_listing_the_kinds(api_for, db):
    message = api_for("admin").get("/api/v1/approvals", {"kind": "nonsense"}).json()["errors"][0]["message"]
    assert "period_close" in message
    assert api_for("admin").get("/api/v1/approvals", {"kind": "period_close"}).status_code == 200
