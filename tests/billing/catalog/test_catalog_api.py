"""Catalog API (api.md: Catalog and pricing) and its validation (issue 3 §5, §7).

Plans here take effect today and new versions later, so they publish at once; back-dated versions
need an approver (tests/billing/catalog/test_price_version_controls.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Charge, Meter, Plan, PlanVersion
from revops.core.audit.models import AuditEvent
from revops.parties.models import Product

pytestmark = pytest.mark.django_db

TOKEN_PLAN = {
    "code": "ai-pro",
    "name": "AI Pro",
    "currency": "USD",
    "interval": "month",
    "minimum_amount": "100.00",
    "charges": [
        {
            "code": "platform",
            "product": "platform",
            "model": "flat",
            "timing": "in_advance",
            "properties": {"amount": "49.00"},
        },
        {
            "code": "tokens",
            "product": "tokens",
            "meter": "llm_tokens",
            "model": "standard",
            "properties": {"unit_amount": "0"},
            "filters": [
                {
                    "match": {"model": "gpt-4o", "token_type": "input"},
                    "properties": {"unit_amount": "0.0000025"},
                },
                {
                    "match": {"model": "gpt-4o", "token_type": "output"},
                    "properties": {"unit_amount": "0.00001"},
                },
            ],
        },
        {
            "code": "api",
            "product": "tokens",
            "meter": "api_calls",
            "model": "graduated",
            "properties": {
                "tiers": [
                    {"up_to": 5, "unit_amount": "7"},
                    {"up_to": 10, "unit_amount": "6.50"},
                    {"up_to": None, "unit_amount": "6"},
                ]
            },
        },
    ],
}


@pytest.fixture
def catalog(api_for):
    api = api_for("pricing")
    for code in ("platform", "tokens"):
        assert (
            api.post(
                "/api/v1/products", {"code": code, "name": code.title(), "recognition": "ratable_daily"}
            ).status_code
            == 201
        )
    assert (
        api.post(
            "/api/v1/meters",
            {
                "code": "llm_tokens",
                "name": "LLM tokens",
                "aggregation": "sum",
                "field": "tokens",
                "group_by": ["model", "token_type"],
            },
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/api/v1/meters", {"code": "api_calls", "name": "API calls", "aggregation": "count"}
        ).status_code
        == 201
    )
    return api


def test_products_crud_and_audit(catalog):
    body = catalog.get("/api/v1/products/platform").json()
    assert (
        body["code"] == "platform"
        and body["recognition"] == "ratable_daily"
        and body["revenue_account"] == "4000"
    )
    patched = catalog.patch("/api/v1/products/platform", {"revenue_account": "4010"}, format="json")
    assert patched.status_code == 200 and patched.json()["revenue_account"] == "4010"
    assert AuditEvent.objects.filter(
        action="product.updated", object_id=str(Product.objects.get(code="platform").pk)
    ).exists()


def test_product_unknown_recognition_is_a_field_error(catalog):
    response = catalog.post(
        "/api/v1/products", {"code": "x", "name": "X", "recognition": "whenever"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "recognition"


def test_create_token_plan_and_read_it_back(catalog):
    response = catalog.post("/api/v1/plans", TOKEN_PLAN, format="json")
    assert response.status_code == 201, response.json()
    plan = catalog.get("/api/v1/plans/ai-pro").json()
    assert plan["currency"] == "USD" and plan["minimum_amount"] == "100" and plan["current_version"] == 1
    tokens = next(c for c in plan["charges"] if c["code"] == "tokens")
    assert tokens["filters"][0]["properties"]["unit_amount"] == "0.0000025"  # exact, a string
    assert [v["status"] for v in plan["versions"]] == ["published"]


def test_bad_plan_reports_every_field_path_and_saves_nothing(catalog):
    bad = {
        "code": "bad",
        "name": "Bad",
        "currency": "USD",
        "charges": [
            {
                "code": "a",
                "model": "graduated",
                "meter": "api_calls",
                "properties": {
                    "tiers": [
                        {"up_to": 10, "unit_amount": "1"},
                        {"up_to": 5, "unit_amount": "1"},
                        {"up_to": 20, "unit_amount": "-1"},
                    ]
                },
            },
            {
                "code": "b",
                "model": "package",
                "meter": "api_calls",
                "properties": {"package_size": 0, "amount": "5"},
            },
            {"code": "c", "model": "percentage", "meter": "nope", "properties": {"rate": "150"}},
            {
                "code": "d",
                "model": "standard",
                "product": "ghost",
                "properties": {"unit_amount": "1"},
                "currency": "EUR",
            },
        ],
    }
    response = catalog.post("/api/v1/plans", bad, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "charges[0].properties.tiers[1].up_to",  # not ascending
        "charges[0].properties.tiers[2].up_to",  # last tier must be open
        "charges[0].properties.tiers[2].unit_amount",  # negative price
        "charges[1].properties.package_size",  # > 0
        "charges[2].meter",  # unknown meter
        "charges[2].properties.rate",  # 0-100
        "charges[3].product",  # unknown product
        "charges[3].currency",  # currency mismatch
    } <= fields
    assert not Plan.objects.filter(code="bad").exists()
    assert not PlanVersion.objects.filter(plan__code="bad").exists() and not Charge.objects.exists()


def test_two_open_tiers_refused(catalog):
    plan = {
        "code": "p",
        "name": "P",
        "currency": "USD",
        "charges": [
            {
                "code": "a",
                "model": "volume",
                "meter": "api_calls",
                "properties": {
                    "tiers": [{"up_to": None, "unit_amount": "1"}, {"up_to": None, "unit_amount": "1"}]
                },
            }
        ],
    }
    response = catalog.post("/api/v1/plans", plan, format="json")
    assert "charges[0].properties.tiers[0].up_to" in {e["field"] for e in response.json()["errors"]}


def test_new_version_keeps_the_old_one_readable(catalog):
    catalog.post("/api/v1/plans", TOKEN_PLAN, format="json")
    charges = [dict(TOKEN_PLAN["charges"][0], properties={"amount": "59.00"})] + TOKEN_PLAN["charges"][1:]
    later = timezone.localdate() + timedelta(days=45)
    response = catalog.post(
        "/api/v1/plans/ai-pro/versions", {"effective_from": str(later), "charges": charges}, format="json"
    )
    assert response.status_code == 201 and response.json()["number"] == 2
    old = catalog.get("/api/v1/plans/ai-pro/versions/1").json()
    assert old["charges"][0]["properties"]["amount"] == "49.00"
    day_before = later - timedelta(days=1)
    assert catalog.get(f"/api/v1/plans/ai-pro?as_of={day_before}").json()["current_version"] == 1
    assert catalog.get(f"/api/v1/plans/ai-pro?as_of={later}").json()["current_version"] == 2


def test_published_version_is_immutable(catalog):
    from billing.catalog.services import plan_version_update_draft
    from revops.errors import InvalidTransition

    catalog.post("/api/v1/plans", TOKEN_PLAN, format="json")
    version = PlanVersion.objects.get(plan__code="ai-pro", number=1)
    with pytest.raises(InvalidTransition):
        plan_version_update_draft(version=version, charges=[], effective_from=version.effective_from)


def test_draft_version_then_publish(catalog):
    catalog.post("/api/v1/plans", TOKEN_PLAN, format="json")
    later = timezone.localdate() + timedelta(days=30)
    draft = catalog.post(
        "/api/v1/plans/ai-pro/versions",
        {"effective_from": str(later), "charges": TOKEN_PLAN["charges"], "status": "draft"},
        format="json",
    )
    assert draft.json()["status"] == "draft"
    after = later + timedelta(days=30)
    assert catalog.get(f"/api/v1/plans/ai-pro?as_of={after}").json()["current_version"] == 1
    published = catalog.post("/api/v1/plans/ai-pro/versions/2/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    again = catalog.post("/api/v1/plans/ai-pro/versions/2/publish")
    assert again.status_code == 409


def test_finance_cannot_edit_the_catalog(api_for):
    response = api_for("finance").post("/api/v1/products", {"code": "x", "name": "X"}, format="json")
    assert response.status_code == 403


def test_meter_validation(catalog):
    response = catalog.post("/api/v1/meters", {"code": "m", "name": "M", "aggregation": "sum"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "field"


def test_meter_in_use_cannot_change_how_it_counts(catalog):
    catalog.post("/api/v1/plans", TOKEN_PLAN, format="json")
    response = catalog.patch("/api/v1/meters/llm_tokens", {"aggregation": "max"}, format="json")
    assert response.status_code == 409
    assert Meter.objects.get(code="llm_tokens").aggregation == "sum"
    assert catalog.patch("/api/v1/meters/llm_tokens", {"name": "Tokens"}, format="json").status_code == 200


# --- POST /pricing/preview ----------------------------------------------------------------------------

STRIPE_TIERS = [
    {"up_to": 5, "unit_amount": "7"},
    {"up_to": 10, "unit_amount": "6.50"},
    {"up_to": None, "unit_amount": "6"},
]


@pytest.mark.parametrize(("model", "expected"), [("graduated", "41.50"), ("volume", "39.00")])
def test_preview_reproduces_stripe_tier_example(api_for, model, expected):
    # Source: https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing (6 units).
    response = api_for("finance").post(
        "/api/v1/pricing/preview",
        {
            "currency": "USD",
            "charge": {"model": model, "properties": {"tiers": STRIPE_TIERS}},
            "quantity": "6",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["amount"] == expected and body["currency"] == "USD"
    assert all(isinstance(b["amount"], str) for b in body["breakdown"])


def test_preview_events_for_percentage(api_for):
    response = api_for("finance").post(
        "/api/v1/pricing/preview",
        {
            "currency": "USD",
            "charge": {
                "model": "percentage",
                "properties": {"rate": "2.5", "fixed_amount": "0.30"},
                "field": "amount",
            },
            "events": [{"amount": "100.00"}, {"amount": "40.00"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["amount"] == "4.10"  # 2.50 + 0.30 + 1.00 + 0.30


def test_preview_bad_tiers_have_field_paths(api_for):
    response = api_for("finance").post(
        "/api/v1/pricing/preview",
        {
            "currency": "USD",
            "charge": {"model": "graduated", "properties": {"tiers": [{"up_to": 5, "unit_amount": "1"}]}},
            "quantity": "3",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "charge.properties.tiers[0].up_to"


def test_preview_json_number_is_read_as_the_decimal_it_spells(api_for):
    """The API parser reads 0.1 as one tenth (Decimal), never as the binary float nearest to it."""
    response = api_for("finance").post(
        "/api/v1/pricing/preview",
        {
            "currency": "USD",
            "charge": {"model": "standard", "properties": {"unit_amount": "3.3"}},
            "quantity": 0.1,
        },
        format="json",
    )
    assert response.status_code == 200 and response.json()["amount"] == "0.33"


def test_preview_unknown_currency(api_for):
    response = api_for("finance").post(
        "/api/v1/pricing/preview",
        {
            "currency": "XXQ",
            "charge": {"model": "standard", "properties": {"unit_amount": "1"}},
            "quantity": "1",
        },
        format="json",
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "currency"
