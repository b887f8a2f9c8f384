"""Edit what may be edited (issue 16 §6): customers and draft contracts are editable (audited, the
contract versioned), products and meters can be opened and edited where nothing that depends on them
would change — otherwise a form error (a meter priced by a plan) or a second person's approval (a
product with postings)."""

from datetime import date
from decimal import Decimal

import pytest

from billing.contracts.models import Contract, ContractVersion
from billing.contracts.services import contract_activate
from billing.contracts.services.draft_edit import contract_draft_update
from billing.models import Meter
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revops.errors import InvalidTransition
from revops.parties.models import Customer, Product
from tests.billing.factories import ContractFactory, MeterFactory
from tests.revops.factories import CustomerFactory
from tests.revops.parties.test_product_accounts import posted  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _events(action: str, obj) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).order_by("seq"))


# --- customers -------------------------------------------------------------------------------------


def test_a_customer_is_edited_and_every_change_audited(ui_for, catalog):
    customer = CustomerFactory(external_id="acme", name="Acme", tax_rate=Decimal("0"))
    ContractFactory(lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], customer=customer)
    finance = ui_for("finance")
    page = finance.get(f"/customers/{customer.pk}/edit/").content.decode()
    assert (
        'value="Acme"' in page
        and "external_id" not in page.split('id="customer-form"')[1].split("</form>")[0]
    )
    assert "Fixed: the customer has contracts" in page
    response = finance.post(
        f"/customers/{customer.pk}/edit/",
        {"name": "Acme Europe GmbH", "timezone": "Europe/Berlin", "tax_rate": "19"},  # currency disabled
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.timezone, customer.tax_rate) == ("Acme Europe GmbH", "Europe/Berlin", 19)
    assert customer.currency == "USD"  # locked by its contracts (a posted EUR is a form error: review16)
    (event,) = _events("customer.updated", customer)
    assert event.changes["name"] == {"from": "Acme", "to": "Acme Europe GmbH"}
    assert set(event.changes) == {"name", "timezone", "tax_rate"}
    assert "Acme Europe GmbH" in finance.get(f"/customers/{customer.pk}/edit/").content.decode()  # history


def test_a_bad_customer_edit_is_a_form_error_and_nothing_changes(ui_for):
    customer = CustomerFactory(external_id="acme", name="Acme")
    response = ui_for("finance").post(
        f"/customers/{customer.pk}/edit/", {"name": "Acme", "currency": "USD", "timezone": "Mars/Base"}
    )
    assert response.status_code == 400 and "Unknown IANA time zone" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).timezone == "UTC" and not _events(
        "customer.updated", customer
    )


def test_auditors_cannot_edit_customers(ui_for):
    customer = CustomerFactory(external_id="acme", name="Acme")
    assert ui_for("auditor").post(f"/customers/{customer.pk}/edit/", {"name": "X"}).status_code == 403


# --- draft contracts ------------------------------------------------------------------------------


def _draft(**kwargs):
    return ContractFactory(
        lines=[
            {"key": "svc", "product": "platform", "unit_price": "10.00", "ssp": "12.00", "ssp_reason": "list"}
        ],
        start_date=date(2026, 4, 1),
        end_date=date(2027, 4, 1),
        active=False,
        **kwargs,
    )


def test_a_draft_contract_is_edited_as_a_new_version_keeping_what_the_editor_does_not_show(ui_for, catalog):
    contract = _draft()
    finance = ui_for("finance")
    page = finance.get(f"/contracts/{contract.pk}/edit/").content.decode()
    assert "Edit draft" in page and 'value="svc"' in page and 'value="10"' in page
    response = finance.post(
        f"/contracts/{contract.pk}/edit/",
        {
            "start_date": "2026-05-01",
            "end_date": "2027-05-01",
            "billing_anchor": "calendar",
            "notes": "signed 28 Apr",
            "line-key": ["svc", "setup"],
            "line-product": ["platform", "onboarding"],
            "line-plan": ["", ""],
            "line-billing": ["recurring", "one_time"],
            "line-quantity": ["3", "1"],
            "line-unit_price": ["10", ""],
            "line-amount": ["", "500.00"],
            "line-service_start": ["", ""],
            "line-service_end": ["", ""],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contract.refresh_from_db()
    assert (contract.start_date, contract.notes, contract.status) == (
        date(2026, 5, 1),
        "signed 28 Apr",
        "draft",
    )
    lines = {ln.key: ln for ln in contract.lines.all()}
    assert lines["svc"].quantity == 3 and lines["svc"].ssp == Decimal("12.00")  # the SSP is kept
    assert lines["setup"].amount == Decimal("500.00")
    version = ContractVersion.objects.filter(contract=contract).order_by("-version").first()
    assert (version.version, version.kind) == (2, "edited")
    assert version.snapshot["start_date"] == "2026-05-01" and len(version.snapshot["lines"]) == 2
    (event,) = _events("contract.draft_edited", contract)
    assert event.changes["start_date"] == {"from": "2026-04-01", "to": "2026-05-01"}
    assert "setup: onboarding" in event.changes["lines"]["to"]
    assert contract.version == 2 and {ln.created_in_version for ln in lines.values()} == {2}


def test_saving_a_draft_unchanged_records_nothing(catalog):
    contract = _draft()
    line = contract.lines.get()
    same = contract_draft_update(
        contract=contract,
        start_date=contract.start_date,
        end_date=contract.end_date,
        billing_anchor=contract.billing_anchor,
        notes=contract.notes,
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
    )
    assert (
        same.version == 1
        and contract.versions.count() == 1
        and not _events("contract.draft_edited", contract)
    )
    assert contract.lines.get().pk == line.pk  # the lines as they were


def test_a_line_error_is_shown_on_its_cell_and_nothing_is_saved(ui_for, catalog):
    contract = _draft()
    response = ui_for("finance").post(
        f"/contracts/{contract.pk}/edit/",
        {
            "start_date": "2026-04-01",
            "end_date": "2027-04-01",
            "billing_anchor": "calendar",
            "line-key": ["svc"],
            "line-product": ["no-such-product"],
            "line-quantity": ["1"],
            "line-unit_price": ["10"],
        },
    )
    assert response.status_code == 400 and "Unknown product" in response.content.decode()
    assert not _events("contract.draft_edited", contract) and contract.versions.count() == 1


def test_an_active_contract_is_not_edited_but_amended(ui_for, catalog):
    contract = _draft()
    contract_activate(contract=contract)
    with pytest.raises(InvalidTransition):
        contract_draft_update(
            contract=contract,
            start_date=date(2026, 5, 1),
            end_date=date(2027, 5, 1),
            billing_anchor="calendar",
            notes="",
            lines=[{"key": "svc", "product": "platform", "unit_price": "1"}],
        )
    response = ui_for("finance").get(f"/contracts/{contract.pk}/edit/")
    assert response.status_code == 302 and Contract.objects.get(pk=contract.pk).start_date == date(2026, 4, 1)


# --- products and meters ----------------------------------------------------------------------------


def test_a_product_without_postings_is_edited_directly_and_audited(ui_for, catalog):
    pricing = ui_for("pricing")
    page = pricing.get("/pricing/catalog/products/onboarding/").content.decode()
    assert "Nothing is posted to it yet" in page
    response = pricing.post(
        "/pricing/catalog/products/onboarding/",
        {
            "name": "Onboarding (remote)",
            "recognition": "point_in_time",
            "revenue_account": "4010",
            "active": "on",
        },
    )
    assert response.status_code == 302
    product = Product.objects.get(code="onboarding")
    assert (product.name, product.revenue_account) == ("Onboarding (remote)", "4010")
    assert _events("product.updated", product)


def test_a_product_with_postings_keeps_its_account_until_a_second_person_approves(ui_for, posted):  # noqa: F811
    pricing = ui_for("pricing")
    assert (
        "Revenue is already posted to it"
        in pricing.get("/pricing/catalog/products/onboarding/").content.decode()
    )
    product = Product.objects.get(code="onboarding")
    response = pricing.post(
        "/pricing/catalog/products/onboarding/",
        {"name": "Onboarding", "recognition": product.recognition, "revenue_account": "4010", "active": "on"},
        follow=True,
    )
    assert "waits for a second person" in response.content.decode()
    assert Product.objects.get(code="onboarding").revenue_account == "4000"
    assert Approval.objects.get(kind="product_account_change").status == "pending"


def test_a_meter_priced_by_a_plan_refuses_a_new_way_of_counting_with_a_form_error(ui_for, catalog):
    meter = Meter.objects.filter(charges__isnull=False).first()
    pricing = ui_for("pricing")
    page = pricing.get(f"/pricing/catalog/meters/{meter.code}/").content.decode()
    assert "how it counts is locked" in page
    response = pricing.post(
        f"/pricing/catalog/meters/{meter.code}/",
        {"name": "Renamed", "aggregation": "max", "field": "x", "group_by": ""},
    )
    assert response.status_code == 409 and "cannot change" in response.content.decode()
    assert Meter.objects.get(pk=meter.pk).aggregation == meter.aggregation
    assert not _events("meter.updated", meter)
    renamed = pricing.post(
        f"/pricing/catalog/meters/{meter.code}/",
        {
            "name": "Renamed",
            "aggregation": meter.aggregation,
            "field": meter.field,
            "group_by": ", ".join(meter.group_by),
            "allow_negative": "on" if meter.allow_negative else "",
        },
    )
    assert renamed.status_code == 302 and Meter.objects.get(pk=meter.pk).name == "Renamed"
    assert _events("meter.updated", meter)


def test_an_unused_meter_changes_how_it_counts(ui_for, catalog):
    meter = MeterFactory(code="gpu_seconds", name="GPU seconds", aggregation="sum", field="seconds")
    response = ui_for("pricing").post(
        "/pricing/catalog/meters/gpu_seconds/", {"name": "GPU time", "aggregation": "max", "field": "seconds"}
    )
    assert response.status_code == 302 and Meter.objects.get(pk=meter.pk).aggregation == "max"


# --- the charge form creates a missing product or meter ----------------------------------------------


def test_the_charge_form_creates_a_meter_inline_audited_and_chosen(ui_for, catalog):
    pricing = ui_for("pricing")
    data = {"newmeter-code": "gpu_seconds", "newmeter-name": "GPU seconds", "newmeter-aggregation": "sum"}
    refused = pricing.post("/pricing/catalog/_new/meter", data).content.decode()
    assert (
        'id="new-meter"' in refused
        and "errorlist" in refused
        and not Meter.objects.filter(code="gpu_seconds")
    )
    made = pricing.post("/pricing/catalog/_new/meter", {**data, "newmeter-field": "seconds"}).content.decode()
    meter = Meter.objects.get(code="gpu_seconds")
    assert 'data-choose="#id_meter" data-value="gpu_seconds"' in made
    assert 'hx-swap-oob="innerHTML"' in made and '<option value="gpu_seconds" selected>' in made
    assert _events("meter.created", meter)
    again = pricing.post(
        "/pricing/catalog/_new/meter", {**data, "newmeter-field": "seconds"}
    ).content.decode()
    assert "already" in again and Meter.objects.filter(code="gpu_seconds").count() == 1


def test_the_charge_form_creates_a_product_inline_and_readers_cannot(ui_for, catalog):
    data = {"newproduct-code": "gpu", "newproduct-name": "GPU", "newproduct-recognition": "ratable_daily"}
    data["newproduct-revenue_account"] = "4000"
    assert ui_for("auditor", "otto").post("/pricing/catalog/_new/product", data).status_code == 403
    made = ui_for("pricing").post("/pricing/catalog/_new/product", data).content.decode()
    assert '<option value="gpu" selected>' in made and Product.objects.filter(code="gpu").exists()
