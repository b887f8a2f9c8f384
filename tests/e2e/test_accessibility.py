"""Issue 16 acceptance and §10: an axe-core pass over the main pages for each role that reads them, with
no serious or critical violation; and at 390 px wide the sidebar folds behind a menu button and wide
tables scroll inside their card, not the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import axe_source, serious_violations
from tests.e2e.book import build_book

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROLE_PAGES = {
    "finance": (
        "/",
        "/contracts/",
        "/contracts/{contract}/",
        "/invoices/?status=all",
        "/invoices/{invoice}/",
        "/approvals/",
        "/revenue/",
        "/compliance/periods/2026-10/",
        "/compliance/periods/2026-10/month-end/",
        "/compliance/audit/",
        "/revenue/reports/",
    ),
    "approver": ("/", "/approvals/", "/compliance/periods/2026-10/", "/compliance/audit/"),
    "auditor": (
        "/",
        "/invoices/{invoice}/",
        "/compliance/audit/",
        "/compliance/audit/?ref={number}",
        "/search/?q={number}",
        "/revenue/reports/",
    ),
    "pricing": ("/", "/pricing/plans/", "/pricing/catalog/"),
}


def _resolve(path: str) -> str | None:
    from django.urls import Resolver404, resolve

    try:
        resolve(path.split("?")[0])
    except Resolver404:
        return None
    return path


def test_main_pages_have_no_serious_accessibility_violations(login):
    book = build_book()
    source = axe_source()
    found, visited = {}, []
    for role, paths in ROLE_PAGES.items():
        page = login(role)
        for template in paths:
            path = _resolve(
                template.format(contract=book.active.pk, invoice=book.paid.pk, number=book.paid.number)
            )
            assert path is not None, f"{template} is not a page any more"
            response = page.goto(path)
            assert response.status == 200, (role, path, response.status)
            visited.append((role, path))
            violations = serious_violations(page, source)
            if violations:
                found[f"{role} {path}"] = violations
    assert len(visited) >= 20
    assert not found, found


def test_at_390px_the_sidebar_folds_behind_a_menu_and_tables_scroll_in_their_card(login, shot):
    book = build_book()
    page = login("finance")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/invoices/{book.paid.pk}/")
    menu = page.get_by_role("button", name="Menu")
    nav = page.locator("#main-nav")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    shot("390-menu-closed", keep="small-screen-menu-closed")
    menu.click()
    expect(nav).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    shot("390-menu-open", keep="small-screen-menu-open")
    menu.click()
    for path in (f"/invoices/{book.paid.pk}/", "/invoices/?status=all", "/contracts/", "/compliance/audit/"):
        page.goto(path)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, (path, width)  # the page itself never scrolls sideways
    shot("390-invoices")
    # Muted text and the sidebar focus ring meet WCAG AA (4.5:1 on the page background, 3:1 for a ring).
    muted = page.evaluate("() => getComputedStyle(document.querySelector('.muted')).color")
    assert muted == "rgb(91, 102, 118)", muted
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand link, in the sidebar
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineColor")
    assert ring == "rgb(157, 184, 255)", ring


def test_the_open_palette_and_the_record_pages_have_no_serious_violations(login, live_server):
    """The outside axe pass (palette open with results; invoice and contract pages; /favicon.ico):
    the palette's listbox holds only role=option items, no links inside them (aria-required-children,
    nested-interactive); a link in a <dd> is underlined (link-in-text-block); the favicon is served."""
    book = build_book()
    source = axe_source()
    page = login("finance")
    found = {}

    page.keyboard.press("Control+k")
    expect(page.locator("#palette")).to_be_visible()
    found["palette empty"] = serious_violations(page, source)
    page.keyboard.type("northwind")
    options = page.locator("#palette-list").get_by_role("option")
    expect(options.first).to_have_attribute("aria-selected", "true")
    assert options.count() >= 2
    assert page.locator("#palette-list a, #palette-list [tabindex]").count() == 0
    found["palette open"] = serious_violations(page, source)
    href = options.nth(1).get_attribute("data-href")
    options.nth(1).click()  # a click opens an option, as Enter does (tests/e2e/test_find_by_number.py)
    page.wait_for_url(f"**{href}")

    for path in (f"/invoices/{book.paid.pk}/", f"/contracts/{book.active.pk}/"):
        assert page.goto(path).status == 200
        customer = page.locator("dd a").filter(has_text="Northwind Traders").first
        underline = customer.evaluate("el => getComputedStyle(el).textDecorationLine")
        assert underline == "underline", (path, underline)
        found[path] = serious_violations(page, source)
    assert not {k: v for k, v in found.items() if v}, found

    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.status == 200
    assert icon.url.endswith("/static/img/favicon.svg")
    assert "image/svg+xml" in icon.headers["content-type"]
    assert page.locator("link[rel=icon]").get_attribute("href").endswith("img/favicon.svg")
