"""Webhooks page: endpoints, secret shown once, HTMX filter and retry, roles, navigation."""

from __future__ import annotations

import pytest

from billing.models import WebhookDelivery, WebhookEndpoint
from billing.webhooks.dispatch import webhooks_dispatch_outbox
from tests.billing.webhooks.conftest import EndpointFactory, OutboxEventFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.billing.webhooks.urls")]

PAGE = "/billing/webhooks/"


@pytest.fixture
def log(db):
    erp = EndpointFactory(url="https://erp.example.com/hooks", description="ERP sync")
    crm = EndpointFactory(url="https://crm.example.com/in", event_types=["invoice.paid"])
    OutboxEventFactory(topic="invoice.finalized")
    OutboxEventFactory(topic="invoice.paid")
    webhooks_dispatch_outbox()
    failed = WebhookDelivery.objects.get(endpoint=crm)
    WebhookDelivery.objects.filter(pk=failed.pk).update(
        status="failed", attempts=10, last_status_code=503, last_error="HTTP 503 Service Unavailable"
    )
    return {"erp": erp, "crm": crm, "failed": failed}


def test_finance_sees_endpoints_log_and_write_buttons(ui_for, log):
    html = ui_for("finance").get(PAGE).content.decode()
    assert "<h1>Webhooks</h1>" in html
    assert "https://erp.example.com/hooks" in html and "ERP sync" in html and "All events" in html
    assert "Add endpoint" in html and "Rotate secret" in html and "Deactivate" in html and "Retry now" in html
    assert "HTTP 503 Service Unavailable" in html and 'class="badge badge-failed"' in html
    assert log["erp"].secret not in html and log["crm"].secret not in html


def test_auditor_reads_without_write_buttons(ui_for, log):
    client = ui_for("auditor")
    html = client.get(PAGE).content.decode()
    assert "https://erp.example.com/hooks" in html
    assert "Add endpoint" not in html and "Rotate secret" not in html and "Retry now" not in html
    assert client.post("/billing/webhooks/endpoints/", {"url": "https://x.example.com"}).status_code == 403
    assert client.post(f"/billing/webhooks/deliveries/{log['failed'].pk}/retry/").status_code == 403


def test_creating_shows_the_secret_once_and_never_again(ui_for):
    client = ui_for("finance")
    response = client.post(
        "/billing/webhooks/endpoints/",
        {"url": "https://ledger.example.com/hook", "description": "Ledger", "event_types": ["invoice.paid"]},
    )
    endpoint = WebhookEndpoint.objects.get()
    html = response.content.decode()
    assert response.status_code == 200 and endpoint.secret in html and "will not be shown again" in html
    assert "no-store" in response["Cache-Control"]
    assert endpoint.event_types == ["invoice.paid"] and endpoint.description == "Ledger"
    assert endpoint.secret not in client.get(PAGE).content.decode()


def test_htmx_create_with_errors_returns_the_endpoints_fragment(ui_for):
    client = ui_for("finance")
    response = client.post(
        "/billing/webhooks/endpoints/", {"url": "ftp://files.example.com"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="webhook-endpoints"' in html
    assert "Enter a valid" in html and 'aria-invalid="true"' in html
    assert not WebhookEndpoint.objects.exists()


def test_rotate_and_deactivate_from_the_page(ui_for, log):
    client = ui_for("finance")
    old = log["erp"].secret
    html = client.post(
        f"/billing/webhooks/endpoints/{log['erp'].pk}/rotate-secret/", HTTP_HX_REQUEST="true"
    ).content.decode()
    log["erp"].refresh_from_db()
    assert log["erp"].secret != old and log["erp"].secret in html and "Secret rotated" in html
    html = client.post(
        f"/billing/webhooks/endpoints/{log['erp'].pk}/deactivate/", HTTP_HX_REQUEST="true"
    ).content.decode()
    log["erp"].refresh_from_db()
    assert log["erp"].active is False and "Reactivate" in html and "delivery log is kept" in html
    response = client.post(f"/billing/webhooks/endpoints/{log['erp'].pk}/activate/")
    log["erp"].refresh_from_db()
    assert response.status_code == 302 and log["erp"].active is True


def test_htmx_filter_returns_only_the_log(ui_for, log):
    client = ui_for("finance")
    response = client.get(
        PAGE, {"status": "failed"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="delivery-results"
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="delivery-results"' in html
    assert html.count('<tr id="delivery-') == 1 and "HTTP 503" in html
    html = client.get(
        PAGE, {"endpoint": log["erp"].pk}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="delivery-results"
    ).content.decode()
    assert html.count('<tr id="delivery-') == 2 and "HTTP 503" not in html
    html = client.get(
        PAGE,
        {"event_type": "billing_run.completed"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="delivery-results",
    ).content.decode()
    assert "No deliveries match these filters" in html


def test_retry_now_swaps_the_row(ui_for, log, monkeypatch, django_capture_on_commit_callbacks):
    from billing.webhooks import tasks

    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda pk: None)
    client = ui_for("finance")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/billing/webhooks/deliveries/{log['failed'].pk}/retry/", HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="delivery-{log["failed"].pk}"') and "badge-pending" in html
    WebhookDelivery.objects.filter(pk=log["failed"].pk).update(status="succeeded")
    html = client.post(
        f"/billing/webhooks/deliveries/{log['failed'].pk}/retry/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "already succeeded" in html


def test_registrations_register_the_nav_item(ui_for, monkeypatch):
    from billing.webhooks import registrations
    from revops import navigation

    monkeypatch.setattr(navigation, "NAV", list(navigation.NAV))  # keep the global registry untouched
    registrations.register()
    registrations.register()  # idempotent
    billing = [s for s in navigation.NAV if s.title == "Billing"]
    assert len(billing) == 1 and [i.url_name for i in billing[0].items].count("webhooks") == 1
    html = ui_for("finance").get(PAGE).content.decode()
    assert 'href="/billing/webhooks/" class="active"' in html
