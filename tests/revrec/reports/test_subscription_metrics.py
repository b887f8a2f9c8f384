"""Subscription metrics from the contract model (issue 17 §6; accounting.md "Subscription metrics"):
golden figures for each movement kind, the annual ÷ 12 normalization, coupons, one-time fees, currencies
kept apart, NRR/GRR and bookings — on contracts made and changed through the services — and the API
(RFC 9457 for bad parameters, CSV/XLSX) and the page.

The world (USD unless said), contracts activated today (so booked at their start, which is earlier):
- Expand: 200.00/month from 2026-01-01; quantity 1 → 2 from 2026-03-15 (MRR 400.00 at the end of March).
- Contract: two contracts, 300.00 and 50.00 from 2026-01-01; the 50.00 one terminated on 2026-03-10.
- Churn: 80.00 from 2026-01-01, terminated on 2026-03-20.
- React: 60.00 for 2026-01-01 → 2026-03-01 (in force on 28 Feb, not on 31 Mar), then 70.00 from 2026-05-01.
- Annual: a yearly plan at 1,000.00 from 2026-01-01: 83.333… a month, 83.33 at the contract.
- Coupon: 150.00 from 2026-01-01; a 10 % forever coupon from 2026-04-01 (−15.00), a 50 % coupon
  repeating for 3 periods from 2026-01-01 (limited duration: no effect on MRR).
- New: 100.00/month and a 500.00 one-time fee (never MRR) from 2026-02-01.
- Euro: 999.00 EUR from 2026-01-01 — only in the EUR report.

MRR at month ends: Jan 923.33 (new: 200 + 350 + 80 + 60 + 83.33 + 150), Feb 1,023.33 (new 100),
Mar 1,033.33 (expansion +200, contraction −50, churn −80 −60), Apr 1,018.33 (contraction −15),
May 1,088.33 (reactivation +70), Jun 1,088.33.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from revrec import exports
from revrec.reports.subscriptions import subscription_metrics
from tests.builders import built_once
from tests.revrec.subscriptions_world import build

D = Decimal
pytestmark = pytest.mark.django_db
KINDS = ("new", "expansion", "contraction", "churn", "reactivation", "renewal")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with built_once(django_db_blocker):
        yield build()


@pytest.fixture(scope="module")
def report(world, django_db_blocker):
    with django_db_blocker.unblock():
        return subscription_metrics(start="2026-01", end="2026-07", currency="USD")


def _row(report, period):
    return next(r for r in report["rows"] if r["period"] == period)


def _moves(row):
    return {k: row[k] for k in KINDS if row[k]}


def test_each_movement_kind_golden(report):
    assert [(_row(report, m)["opening_mrr"], _row(report, m)["closing_mrr"]) for m in report["months"]] == [
        (D("0"), D("923.33")),
        (D("923.33"), D("1023.33")),
        (D("1023.33"), D("1033.33")),
        (D("1033.33"), D("1018.33")),
        (D("1018.33"), D("1088.33")),
        (D("1088.33"), D("1088.33")),
    ]
    assert _moves(_row(report, "2026-01")) == {"new": D("923.33")}
    assert _moves(_row(report, "2026-02")) == {"new": D("100.00")}
    assert _moves(_row(report, "2026-03")) == {
        "expansion": D("200.00"),
        "contraction": D("-50.00"),
        "churn": D("-140.00"),
    }
    assert _moves(_row(report, "2026-04")) == {"contraction": D("-15.00")}
    assert _moves(_row(report, "2026-05")) == {"reactivation": D("70.00")}
    assert _moves(_row(report, "2026-06")) == {}
    assert report["ties"] and all(r["ties"] for r in report["rows"])
    assert _row(report, "2026-06")["closing_arr"] == D("13059.96")  # 1,088.33 × 12
    assert [_row(report, m)["customers"] for m in report["months"]] == [6, 7, 5, 5, 6, 6]


def test_by_customer_golden(report):
    rows = {c["name"]: c for c in report["by_customer"]}
    assert set(rows) == {"Expand", "Contract", "Churn", "React", "Annual", "Coupon", "New"}  # not Euro
    assert {k: rows["Expand"][k] for k in ("new", "expansion", "closing_mrr")} == {
        "new": D("200.00"),
        "expansion": D("200.00"),
        "closing_mrr": D("400.00"),
    }
    assert (rows["Contract"]["contraction"], rows["Contract"]["closing_mrr"]) == (D("-50.00"), D("300.00"))
    assert (rows["Churn"]["churn"], rows["Churn"]["closing_mrr"]) == (D("-80.00"), D("0"))
    assert (rows["React"]["new"], rows["React"]["churn"], rows["React"]["reactivation"]) == (
        D("60.00"),
        D("-60.00"),
        D("70.00"),
    )
    assert rows["Annual"]["closing_mrr"] == D("83.33")  # 1,000.00 a year ÷ 12, rounded once
    assert (rows["Coupon"]["new"], rows["Coupon"]["contraction"]) == (D("150.00"), D("-15.00"))
    assert rows["New"]["closing_mrr"] == D("100.00")  # the one-time 500.00 never counts


def test_retention_golden(world):
    report = subscription_metrics(start="2026-02", end="2026-07", currency="USD")
    # Cohort at the end of January: 923.33; at the end of June the same customers pay
    # 400 + 300 + 0 + 70 + 83.33 + 135 = 988.33; capped at their opening: 200 + 300 + 0 + 60 + 83.33 + 135.
    assert report["retention"] == {
        "customers": 6,
        "opening_mrr": D("923.33"),
        "closing_mrr": D("988.33"),
        "retained_mrr": D("778.33"),
        "nrr": D("107.04"),
        "grr": D("84.30"),
    }
    months = {r["period"]: (r["nrr"], r["grr"]) for r in report["rows"]}
    assert months == {
        "2026-02": (D("100.00"), D("100.00")),  # only new MRR: retention untouched
        "2026-03": (D("100.98"), D("81.43")),  # (1,023.33 + 200 − 50 − 140) ÷ 1,023.33; (1,023.33 − 190) ÷ …
        "2026-04": (D("98.55"), D("98.55")),
        "2026-05": (D("100.00"), D("100.00")),  # a reactivation is not retention
        "2026-06": (D("100.00"), D("100.00")),
    }
    assert subscription_metrics(start="2026-01", end="2026-02", currency="USD")["retention"]["nrr"] is None


def test_bookings_golden(report):
    bookings = {m: _row(report, m)["bookings"] for m in report["months"]}
    assert bookings == {
        # 2,400 + 3,600 + 600 + 960 + 120 + 1,000 + 1,800 (Euro is in EUR)
        "2026-01": D("10480.00"),
        "2026-02": D("1700.00"),  # New: 12 × 100 + 500 one-time
        # Expand: 4,309.67 − 2,400 = +1,909.67 (revision 1: 400 + 200 × 14/31 = 90.32; revision 2:
        # 400 × 17/31 = 219.35 + 9 × 400, each period rounded once); the 50.00 contract:
        # 100 + 50 × 9/31 = 114.52 − 600 = −485.48; Churn: 160 + 80 × 19/31 = 209.03 − 960 = −750.97
        "2026-03": D("673.22"),
        "2026-04": D("0.00"),
        "2026-05": D("840.00"),  # React's second contract
        "2026-06": D("0.00"),
    }


def test_currencies_are_never_added(world):
    euro = subscription_metrics(start="2026-01", end="2026-03", currency="EUR")
    assert [r["closing_mrr"] for r in euro["rows"]] == [D("999.00"), D("999.00")]
    assert [c["name"] for c in euro["by_customer"]] == ["Euro"]
    assert euro["rows"][0]["bookings"] == D("11988.00")


def test_export_csv_and_xlsx(report):
    book = exports.subscription_book(report)
    rows = list(csv.reader(io.StringIO(exports.to_csv(book))))
    assert rows[0][:9] == [
        "Month",
        "Opening MRR",
        "New",
        "Expansion",
        "Contraction",
        "Churn",
        "Reactivation",
        "Renewal uplift",
        "Net new MRR",
    ]
    march = next(r for r in rows if r[0] == "2026-03")
    assert march[1:9] == ["1023.33", "0.00", "200.00", "-50.00", "-140.00", "0.00", "0.00", "10.00"]
    assert rows[-1][0] == "Range" and rows[-1][1] == "0.00" and rows[-1][9] == "1088.33"
    wb = load_workbook(io.BytesIO(exports.to_xlsx(book)))
    assert wb.sheetnames == ["MRR movements", "By customer", "Retention"]


# --- API and page -------------------------------------------------------------------------------------------


def test_api_report(world, api_for):
    api = api_for("finance")
    body = api.get("/api/v1/reports/subscription-metrics?start=2026-03&end=2026-04&currency=USD").json()
    assert body["currency"] == "USD" and body["ties"] is True
    (march,) = body["months"]
    assert {k: march[k] for k in ("opening_mrr", "expansion", "contraction", "churn", "closing_mrr")} == {
        "opening_mrr": "1023.33",
        "expansion": "200.00",
        "contraction": "-50.00",
        "churn": "-140.00",
        "closing_mrr": "1033.33",
    }
    assert (march["nrr"], march["grr"], march["closing_arr"]) == ("100.98", "81.43", "12399.96")
    assert "three-month average" in body["usage_note"]
    csv_response = api.get("/api/v1/reports/subscription-metrics?start=2026-03&end=2026-04&format=csv")
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    xlsx = api.get("/api/v1/reports/subscription-metrics?start=2026-03&end=2026-04&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("end=2026-04", "start"),
        ("start=2026-13&end=2027-01", "start"),
        ("start=2026-04&end=2026-04", "end"),
        ("start=2016-01&end=2026-04", "end"),
        ("start=2026-01&end=2026-04&currency=XYZ", "currency"),
        ("start=2026-01&end=2026-04&curency=EUR", "curency"),
    ],
)
def test_api_bad_parameters_are_rfc9457_problems(world, api_for, query, field):
    response = api_for("finance").get(f"/api/v1/reports/subscription-metrics?{query}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 400 and problem["type"].endswith("/validation-error")
    assert [e["field"] for e in problem["errors"]] == [field]


def test_api_needs_a_signed_in_client(world):
    response = APIClient().get("/api/v1/reports/subscription-metrics?start=2026-01&end=2026-02")
    assert response.status_code in (401, 403)


def test_page_shows_the_bridge_the_usage_note_and_the_downloads(world, client, make_user):
    client.force_login(make_user("fin", "finance"))
    page = client.get("/revenue/reports/subscription-metrics/?start=2026-01&end=2026-07&currency=USD")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Usage-priced lines" in html and "trailing three-month average" in html
    assert "1,088.33" in html and "13,059.96" in html  # closing MRR and ARR
    assert "download.csv" in html and "download.xlsx" in html
    assert 'data-chart="mrr"' in html and 'data-chart="bookings"' in html
    assert "Subscription metrics" in client.get("/revenue/reports/").content.decode()
    download = client.get(
        "/revenue/reports/subscription-metrics/download.csv?start=2026-01&end=2026-07&currency=USD"
    )
    assert download.status_code == 200 and b"1088.33" in download.content
    bad = client.get("/revenue/reports/subscription-metrics/?start=2026-07&end=2026-01")
    assert bad.status_code == 400 and "end period must be after" in bad.content.decode()
