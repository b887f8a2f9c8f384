"""Pricing UI: the simulator page, products & meters page, Django admin, and the display helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from billing.catalog.demo import seed_catalog
from billing.catalog.forms.charge_inputs import PROPERTY_INPUTS, TIER_COLUMNS, match_text, parse_match
from billing.catalog.forms.simulator import parse_events_text
from billing.models import Meter, PlanVersion
from billing.rating.validation import _PROPERTIES, _TIER_KEYS
from billing.views.catalog_display import properties_summary, tier_ranges
from revops.core.audit.models import AuditEvent

HX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "sim-results"}
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def demo(db):
    from django.db import transaction

    from revops.core.demo import seed_users

    with transaction.atomic():
        seed_users()  # the demo's pricing user submits its back-dated versions, its approver signs off
    seed_catalog()


def events(*rows) -> str:
    return "\n".join(
        json.dumps(
            {
                "code": "llm_tokens",
                "timestamp": ts,
                "properties": {"model": model, "token_type": kind, "tokens": tokens},
            }
        )
        for ts, model, kind, tokens in rows
    )


TOKEN_EVENTS = events(
    ("2026-11-02T10:00:00+00:00", "gpt-4o", "input", 1_000_000),
    ("2026-11-02T11:00:00+00:00", "gpt-4o", "input", 200_000),
    ("2026-11-03T09:00:00+00:00", "gpt-4o", "output", 500_000),
    ("2026-11-04T09:00:00+00:00", "gpt-4o-mini", "input", 2_000_000),
)


# --- simulator ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_simulator_page_lists_every_version_including_drafts(ui_for, demo):
    html = ui_for("finance").get("/pricing/simulator/?plan=api-growth&version=3").content.decode()
    assert (
        '<option value="api-growth:3" selected>' in html and "api-growth v3 · from 2027-01-01 · draft" in html
    )
    assert 'name="q-platform"' in html  # the meterless platform fee gets a quantity input
    assert "Impact on customers" not in html


@pytest.mark.django_db
def test_simulator_rates_a_token_plan_into_one_line_per_dimension(ui_for, demo):
    client = ui_for("pricing")
    data = {
        "version": "ai-tokens:1",
        "start": "2026-11-01",
        "end": "2026-12-01T00:00",
        "events": TOKEN_EVENTS,
    }
    response = client.post("/pricing/simulator/", data, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="sim-results"' in html
    rows = {
        m[0].strip(): m[1:]
        for m in re.findall(
            r"<td>([^<]+?)\s*(?:<span[^>]*>[^<]*</span>)?\s*(?:<details.*?</details>)?</td>\s*"
            r'<td class="num">([^<]*)</td>\s*<td class="num">([^<]*)</td>\s*<td class="num">([^<]*)</td>',
            html,
            re.S,
        )
    }
    assert rows["Platform fee"] == ("1", "49.00", "49.00")
    assert rows["LLM tokens — GPT-4o input tokens"] == ("1,200,000", "0.0000025", "3.00")
    assert rows["LLM tokens — GPT-4o output tokens"] == ("500,000", "0.00001", "5.00")
    assert rows["LLM tokens — GPT-4o mini input tokens"] == ("2,000,000", "0.00000015", "0.30")
    # rated 57.30 < minimum 100.00: a true-up line makes up the rest
    assert "true-up" in html and ">42.70</td>" in html and "100.00 USD" in html
    assert not PlanVersion.objects.filter(plan__code="ai-tokens", number=2).exists()  # nothing saved


@pytest.mark.django_db
def test_simulator_shows_event_errors_with_their_line(ui_for, demo):
    bad = TOKEN_EVENTS + '\n{"code": "llm_tokens", "timestamp": "2026-11-05", "properties": {}}'
    data = {"version": "ai-tokens:1", "start": "2026-11-01", "end": "2026-12-01", "events": bad}
    html = ui_for("pricing").post("/pricing/simulator/", data, **HX).content.decode()
    assert "Event 5 (line 5) · timestamp: An ISO 8601 timestamp with an offset is required." in html
    assert 'id="sim-events" hx-swap-oob="true"' in html and 'aria-invalid="true"' in html  # the textarea too


@pytest.mark.django_db
def test_simulator_uses_quantities_for_charges_without_a_meter(ui_for, demo):
    data = {
        "version": "team-seats:1",
        "start": "2026-11-01",
        "end": "2026-12-01",
        "events": "",
        "q-seats": "12",
    }
    html = ui_for("pricing").post("/pricing/simulator/", data).content.decode()
    assert ">300.00 USD</td>" in html and 'value="12"' in html


@pytest.mark.django_db
def test_simulator_refuses_a_window_that_ends_before_it_starts(ui_for, demo):
    data = {"version": "team-seats:1", "start": "2026-12-01", "end": "2026-11-01", "events": ""}
    response = ui_for("pricing").post("/pricing/simulator/", data)
    assert response.status_code == 400 and "The window must end after it starts." in response.content.decode()


@pytest.mark.django_db
def test_sample_events_are_valid_simulator_input(ui_for, demo):
    client = ui_for("pricing")
    html = client.get("/pricing/simulator/sample?version=ai-tokens:1&start=2026-11-01T00:00").content.decode()
    assert "<html" not in html and "Sample events filled in" in html
    text = html.split(">", 1)[1].split("<textarea", 1)[1].split(">", 1)[1].split("</textarea>")[0]
    parsed, _, errors = parse_events_text(text.replace("&quot;", '"'))
    assert not errors and {e["properties"]["model"] for e in parsed} == {"gpt-4o", "gpt-4o-mini"}
    data = {
        "version": "ai-tokens:1",
        "start": "2026-11-01",
        "end": "2026-12-01",
        "events": text.replace("&quot;", '"'),
    }
    assert (
        "LLM tokens — GPT-4o mini output tokens" in client.post("/pricing/simulator/", data).content.decode()
    )


# --- products and meters page -------------------------------------------------------------------


@pytest.mark.django_db
def test_products_and_meters_page_creates_a_meter_through_the_service(ui_for, demo):
    client = ui_for("pricing")
    html = client.get("/pricing/catalog/").content.decode()
    assert "llm_tokens" in html and "Point in time" in html
    bad = client.post(
        "/pricing/catalog/",
        {"kind": "meter", "meter-code": "gpu_seconds", "meter-name": "GPU", "meter-aggregation": "sum"},
    )
    assert bad.status_code == 400 and "needs the event property to aggregate" in bad.content.decode()
    ok = client.post(
        "/pricing/catalog/",
        {
            "kind": "meter",
            "meter-code": "gpu_seconds",
            "meter-name": "GPU",
            "meter-aggregation": "sum",
            "meter-field": "seconds",
            "meter-group_by": "gpu, region",
        },
    )
    assert ok.status_code == 302
    assert Meter.objects.get(code="gpu_seconds").group_by == ["gpu", "region"]
    assert AuditEvent.objects.filter(action="meter.created").count() == 3  # two demo meters + this one


# --- Django admin -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_catalog_pages_and_published_versions_cannot_be_deleted(client, make_user, demo):
    from django.contrib import admin

    admin_user = make_user("root", "admin")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    published = PlanVersion.objects.get(plan__code="api-growth", number=1)
    draft = PlanVersion.objects.get(plan__code="api-growth", number=3)
    for url in [
        "/admin/billing/meter/",
        "/admin/billing/plan/",
        f"/admin/billing/plan/{published.plan_id}/change/",
        f"/admin/billing/planversion/{published.pk}/change/",
        "/admin/billing/coupon/",
        "/admin/contracts/product/",
        "/admin/contracts/customer/",
    ]:
        assert client.get(url).status_code == 200, url
    version_admin = admin.site._registry[PlanVersion]
    request = type("R", (), {"user": admin_user})()
    assert not version_admin.has_delete_permission(request, published)
    assert version_admin.has_delete_permission(request, draft)
    assert (
        client.post(f"/admin/billing/planversion/{published.pk}/delete/", {"post": "yes"}).status_code == 403
    )


@pytest.mark.django_db
def test_admin_meter_form_goes_through_the_service(client, make_user, demo):
    admin_user = make_user("root", "admin")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    meter = Meter.objects.get(code="llm_tokens")  # used by a charge: how it counts is locked
    response = client.post(
        f"/admin/billing/meter/{meter.pk}/change/",
        {
            "name": "LLM tokens",
            "aggregation": "max",
            "field": "tokens",
            "filters": "{}",
            "group_by": '["model", "token_type"]',
        },
    )
    assert response.status_code == 200 and "Locked: the meter is in use." in response.content.decode()
    assert Meter.objects.get(pk=meter.pk).aggregation == "sum"
    before = AuditEvent.objects.filter(action="meter.updated").count()
    response = client.post(
        f"/admin/billing/meter/{meter.pk}/change/",
        {
            "name": "LLM tokens (all models)",
            "aggregation": "sum",
            "field": "tokens",
            "filters": "{}",
            "group_by": '["model", "token_type"]',
        },
    )
    assert response.status_code == 302
    assert Meter.objects.get(pk=meter.pk).name == "LLM tokens (all models)"
    assert AuditEvent.objects.filter(action="meter.updated").count() == before + 1


# --- helpers (no database) ----------------------------------------------------------------------


def test_property_inputs_cover_exactly_what_the_rating_engine_accepts():
    assert {m: {p.key for p in specs} for m, specs in PROPERTY_INPUTS.items()} == {
        m: set(props) - {"tiers"} for m, props in _PROPERTIES.items()
    }
    assert {m: {k for k, _ in cols} for m, cols in TIER_COLUMNS.items()} == {
        m: set(k) for m, k in _TIER_KEYS.items()
    }


def test_readable_tier_summaries():
    tiers = [
        {"up_to": "5", "unit_amount": "7"},
        {"up_to": "10", "unit_amount": "6.50"},
        {"up_to": None, "unit_amount": "6"},
    ]
    assert (
        properties_summary("graduated", {"tiers": tiers}) == "Graduated: 1–5 @ 7.00, 6–10 @ 6.50, 11+ @ 6.00"
    )
    assert tier_ranges([{"up_to": "1000.5"}, {"up_to": None}]) == ["up to 1,000.5", "over 1,000.5"]
    assert (
        properties_summary("percentage", {"rate": "2.9", "fixed_amount": "0.30"})
        == "2.9% + 0.30 per transaction"
    )


def test_match_text_round_trips_types():
    match = {"model": "gpt-4o", "tier": 1, "beta": True, "code": "42"}
    assert match_text(match) == 'model=gpt-4o, tier=1, beta=true, code="42"'
    assert parse_match(match_text(match)) == match
    with pytest.raises(ValueError, match="is not key=value"):
        parse_match("model")


def test_no_float_in_the_pricing_ui_code():
    files = [
        *ROOT.glob("billing/catalog/forms/*.py"),
        ROOT / "billing/catalog/ui_support.py",
        *ROOT.glob("billing/views/catalog*.py"),
    ]
    templates = list((ROOT / "templates/billing/catalog").glob("*.html"))
    assert files and templates
    for path in files + templates:
        text = path.read_text()
        assert "float(" not in text and "parseFloat" not in text and "Number(" not in text, path


@pytest.mark.django_db
def test_admin_product_add_goes_through_the_service(client, make_user):
    from revops.parties.models import Product

    admin_user = make_user("root", "admin")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    data = {
        "code": "gpu",
        "name": "GPU time",
        "recognition": "usage",
        "revenue_account": "4100",
        "active": "on",
    }
    assert client.post("/admin/contracts/product/add/", data).status_code == 302
    product = Product.objects.get(code="gpu")
    assert product.revenue_account == "4100"
    assert AuditEvent.objects.filter(action="product.created", object_id=str(product.pk)).count() == 1
    blank = {**data, "code": "gpu2", "revenue_account": " "}
    response = client.post("/admin/contracts/product/add/", blank)
    assert response.status_code == 200 and not Product.objects.filter(code="gpu2").exists()
