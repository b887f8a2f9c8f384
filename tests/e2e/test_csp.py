"""The strict Content-Security-Policy in a real browser: the pages that run the most script (charts,
bulk selection, the API docs) work, and chromium reports no violation (checked at teardown by the
``new_page`` fixture, with JavaScript errors)."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_under_the_policy(page):
    from playwright.sync_api import expect

    response = page.goto("/api/docs/")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Concord API")
    expect(page.locator(".opblock").first).to_be_visible()


def test_login_page_is_strict_and_signs_in(login, live_server):
    page = login("finance")
    response = page.goto("/usage/ingestion/")
    header = response.headers["content-security-policy"]
    assert "script-src 'self'" in header and "unsafe" not in header
    assert page.evaluate("typeof window.htmx") == "object"  # the vendored scripts loaded
    page.goto("/revenue/reports/deferred-revenue/")
    page.goto("/approvals/")


def test_django_admin_works_under_the_policy(page, live_server, make_user):
    """Django admin signs in and its user form (filter widgets, date-time shortcuts) renders without
    a CSP violation; a wrong password is counted there too."""
    from playwright.sync_api import expect

    root = make_user("root", "admin", password="Root-pass-9911")
    root.is_staff = True
    root.save()
    page.goto("/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "Root-pass-9911")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"/admin/auth/user/{root.pk}/change/")
    expect(page.locator("#id_groups_from, #id_groups")).not_to_have_count(0)
    expect(page.locator(".datetimeshortcuts").first).to_be_visible()
    page.goto("/admin/core/apitoken/")
    expect(page.locator("#changelist")).to_be_visible()
