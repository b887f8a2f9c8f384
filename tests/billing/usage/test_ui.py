"""Usage pages: explorer, quarantine (replay/discard with CSRF), ingestion stats, role checks."""

from __future__ import annotations

import pytest
from django.test import Client

from billing.models import QuarantinedEvent, UsageEvent
from billing.usage.ingest import ingest_events
from revops.core.audit.models import AuditEvent
from tests.billing.usage.conftest import event
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(customer, tokens_meter):
    ingest_events(
        events=[
            event("u-1", tokens=1200, model="gpt"),
            event("u-2", tokens=34, model="mini"),
            event("q-1", customer="newco"),
        ],
        source="api",
    )
    return QuarantinedEvent.objects.get(transaction_id="q-1")


def test_explorer_shows_chart_table_and_groups(ui_for, data):
    client = ui_for("finance")
    html = client.get(
        "/usage/", {"customer": "acme", "meter": "llm_tokens", "group_by": "model"}
    ).content.decode()
    assert "Usage explorer" in html and "/static/js/chart.umd.min.js" in html
    assert 'id="usage-chart-' in html and "1,234" in html  # finance formatting of the total
    assert "gpt" in html and "mini" in html and "97.2%" in html
    fragment = client.get("/usage/", {"customer": "acme", "meter": "llm_tokens"}, HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode() and 'id="usage-results"' in fragment.content.decode()


def test_explorer_empty_states_are_helpful(ui_for, db):
    html = ui_for("finance").get("/usage/").content.decode()
    assert "Nothing to explore yet" in html and "POST /api/v1/events" in html


def test_quarantine_page_lists_reasons_and_replay_works_with_csrf(make_user, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("fiona", "finance"))
    page = client.get("/usage/quarantine/")
    html = page.content.decode()
    assert "q-1" in html and "unknown customer" in html and "Replay" in html and "Discard" in html
    token = page.cookies["csrftoken"].value
    assert client.post(f"/usage/quarantine/{data.pk}/replay/").status_code == 403  # no CSRF token

    still = client.post(
        f"/usage/quarantine/{data.pk}/replay/", HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true"
    )
    assert still.status_code == 200 and "Still invalid" in still.content.decode()
    CustomerFactory(external_id="newco")
    done = client.post(f"/usage/quarantine/{data.pk}/replay/", HTTP_X_CSRFTOKEN=token, HTTP_HX_REQUEST="true")
    row = done.content.decode()
    assert "<html" not in row and "Replayed" in row and "now counted" in row
    assert UsageEvent.objects.filter(transaction_id="q-1").count() == 1
    again = client.post(f"/usage/quarantine/{data.pk}/replay/", {"csrfmiddlewaretoken": token})
    assert again.status_code == 302
    assert UsageEvent.objects.filter(transaction_id="q-1").count() == 1


def test_discard_from_the_ui_is_audited(ui_for, data):
    client = ui_for("finance")
    response = client.post(
        f"/usage/quarantine/{data.pk}/discard/", {"reason": "load test"}, HTTP_HX_REQUEST="true"
    )
    assert "Discarded" in response.content.decode()
    assert AuditEvent.objects.filter(action="usage.quarantine.discarded").count() == 1


def test_bulk_replay_from_the_ui(ui_for, data):
    CustomerFactory(external_id="newco")
    response = ui_for("finance").post("/usage/quarantine/replay-open/", {"customer": "newco"}, follow=True)
    assert "1 counted" in response.content.decode()
    assert QuarantinedEvent.objects.get(pk=data.pk).status == "replayed"


def test_ingestion_stats_page(ui_for, data):
    html = ui_for("auditor").get("/usage/ingestion/").content.decode()
    assert "Usage ingestion" in html and 'id="ingestion-chart"' in html
    assert "1 still open in quarantine" in html


def test_read_only_roles_see_no_replay_button_and_cannot_post(ui_for, data):
    client = ui_for("auditor")
    html = client.get("/usage/quarantine/").content.decode()
    assert "q-1" in html and ">Replay<" not in html
    assert client.post(f"/usage/quarantine/{data.pk}/replay/").status_code == 403


@pytest.mark.parametrize("path", ["/usage/", "/usage/quarantine/", "/usage/ingestion/"])
def test_a_user_without_a_role_gets_403(client, make_user, path):
    client.force_login(make_user("nobody"))
    assert client.get(path).status_code == 403


def test_navigation_and_dashboard_widget(ui_for, data):
    html = ui_for("finance").get("/").content.decode()
    assert "Usage explorer" in html and "Quarantine" in html and "Usage events today" in html
