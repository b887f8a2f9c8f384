"""The shared list helper (revops.core.listing): whitelisted sort keys with a total order, filters kept
in the URL, and CSV cells that are exact and harmless in a spreadsheet."""

from datetime import UTC, date, datetime
from decimal import Decimal

from django.test import RequestFactory

from revops.core.listing import Column, Listing, Sorting, csv_cell, csv_lines

SORTING = Sorting({"total": ("total",), "customer": ("customer__name", "billing_date")}, default="-total")


def test_only_whitelisted_sort_keys_are_applied_and_the_id_breaks_ties():
    assert SORTING.resolve("customer") == "customer"
    assert SORTING.resolve("-customer") == "-customer"
    for hostile in ("password", "customer__user__password", "--total", "", None, "id; drop"):
        assert SORTING.resolve(hostile) == "-total"
    assert SORTING.order_by("customer") == ["customer__name", "billing_date", "id"]
    assert SORTING.order_by("-customer") == ["-customer__name", "-billing_date", "-id"]


def test_sort_links_toggle_the_direction_and_keep_the_filters_but_not_the_page():
    request = RequestFactory().get("/invoices/", {"status": "all", "customer": "acme", "page": "3"})
    listing = Listing(page=None, sort="total", params=dict(request.GET.items()), path="/invoices/")
    assert listing.sort_url("total") == "/invoices/?status=all&customer=acme&sort=-total"
    assert listing.sort_url("customer") == "/invoices/?status=all&customer=acme&sort=customer"
    assert listing.direction("total") == "ascending" and listing.direction("customer") is None
    assert listing.csv_url == "/invoices/?status=all&customer=acme&format=csv"
    assert listing.query == "status=all&customer=acme"


def test_csv_cells_are_exact_decimals_iso_dates_and_neutralized_formulas():
    assert csv_cell(Decimal("0.1000000001")) == "0.1000000001"
    assert csv_cell(Decimal("1E+3")) == "1000"  # never scientific notation
    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert csv_cell(date(2026, 5, 1)) == "2026-05-01"
    assert csv_cell(datetime(2026, 5, 1, 12, 0, tzinfo=UTC)).startswith("2026-05-01T12:00:00")
    assert csv_cell(None) == "" and csv_cell(True) == "yes"
    for formula in ('=HYPERLINK("http://x")', "+1+1", "@SUM(A1)", "-2+3", "\t=1"):
        assert csv_cell(formula).startswith("'")
    assert csv_cell("-5") == "-5" and csv_cell("Acme, Inc.") == "Acme, Inc."


def test_csv_lines_write_a_header_then_one_quoted_line_per_row():
    rows = [{"name": 'Acme "Big", Inc.', "amount": Decimal("1234.5600")}, {"name": "=cmd", "amount": None}]
    text = "".join(csv_lines(rows, [Column("name", "name"), Column("amount", "amount")]))
    assert text == 'name,amount\r\n"Acme ""Big"", Inc.",1234.5600\r\n\'=cmd,\r\n'
