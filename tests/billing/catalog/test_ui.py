"""Pricing-admin UI (issue 3 §6): plan list, plan page, draft editor with the HTMX tier editor and live
preview, version page, diff, publish, permissions.

The Stripe tiered-pricing example (https://docs.stripe.com/products-prices/pricing-models#tiered-pricing):
tiers 1–5 at 7.00, 6–10 at 6.50, 11+ at 6.00 → graduated 6 units = 41.50, volume 6 units = 39.00."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from billing.catalog import services
from billing.catalog.demo import seed_catalog
from billing.models import Charge, Plan, PlanVersion
from revops.core.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
STRIPE_TIERS = {
    "tier-up_to": ["5", "10", ""],
    "tier-unit_amount": ["7", "6.50", "6"],
    "tier-flat_amount": ["", "", ""],
}


@pytest.fixture
def demo(db):
    from django.db import transaction

    from revops.core.demo import seed_users

    with transaction.atomic():
        seed_users()  # the demo's pricing user submits its back-dated versions, its approver signs off
    seed_catalog()


@pytest.fixture
def draft_plan(db):
    """A plan whose version 1 is an empty draft, as the 'New plan' form leaves it."""
    return services.plan_create(code="stripe", name="Stripe demo", currency="USD", publish=False, charges=[])


def charge_post(**extra) -> dict:
    data = {
        "code": "units",
        "name": "Units",
        "product": "",
        "meter": "",
        "model": "graduated",
        "timing": "in_arrears",
    }
    data.update(STRIPE_TIERS)
    data.update(extra)
    return data


def tier_rows(html: str) -> list[str]:
    return html.split('<tr class="tier-row">')[1:]


# --- plan list and plan page ------------------------------------------------------------------------


def test_plan_list_shows_each_plan_with_its_version_in_force_and_pending_drafts(ui_for, demo):
    html = ui_for("pricing").get("/pricing/plans/").content.decode()
    row = html.split("api-growth</code>")[1].split("</tr>")[0]
    assert "API Growth" in row and "USD" in row and "Monthly" in row
    assert ">v2</a>" in row and "since 2026-07-01" in row  # v2 (2026-07-01) is in force, not v1 or the draft
    assert ">3</td>" in row.replace('class="num">', ">") and "1 draft" in row
    assert "New plan" in html


def test_plan_list_empty_state_invites_the_first_plan(ui_for):
    html = ui_for("pricing").get("/pricing/plans/").content.decode()
    assert "No price plans yet" in html and "Create the first plan" in html


def test_plan_page_shows_history_and_readable_charges_of_the_version_in_force(ui_for, demo):
    html = ui_for("pricing").get("/pricing/plans/api-growth/").content.decode()
    assert "Prices in force today — version 2" in html
    assert "Graduated: 1–10,000 free, 10,001–100,000 @ 0.002, 100,001+ @ 0.001" in html
    assert "249.00 per period" in html and "199.00 per period" not in html  # v1's fee is not in force
    history = html.split("Version history")[1]
    assert "In force" in history and "Superseded" in history and "Draft" in history
    assert "New draft version" in html and 'action="/pricing/plans/api-growth/versions/new"' in html


def test_token_plan_page_lists_per_dimension_prices_per_million(ui_for, demo):
    html = ui_for("pricing").get("/pricing/plans/ai-tokens/").content.decode()
    assert "model=gpt-4o, token_type=input" in html and "0.0000025 per unit (2.50 per million)" in html
    assert "minimum 100.00 USD per period" in html


def test_version_page_renders_any_version_read_only(ui_for, demo):
    html = ui_for("pricing").get("/pricing/plans/api-growth/versions/1/").content.decode()
    assert "Superseded" in html and "199.00 per period" in html
    assert "Read-only." in html and "Edit draft" not in html


# --- new plan, charge editor ---------------------------------------------------------------------


def test_new_plan_form_creates_a_draft_and_opens_the_editor(ui_for):
    client = ui_for("pricing")
    response = client.post(
        "/pricing/plans/new/",
        {
            "code": "stripe",
            "name": "Stripe demo",
            "currency": "usd",
            "interval": "month",
            "version_policy": "at_renewal",
            "effective_from": "2027-01-01",
        },
    )
    assert response.status_code == 302 and response.url == "/pricing/plans/stripe/versions/1/edit"
    plan = Plan.objects.get(code="stripe")
    version = plan.versions.get()
    assert plan.currency == "USD" and plan.version_policy == "at_renewal"
    assert version.status == "draft" and version.effective_from == date(2027, 1, 1)
    assert "No charges yet" in client.get(response.url).content.decode()


def test_new_plan_service_errors_land_on_their_fields(ui_for, draft_plan):
    response = ui_for("pricing").post(
        "/pricing/plans/new/",
        {
            "code": "stripe",
            "name": "X",
            "currency": "ZZZ",
            "interval": "month",
            "version_policy": "on_effective_date",
            "effective_from": "2027-01-01",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        "Unknown currency &#x27;ZZZ&#x27;" in html
        and "A plan with code &#x27;stripe&#x27; already exists" in html
    )
    assert Plan.objects.count() == 1


def test_adding_a_graduated_charge_saves_the_exact_decimal_strings(ui_for, draft_plan):
    response = ui_for("pricing").post("/pricing/plans/stripe/versions/1/charges/new", charge_post())
    assert response.status_code == 302 and response.url == "/pricing/plans/stripe/versions/1/edit"
    charge = Charge.objects.get(version__plan=draft_plan)
    assert charge.model == "graduated" and charge.version.status == "draft"
    assert charge.properties == {
        "tiers": [
            {"up_to": "5", "unit_amount": "7"},
            {"up_to": "10", "unit_amount": "6.50"},
            {"up_to": None, "unit_amount": "6"},
        ]
    }


def test_bad_tier_order_shows_the_error_on_that_tier_input_and_saves_nothing(ui_for, draft_plan):
    data = charge_post(**{"tier-up_to": ["10", "5", ""]})
    response = ui_for("pricing").post("/pricing/plans/stripe/versions/1/charges/new", data)
    html = response.content.decode()
    assert response.status_code == 400
    first, second, third = tier_rows(html)
    assert 'name="tier-up_to" value="5"' in second and 'aria-invalid="true"' in second.split("</td>")[0]
    assert "Must be greater than the previous tier" in second
    assert "aria-invalid" not in first and "aria-invalid" not in third
    assert 'value="6.50"' in second and 'value="10"' in first  # what was typed is kept
    assert "Tier 2 · Up to (inclusive)" in html.split('id="error-summary"')[1]  # and listed at the top
    assert not Charge.objects.exists()


def test_editing_a_charge_replaces_it_and_keeps_the_others(ui_for, demo):
    client = ui_for("pricing")
    page = client.get("/pricing/plans/api-growth/versions/3/charges/1/").content.decode()
    assert 'value="0.0008"' in page and 'name="tier-up_to" value="100000"' in page
    data = charge_post(
        code="api_calls",
        meter="api_calls",
        product="api",
        **{"tier-up_to": ["10000", "100000", ""], "tier-unit_amount": ["0", "0.002", "0.00075"]},
    )
    assert client.post("/pricing/plans/api-growth/versions/3/charges/1/", data).status_code == 302
    draft = PlanVersion.objects.get(plan__code="api-growth", number=3)
    codes = list(draft.charges.order_by("position").values_list("code", flat=True))
    assert codes == ["platform", "api_calls"]
    assert draft.charges.get(code="api_calls").properties["tiers"][2] == {
        "up_to": None,
        "unit_amount": "0.00075",
    }


def test_per_dimension_rows_become_filters(ui_for, demo):
    client = ui_for("pricing")
    data = {
        "code": "tokens2",
        "meter": "llm_tokens",
        "product": "tokens",
        "model": "standard",
        "timing": "in_arrears",
        "p-unit_amount": "0",
        "f-match": ["model=gpt-4o, token_type=input", "model=o1, token_type=output"],
        "f-name": ["GPT-4o in", ""],
        "f-unit_amount": ["0.0000025", "0.00006"],
    }
    assert client.post("/pricing/plans/api-growth/versions/3/charges/new", data).status_code == 302
    charge = Charge.objects.get(version__number=3, version__plan__code="api-growth", code="tokens2")
    assert charge.filters == [
        {
            "match": {"model": "gpt-4o", "token_type": "input"},
            "properties": {"unit_amount": "0.0000025"},
            "name": "GPT-4o in",
        },
        {"match": {"model": "o1", "token_type": "output"}, "properties": {"unit_amount": "0.00006"}},
    ]


def test_a_dimension_error_lands_on_that_dimension_row(ui_for, demo):
    data = {
        "code": "tokens2",
        "meter": "llm_tokens",
        "model": "standard",
        "timing": "in_arrears",
        "p-unit_amount": "0",
        "f-match": ["model=gpt-4o", "oops"],
        "f-name": ["", ""],
        "f-unit_amount": ["-1", "1"],
    }
    response = ui_for("pricing").post("/pricing/plans/api-growth/versions/3/charges/new", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "is not key=value" in html  # the match syntax of row 2
    assert not Charge.objects.filter(code="tokens2").exists()


# --- HTMX fragments: tier row, model swap, preview ------------------------------------------------


def test_tier_row_partial_is_a_fragment_placed_above_the_open_last_tier(ui_for, draft_plan):
    response = ui_for("pricing").post(
        "/pricing/plans/stripe/versions/1/charges/_tier-row", charge_post(), **HX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.strip().startswith('<tr class="tier-row">') and 'name="tier-up_to" value=""' in html
    assert response["HX-Retarget"] == "#tier-rows > tr:last-child" and response["HX-Reswap"] == "beforebegin"
    closed = charge_post(**{"tier-up_to": ["5", "10", "20"]})
    response = ui_for("pricing", "p2").post(
        "/pricing/plans/stripe/versions/1/charges/_tier-row", closed, **HX
    )
    assert "HX-Retarget" not in response  # the last tier has a bound: append at the end


@pytest.mark.parametrize(("model", "amount"), [("graduated", "41.50 USD"), ("volume", "39.00 USD")])
def test_preview_partial_rates_the_stripe_example(ui_for, draft_plan, model, amount):
    data = charge_post(model=model, **{"preview-quantity": "6"})
    response = ui_for("pricing").post("/pricing/plans/stripe/versions/1/charges/_preview", data, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f">{amount}</div>" in html
    if model == "graduated":
        assert "Tier 1 (up to 5)" in html and "Tier 2 (over 5 up to 10)" in html and ">6.50</td>" in html
        assert "Graduated: 1–5 @ 7.00, 6–10 @ 6.50, 11+ @ 6.00" in html
    assert not Charge.objects.exists()  # nothing saved


def test_preview_partial_shows_field_errors_instead_of_an_amount(ui_for, draft_plan):
    data = charge_post(**{"tier-up_to": ["10", "5", ""], "preview-quantity": "6"})
    html = (
        ui_for("pricing")
        .post("/pricing/plans/stripe/versions/1/charges/_preview", data, **HX)
        .content.decode()
    )
    assert (
        "Cannot price this yet" in html and "Tier 2 · Up to (inclusive)" in html and "USD</div>" not in html
    )


def test_preview_of_event_models_takes_one_amount_per_line(ui_for, draft_plan):
    data = {
        "code": "fees",
        "model": "percentage",
        "p-rate": "2.9",
        "p-fixed_amount": "0.30",
        "preview-events": "100.00\n20.00\n",
    }
    html = (
        ui_for("pricing")
        .post("/pricing/plans/stripe/versions/1/charges/_preview", data, **HX)
        .content.decode()
    )
    assert ">4.08 USD</div>" in html and "2 events" in html  # 2.9% of 120.00 + 2 × 0.30


def test_changing_the_model_swaps_the_properties_fieldset(ui_for, draft_plan):
    data = charge_post(model="package", **{"p-amount": "25"})
    response = ui_for("pricing").post("/pricing/plans/stripe/versions/1/charges/_properties", data, **HX)
    html = response.content.decode()
    assert "<html" not in html and 'id="model-section"' in html
    assert (
        'name="p-package_size"' in html and 'name="p-amount" value="25"' in html and "tier-up_to" not in html
    )
    assert 'id="preview-input" class="preview-input" hx-swap-oob="true"' in html
    assert json.loads(response["HX-Trigger-After-Settle"]) == {"pricing-changed": {}}


# --- drafts: settings, order, new version, publish, discard --------------------------------------


def test_draft_settings_errors_stay_on_the_field_and_valid_minimum_is_saved(ui_for, demo):
    client = ui_for("pricing")
    url = "/pricing/plans/api-growth/versions/3/edit"
    bad = client.post(url, {"effective_from": "2027-01-01", "minimum_amount": "12,50", "notes": ""})
    assert bad.status_code == 400 and "is not a decimal number" in bad.content.decode()
    assert PlanVersion.objects.get(plan__code="api-growth", number=3).minimum_amount is None
    assert (
        client.post(
            url, {"effective_from": "2027-02-01", "minimum_amount": "150.00", "notes": "n"}
        ).status_code
        == 302
    )
    draft = PlanVersion.objects.get(plan__code="api-growth", number=3)
    assert draft.minimum_amount == Decimal("150.00") and draft.effective_from == date(2027, 2, 1)
    assert draft.charges.count() == 2  # the charges survived the settings update


def test_charges_move_and_remove(ui_for, demo):
    client = ui_for("pricing")
    base = "/pricing/plans/api-growth/versions/3/charges"
    client.post(f"{base}/1/move", {"direction": "up"})
    draft = PlanVersion.objects.get(plan__code="api-growth", number=3)
    assert list(draft.charges.order_by("position").values_list("code", flat=True)) == [
        "api_calls",
        "platform",
    ]
    asked = client.post(f"{base}/0/remove").content.decode()
    assert "Remove charge 1 from draft version 3" in asked and draft.charges.count() == 2
    client.post(f"{base}/0/remove", {"confirm": "1"})
    assert list(draft.charges.values_list("code", flat=True)) == ["platform"]


def test_new_version_copies_the_charges_into_a_draft(ui_for, demo):
    response = ui_for("pricing").post(
        "/pricing/plans/ai-tokens/versions/new", {"effective_from": "2027-03-01", "copy_from": "1"}
    )
    assert response.status_code == 302 and response.url == "/pricing/plans/ai-tokens/versions/2/edit"
    v1, v2 = PlanVersion.objects.filter(plan__code="ai-tokens").order_by("number")
    assert (
        v2.status == "draft"
        and v2.effective_from == date(2027, 3, 1)
        and v2.minimum_amount == v1.minimum_amount
    )
    assert [(c.code, c.properties, c.filters) for c in v2.charges.all()] == [
        (c.code, c.properties, c.filters) for c in v1.charges.all()
    ]


def test_publish_makes_the_version_read_only(ui_for, draft_plan):
    client = ui_for("pricing")
    client.post("/pricing/plans/stripe/versions/1/charges/new", charge_post())
    confirm = client.get("/pricing/plans/stripe/versions/1/publish").content.decode()
    assert "can no longer change" in confirm
    assert client.post("/pricing/plans/stripe/versions/1/publish").status_code == 302
    version = PlanVersion.objects.get(plan=draft_plan)
    assert (
        version.status == "published" and AuditEvent.objects.filter(action="plan_version.published").exists()
    )
    edit = client.get("/pricing/plans/stripe/versions/1/edit")
    assert edit.status_code == 302 and edit.url == "/pricing/plans/stripe/versions/1/"
    page = client.get(edit.url).content.decode()
    assert "Read-only." in page and "never change" in page and "Edit draft" not in page
    client.post("/pricing/plans/stripe/versions/1/charges/new", charge_post(code="other"))
    assert version.charges.count() == 1  # the editor refuses to touch a published version


def test_publishing_an_empty_draft_is_refused_with_the_reason(ui_for, draft_plan):
    client = ui_for("pricing")
    response = client.post("/pricing/plans/stripe/versions/1/publish", follow=True)
    assert "at least one charge" in response.content.decode()
    assert PlanVersion.objects.get(plan=draft_plan).status == "draft"


def test_discard_draft(ui_for, demo):
    client = ui_for("pricing")
    asked = client.post("/pricing/plans/api-growth/versions/3/discard").content.decode()
    assert "cannot be undone" in asked and 'name="confirm" value="1"' in asked
    assert PlanVersion.objects.filter(plan__code="api-growth", number=3).exists()
    response = client.post("/pricing/plans/api-growth/versions/3/discard", {"confirm": "1"})
    assert response.status_code == 302 and response.url == "/pricing/plans/api-growth/"
    assert not PlanVersion.objects.filter(plan__code="api-growth", number=3).exists()


# --- diff ---------------------------------------------------------------------------------------


def test_diff_lists_changed_properties_side_by_side(ui_for, demo):
    client = ui_for("pricing")
    html = client.get("/pricing/plans/api-growth/diff?a=1&b=2").content.decode()
    platform = html.split("<code>platform</code>")[1].split("</tr>")[0]
    assert "<del>199.00</del> → <ins>249.00</ins>" in platform
    assert re.search(r'<tr class="diff-chg">\s*<th scope="row"><code>platform', html)
    assert re.search(r'<tr class="">\s*<th scope="row"><code>api_calls', html)  # unchanged, not highlighted
    html = client.get("/pricing/plans/api-growth/diff?a=2&b=3").content.decode()
    assert "tier 3 unit price</span> <del>0.001</del> → <ins>0.0008</ins>" in html


def test_diff_marks_added_and_removed_charges(ui_for, demo):
    client = ui_for("pricing")
    client.post("/pricing/plans/api-growth/versions/3/charges/0/remove", {"confirm": "1"})
    html = client.get("/pricing/plans/api-growth/diff?a=2&b=3").content.decode()
    assert re.search(r'<tr class="diff-del">\s*<th scope="row"><code>platform', html)
    assert "— removed in v3" in html


# --- permissions --------------------------------------------------------------------------------


def test_finance_reads_without_edit_buttons_and_gets_403_on_writes(ui_for, demo):
    client = ui_for("finance")
    plans = client.get("/pricing/plans/").content.decode()
    plan = client.get("/pricing/plans/api-growth/").content.decode()
    draft = client.get("/pricing/plans/api-growth/versions/3/").content.decode()
    assert "API Growth" in plans and "New plan" not in plans
    assert "Compare versions" in plan and "New draft version" not in plan and "Continue editing" not in plan
    assert "Edit draft" not in draft
    v = "/pricing/plans/api-growth/versions/3"
    for url, data in [
        ("/pricing/plans/new/", {"code": "x"}),
        ("/pricing/plans/api-growth/versions/new", {"effective_from": "2027-05-01"}),
        ("/pricing/plans/api-growth/details", {"name": "x"}),
        (f"{v}/edit", {"effective_from": "2027-01-01"}),
        (f"{v}/charges/new", charge_post()),
        (f"{v}/charges/0/", charge_post()),
        (f"{v}/charges/0/remove", {}),
        (f"{v}/charges/0/move", {"direction": "down"}),
        (f"{v}/charges/_tier-row", charge_post()),
        (f"{v}/publish", {}),
        (f"{v}/discard", {}),
        ("/pricing/catalog/", {"kind": "meter", "meter-code": "x"}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert client.get(f"{v}/edit").status_code == 403
    assert PlanVersion.objects.get(plan__code="api-growth", number=3).status == "draft"


# --- navigation, dashboard, seeder --------------------------------------------------------------


def test_navigation_and_dashboard_widget(ui_for, demo):
    html = ui_for("pricing").get("/").content.decode()
    assert 'href="/pricing/plans/"' in html and 'href="/pricing/simulator/"' in html
    assert html.index(">Pricing<") < html.index(">Operations<")
    assert "6 published versions · 1 draft awaiting publication" in html


def test_demo_seeder_is_idempotent(demo):
    counts = (Plan.objects.count(), PlanVersion.objects.count(), Charge.objects.count())
    assert seed_catalog() == "nothing new"
    assert (
        (Plan.objects.count(), PlanVersion.objects.count(), Charge.objects.count()) == counts == (5, 7, 12)
    )  # with the ramp deals' annual plan
    growth = {v.number: v for v in PlanVersion.objects.filter(plan__code="api-growth")}
    assert growth[2].effective_from == date(2026, 7, 1) and growth[3].status == "draft"
    tokens = Charge.objects.get(version__plan__code="ai-tokens", code="tokens")
    assert [f["properties"]["unit_amount"] for f in tokens.filters] == [
        "0.0000025",
        "0.00001",
        "0.00000015",
        "0.0000006",
    ]


def test_preview_invites_instead_of_complaining_while_no_price_is_typed(ui_for, draft_plan):
    data = {"code": "", "model": "standard", "p-unit_amount": "", "preview-quantity": "3"}
    html = (
        ui_for("pricing")
        .post("/pricing/plans/stripe/versions/1/charges/_preview", data, **HX)
        .content.decode()
    )
    assert "Type the prices, then a quantity" in html and "Cannot price this yet" not in html


def test_diff_defaults_to_the_version_in_force_against_the_newest(ui_for, demo):
    html = ui_for("pricing").get("/pricing/plans/api-growth/diff").content.decode()
    assert "Compare versions: v2 → v3" in html  # in force today vs the pending draft
