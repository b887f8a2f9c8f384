"""The grace period before drafts finalize themselves, in the UI (issue 15 §1): the billing settings
page (the organization's, versioned and audited; held drafts and the last passes) and the customer's
own on the new-customer form and the customer page. Bad input is a form error; readers cannot change
anything."""

from datetime import date

import pytest
from django.db import transaction
from django.utils import timezone

from billing.billing_settings import billing_settings_update
from billing.invoicing.auto_finalize import auto_finalize_due_drafts
from billing.models import BillingSettings
from revops.core.audit.models import AuditEvent
from revops.parties.models import Customer
from tests.billing.factories import ContractFactory
from tests.billing.views.conftest import build
from tests.revops.factories import ApprovalFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_settings_page_changes_the_grace_period_as_a_new_audited_version(finance):
    page = finance.get("/billing/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Auto-finalization of drafts" in html and "<strong>Off</strong>" in html
    assert "Billing settings" in html  # in the navigation
    response = finance.post(
        "/billing/settings/",
        {"auto_finalize_grace_hours": "72", "reason": "Three days for review", "expected_version": "0"},
    )
    assert response.status_code == 302
    [version] = BillingSettings.objects.all()
    assert (version.version, version.auto_finalize_grace_hours, version.reason) == (
        1,
        72,
        "Three days for review",
    )
    assert version.created_by == finance.user
    event = AuditEvent.objects.get(action="billing_settings.changed")
    assert event.actor_id == finance.user.pk
    html = finance.get("/billing/settings/").content.decode()
    assert "<strong>72 hours (3 days)</strong>" in html and "Three days for review" in html
    off = finance.post("/billing/settings/", {"auto_finalize_grace_hours": "", "expected_version": "1"})
    assert off.status_code == 302
    assert BillingSettings.objects.order_by("-version").first().auto_finalize_grace_hours is None


@pytest.mark.parametrize("hours", ["-1", "8761", "soon", "1.5"])
def test_a_bad_grace_period_is_a_form_error(finance, hours):
    response = finance.post(
        "/billing/settings/", {"auto_finalize_grace_hours": hours, "expected_version": "0"}
    )
    assert response.status_code == 400
    assert 'id="id_auto_finalize_grace_hours_errors"' in response.content.decode()
    assert not BillingSettings.objects.exists()


def test_a_change_based_on_an_old_version_is_refused(finance):
    with transaction.atomic():
        billing_settings_update(actor="someone", auto_finalize_grace_hours=24)
    response = finance.post("/billing/settings/", {"auto_finalize_grace_hours": "1", "expected_version": "0"})
    assert response.status_code == 400
    assert "changed since you read them" in response.content.decode()
    assert BillingSettings.objects.order_by("-version").first().auto_finalize_grace_hours == 24


def test_readers_see_the_settings_but_cannot_change_them(ui_for):
    auditor = ui_for("auditor")
    page = auditor.get("/billing/settings/")
    assert page.status_code == 200 and "Save as a new version" not in page.content.decode()
    response = auditor.post("/billing/settings/", {"auto_finalize_grace_hours": "1", "expected_version": "0"})
    assert response.status_code == 403
    assert not BillingSettings.objects.exists()


def test_the_page_shows_held_drafts_and_the_last_runs(finance, monthly, django_capture_on_commit_callbacks):
    held = build(monthly, date(2026, 4, 1))
    other = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "20.00"}],
        start_date=date(2026, 4, 1),
        customer=CustomerFactory(external_id="globex", name="Globex"),
    )
    free = build(other, date(2026, 4, 1))
    with transaction.atomic():
        billing_settings_update(actor="test", auto_finalize_grace_hours=0)
        ApprovalFactory(kind="price_override", obj=monthly, payload={"action": "amend"})
    with django_capture_on_commit_callbacks(execute=True):
        done = auto_finalize_due_drafts(now=timezone.now())
    assert done.held and done.submitted == [free.pk]
    html = finance.get("/billing/settings/").content.decode()
    assert "Drafts held past their grace period" in html
    assert f"/invoices/{held.pk}/" in html and "Its contract waits for an approval." in html
    assert "Last auto-finalization runs" in html and f"#{done.run_id}" in html
    assert "Completed" in html


def test_the_new_customer_form_takes_a_grace_period(finance):
    response = finance.post(
        "/customers/new/",
        {
            "external_id": "initrode",
            "name": "Initrode",
            "currency": "USD",
            "timezone": "UTC",
            "auto_finalize_grace_hours": "48",
        },
    )
    assert response.status_code == 302
    assert Customer.objects.get(external_id="initrode").auto_finalize_grace_hours == 48
    bad = finance.post(
        "/customers/new/",
        {
            "external_id": "x",
            "name": "X",
            "currency": "USD",
            "timezone": "UTC",
            "auto_finalize_grace_hours": "-3",
        },
    )
    assert bad.status_code == 400 and not Customer.objects.filter(external_id="x").exists()


def test_the_customer_page_shows_and_sets_the_customers_own_grace_period(finance, monthly):
    url = f"/customers/{monthly.customer_id}/"
    html = finance.get(url).content.decode()
    assert "Auto-finalize" in html and 'Off <span class="muted small">(the organization\'s)' in html
    response = finance.post(f"{url}grace/", {"auto_finalize_grace_hours": "0"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=monthly.customer_id).auto_finalize_grace_hours == 0
    assert AuditEvent.objects.filter(action="customer.updated", object_id=str(monthly.customer_id)).exists()
    html = finance.get(url).content.decode()
    assert "At once" in html and "(its own)" in html
    bad = finance.post(f"{url}grace/", {"auto_finalize_grace_hours": "-5"})
    assert bad.status_code == 400 and 'id="id_auto_finalize_grace_hours_errors"' in bad.content.decode()
    cleared = finance.post(f"{url}grace/", {"auto_finalize_grace_hours": ""})
    assert cleared.status_code == 302
    assert Customer.objects.get(pk=monthly.customer_id).auto_finalize_grace_hours is None


def test_an_auditor_cannot_set_a_customers_grace_period(ui_for, monthly):
    auditor = ui_for("auditor")
    response = auditor.post(f"/customers/{monthly.customer_id}/grace/", {"auto_finalize_grace_hours": "1"})
    assert response.status_code == 403
    assert Customer.objects.get(pk=monthly.customer_id).auto_finalize_grace_hours is None
