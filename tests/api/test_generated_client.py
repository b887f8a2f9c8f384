"""The OpenAPI schema is a contract a client can be generated from (issue 14 §5).

Given the schema ``manage.py spectacular`` writes, openapi-python-client (offline, from the pins)
generates a typed Python client into a temporary folder; the test imports it and, against the live
server, drives one full flow the way an outside integration would: a catalog, a customer, a contract
with a usage line, activation, a price version approved by a second person, usage, a billing run, the
invoice fetched and finalized, the revenue schedule read and approved by a second person, a revenue run
and the deferred-revenue report. Every response is parsed by the generated models: a field the schema
does not declare, a required field missing, a date or enum value the schema does not allow, fails the
test (``strict``), so the schema cannot drift from what the views answer.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from django.core.management import call_command

PACKAGE = "concord_client"
CONFIG = f"""\
package_name_override: {PACKAGE}
project_name_override: {PACKAGE}
post_hooks: []
content_type_overrides:  # the invoice PDF and the evidence zip are downloads (bytes) to a client
  application/pdf: application/octet-stream
  application/zip: application/octet-stream
"""


@pytest.fixture
def client_package(tmp_path, db):
    """The generated client package, imported from ``tmp_path`` (and forgotten afterwards)."""
    schema = tmp_path / "schema.yaml"
    call_command("spectacular", file=str(schema), validate=True, fail_on_warn=True)
    (tmp_path / "config.yaml").write_text(CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", str(schema), "--config", str(tmp_path / "config.yaml"),
         "--meta", "none", "--output-path", str(tmp_path / PACKAGE)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "WARNING" not in output and "Error" not in output, output  # every operation made it
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def strict(value, path: str = "$"):
    """``value`` (a parsed response) after checking that every model in it holds only the fields the
    schema declares: a generated model keeps undeclared keys in ``additional_properties``."""
    if attrs.has(type(value)):
        declared = [f.name for f in attrs.fields(type(value)) if f.name != "additional_properties"]
        extra = getattr(value, "additional_properties", {})
        assert not (declared and extra), f"{path}: fields the schema does not declare: {sorted(extra)}"
        for name in declared:
            strict(getattr(value, name), f"{path}.{name}")
        if not declared:  # a free-form object: its values may be models too
            for key, item in extra.items():
                strict(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            strict(item, f"{path}[{index}]")
    return value


def state(record) -> str:
    """A record's ``status`` as a string (a generated enumeration, or a plain string in the schema)."""
    return getattr(record.status, "value", record.status)


class Api:
    """Calls one generated operation and returns its parsed, checked body (asserting the status)."""

    def __init__(self, package, client):
        self.package, self.client = package, client

    def __call__(self, operation: str, status: int, /, **kwargs):
        tag, _, name = operation.partition(".")
        module = importlib.import_module(f"{self.package.__name__}.api.{tag}.{name}")
        response = module.sync_detailed(client=self.client, **kwargs)
        assert response.status_code == status, (operation, response.status_code, response.content[:800])
        return strict(response.parsed)

    def model(self, name: str, data: dict):
        """A request body as the generated model (``to_dict`` is what is sent)."""
        return getattr(importlib.import_module(f"{self.package.__name__}.models"), name).from_dict(data)

    def enum(self, name: str, value: str):
        """A query parameter's value as the generated enumeration (an unknown value fails here)."""
        return getattr(importlib.import_module(f"{self.package.__name__}.models"), name)(value)


@pytest.mark.django_db(transaction=True)
def test_a_generated_client_drives_the_whole_flow(client_package, live_server, settings):
    from revops.core.services.roles import sync_role_groups
    from revops.core.services.tokens import api_token_create

    sync_role_groups()
    clients = {}
    for role in ("admin", "approver"):
        _, raw = api_token_create(username=f"client-{role}", role=role)
        clients[role] = Api(
            client_package,
            client_package.AuthenticatedClient(
                base_url=live_server.url, token=raw, raise_on_unexpected_status=True
            ),
        )
    api, approver = clients["admin"], clients["approver"]

    # The catalog: a monthly platform fee and API calls at 0.01 each.
    for code, recognition in (("platform", "ratable_daily"), ("api", "usage")):
        api("products.products_create", 201, body=api.model("ProductRequest", {
            "code": code, "name": code.title(), "recognition": recognition}))  # fmt: skip
    api("meters.meters_create", 201, body=api.model("MeterRequest", {
        "code": "api_calls", "name": "API calls", "aggregation": "count"}))  # fmt: skip
    plans = {
        "platform": {"code": "platform", "product": "platform", "model": "flat", "timing": "in_advance",
                     "properties": {"amount": "100.00"}},
        "api": {"code": "api", "product": "api", "meter": "api_calls", "model": "standard",
                "properties": {"unit_amount": "0.01"}},
    }  # fmt: skip
    pending = [
        api("plans.plans_create", 202, body=api.model("PlanInRequest", {
            "code": code, "name": code.title(), "currency": "USD", "effective_from": "2026-01-01",
            "charges": [charge]})).approval.id
        for code, charge in plans.items()
    ]  # fmt: skip
    # Back-dated price versions wait for a second person: the approver signs them off.
    listed = api("approvals.approvals_list", 200, status=api.enum("ApprovalsListStatus", "pending"))
    assert sorted(a.id for a in listed.results) == sorted(pending)
    for publish in pending:
        decided = approver("approvals.approvals_approve_create", 200, id=str(publish),
                           body=api.model("CommentInRequest", {"comment": "list prices"}))  # fmt: skip
        assert state(decided) == "approved" and decided.requested_by != decided.decided_by

    # A customer and a year's contract on the plan, with its usage line.
    customer = api("customers.customers_create", 201, body=api.model("CustomerRequest", {
        "external_id": "gen-co", "name": "Generated Co", "currency": "USD"}))  # fmt: skip
    contract = api("contracts.contracts_create", 201, body=api.model("ContractInRequest", {
        "customer": "gen-co", "currency": "USD", "start_date": "2026-01-01", "end_date": "2027-01-01",
        "lines": [{"key": "platform", "product": "platform", "plan": "platform"},
                  {"key": "api", "product": "api", "plan": "api", "billing": "usage"}]}))  # fmt: skip
    assert state(contract) == "draft" and contract.customer == customer.external_id
    contract = api("contracts.contracts_activate_create", 200, id=str(contract.id))
    assert state(contract) == "active"

    # Usage: 250 API calls in January, one of them sent twice.
    events = [{"transaction_id": f"gen-{n}", "customer": "gen-co", "code": "api_calls",
               "timestamp": f"2026-01-{1 + n % 28:02d}T10:00:00+00:00"} for n in range(250)]  # fmt: skip
    batch = api(
        "events.events_create", 200, body=api.model("UsageBatchInRequest", {"events": [*events, events[0]]})
    )
    assert (batch.accepted, batch.duplicates, batch.rejected) == (250, 1, [])

    # The billing run for February's billing date: January's usage and February's fee. The events are
    # younger than the settling time, so the run holds them back and says so (its usage cut-off).
    run = api(
        "billing_runs.billing_runs_create", 202, body=api.model("RunInRequest", {"as_of": "2026-02-01"})
    )
    run = api("billing_runs.billing_runs_retrieve", 200, id=str(run.id))
    assert state(run) == "completed" and run.failures == [] and run.invoices_created == 2
    assert run.usage_cutoff.held_back == 250
    invoices = api("invoices.invoices_list", 200, customer="gen-co").results
    assert sorted((i.billing_date, i.total) for i in invoices) == [
        (date(2026, 1, 1), "100.00"),  # January's fee, in advance
        (date(2026, 2, 1), "100.00"),  # February's fee; January's usage held back (0.00)
    ]
    february = next(i for i in invoices if i.billing_date == date(2026, 2, 1))
    invoice = api("invoices.invoices_retrieve", 200, id=str(february.id))
    assert state(invoice) == "draft" and invoice.number is None and invoice.customer == "gen-co"
    assert {line.charge: line.amount for line in invoice.lines} == {"platform": "100.00", "api": "0.00"}
    # Once the usage has settled, refreshing the draft bills it: 250 calls × 0.01.
    settings.USAGE_SETTLE_SECONDS = 0
    invoice = api("invoices.invoices_refresh_create", 200, id=str(february.id))
    usage = next(line for line in invoice.lines if line.charge == "api")
    assert (usage.quantity, usage.unit_amount, usage.amount) == ("250", "0.01", "2.50")
    assert (usage.service_start, usage.service_end) == (date(2026, 1, 1), date(2026, 2, 1))
    assert (invoice.subtotal, invoice.tax, invoice.total, invoice.currency) == (
        "102.50",
        "0.00",
        "102.50",
        "USD",
    )

    finalized = api("invoices.invoices_finalize_create", 200, id=str(invoice.id))
    assert state(finalized) == "finalized" and finalized.number

    # Revenue: the platform fee's schedule (1,200.00 over 2026, daily), approved by a second person.
    schedule = api("contracts.contracts_schedule_retrieve", 200, id=str(contract.id))
    obligations = {po.key: po for po in schedule.performance_obligations}
    assert (schedule.currency, sorted(obligations)) == ("USD", ["api", "platform"])
    platform = obligations["platform"]
    assert platform.allocated_amount == "1200.00" and obligations["api"].schedule is None  # usage: as billed
    periods = {p.period: p.amount for p in platform.schedule.periods}
    assert len(periods) == 12 and sum(Decimal(a) for a in periods.values()) == Decimal("1200.00")
    assert (periods["2026-01"], periods["2026-02"]) == ("101.92", "92.05")  # 1,200 × 31/365, × 28/365
    assert state(platform.schedule) == "pending_approval"
    approved = approver("schedules.schedules_approve_create", 200, id=str(platform.schedule.id),
                        body=api.model("CommentInRequest", {"comment": "ok"}))  # fmt: skip
    assert state(approved) == "approved"

    # The revenue run for January, and the deferred-revenue rollforward it leaves.
    revenue_run = api(
        "revenue_runs.revenue_runs_create", 202, body=api.model("RevenueRunInRequest", {"period": "2026-01"})
    )
    revenue_run = api("revenue_runs.revenue_runs_retrieve", 200, id=str(revenue_run.id))
    assert state(revenue_run) == "completed"
    report = api("reports.reports_deferred_revenue_retrieve", 200, period="2026-01")
    assert (report.period, report.currency, report.opening, report.billed) == (
        "2026-01",
        "USD",
        "0.00",
        "0.00",
    )
    assert report.recognized == "104.42"  # 101.92 of the platform fee + 2.50 of usage
    assert (report.closing, report.contract_assets, report.contract_liabilities) == (
        "-104.42",
        "104.42",
        "0.00",
    )
    assert report.tie_out.ties and report.tie_out.difference == "0.00"
    (row,) = report.by_contract
    assert (row.contract, row.number, row.recognized, row.contract_asset) == (
        contract.id,
        contract.number,
        "104.42",
        "104.42",
    )
