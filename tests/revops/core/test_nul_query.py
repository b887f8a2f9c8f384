"""A NUL character in a page's search or filter (review16 §2) is dropped before any view reads it: on
PostgreSQL it was a 500 (text cannot hold U+0000); the page answers with the rest of the value."""

import pytest

from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "path", "shown"),
    [
        ("finance", "/search/?q=ac%00", "ac"),
        ("finance", "/search/?q=1%00&palette=1", None),
        ("auditor", "/compliance/audit/?ref=a%00", "a"),
        ("approver", "/approvals/?requester=a%00", None),
        ("finance", "/invoices/?number=INV%00", "INV"),
    ],
)
def test_a_nul_in_a_page_filter_is_dropped_not_a_500(ui_for, role, path, shown):
    CustomerFactory(external_id="acme", name="Acme")
    response = ui_for(role).get(path)
    assert response.status_code == 200, path
    page = response.content.decode()
    assert "\x00" not in page and "%00" not in page
    if shown:
        assert f'value="{shown}"' in page
    if "q=ac" in path:
        assert "Acme" in page  # the search ran with the cleaned text


def test_the_api_still_refuses_a_nul_with_a_problem(api_for):
    response = api_for("finance").get("/api/v1/contracts?status=%00")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/problem+json")
