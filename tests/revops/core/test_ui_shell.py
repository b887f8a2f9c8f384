"""UI shell: login, role navigation, dashboard, job progress partial, error pages."""

import pytest

from revops.core.services.jobs import job_advance, job_complete, job_create, job_start

pytestmark = pytest.mark.django_db


def test_anonymous_user_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_login_page_renders_an_accessible_form(client):
    html = client.get("/login/").content.decode()
    assert 'for="id_username"' in html and 'for="id_password"' in html and "csrfmiddlewaretoken" in html
    assert "/static/js/htmx.min.js" in html


def test_login_with_bad_password_shows_a_form_error(client, make_user):
    make_user("fiona", "finance", password="right-pass-123")
    response = client.post("/login/", {"username": "fiona", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_login_then_dashboard_shows_role_navigation(client, make_user):
    make_user("fiona", "finance", password="right-pass-123")
    response = client.post("/login/", {"username": "fiona", "password": "right-pass-123"}, follow=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Dashboard" in html and "Finance" in html and "Sign out" in html


def test_user_without_role_sees_no_navigation_items(client, make_user):
    client.force_login(make_user("nobody"))
    html = client.get("/").content.decode()
    assert "has no role yet" in html
    assert "Audit trail" not in html


def test_auditor_sees_audit_trail(ui_for):
    client = ui_for("auditor")
    html = client.get("/compliance/audit/").content.decode()
    assert "Audit trail" in html and "Verify chain" in html


def test_job_progress_partial_polls_until_finished(ui_for):
    client = ui_for("finance")
    job = job_create(kind="billing_run", total=4)
    job_start(job_id=job.pk)
    job_advance(job_id=job.pk, by=1)
    html = client.get(f"/jobs/{job.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in html and 'aria-valuenow="25"' in html
    assert "<html" not in html  # a fragment, not a page
    job_complete(job_id=job.pk)
    html = client.get(f"/jobs/{job.pk}/progress/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in html and 'aria-valuenow="100"' in html


def test_jobs_page_lists_jobs(ui_for):
    job_create(kind="import_events", total=10)
    html = ui_for("finance").get("/jobs/").content.decode()
    assert "import_events" in html


def test_unknown_page_is_a_friendly_404(ui_for):
    response = ui_for("finance").get("/no-such-page/")
    assert response.status_code == 404


def test_logout_requires_post_and_signs_out(ui_for):
    client = ui_for("finance")
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
