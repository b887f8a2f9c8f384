"""Revenue reports (issue 6 §8) against hand-computed figures on a two-contract ledger (see
reports_world.py), their tie-outs to the journal, and the CSV/XLSX exports.

Hand computation (USD):
- A platform, 1,200.00 ratable daily over 365 days: Jan round(1200×31/365)=101.92, Feb 193.97−101.92=92.05,
  Mar 295.89−193.97=101.92; billed 100.00 in Jan and Feb. A onboarding 1,200.00 billed and recognized
  in Jan. A usage: January calls (5.00) billed in Feb, recognized in Jan.
- B support, 3,600.00 ratable daily over 1,096 days: Jan round(3600×31/1096)=101.82, Feb
  193.80−101.82=91.98, Mar 295.62−193.80=101.82; billed 3,600.00 in Jan.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from revrec import exports, reports
from revrec.models import JournalLine
from tests.revrec import reports_world as _world
from tests.revrec.reports_world import FORMULA_NAME, URLS

world = _world.world  # the shared fixture

D = Decimal
pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


def ledger(*, roles, period=None, through=None, billing_only=False, contract=None) -> Decimal:
    """credit − debit over journal lines, computed independently of revrec.reports."""
    qs = JournalLine.objects.filter(account__role__in=roles)
    if period:
        qs = qs.filter(entry__period=period)
    if through:
        qs = qs.filter(entry__period__lte=through)
    if billing_only:
        qs = qs.filter(entry__source__in=["invoice", "credit_note", "reversal"])
    if contract is not None:
        qs = qs.filter(contract=contract)
    t = qs.aggregate(c=Sum("credit"), d=Sum("debit"))
    return (t["c"] or D(0)) - (t["d"] or D(0))


# --- pure FIFO attribution -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_fifo_matches_earliest_billing_first():
    cells = reports.attribute_fifo(
        [("2026-01", D("100")), ("2026-02", D("100"))],
        [("2026-01", D("101.92")), ("2026-02", D("92.05")), ("2026-03", D("101.92"))],
    )
    assert cells == {
        ("2026-01", "2026-01"): D("100"),
        ("2026-02", "2026-01"): D("1.92"),
        ("2026-02", "2026-02"): D("92.05"),
        ("2026-02", "2026-03"): D("6.03"),
    }


@pytest.mark.django_db(transaction=False)
def test_fifo_void_and_reversal_count_negative_where_they_undo():
    # Billed 100 in Jan, voided in Feb; 30 recognized in Feb: the void cancels the Jan attribution and
    # the 30 becomes "not yet billed" (the callers' remainder).
    cells = reports.attribute_fifo([("2026-01", D("100")), ("2026-02", D("-100"))], [("2026-02", D("30"))])
    assert cells == {("2026-01", "2026-02"): D("30"), ("2026-02", "2026-02"): D("-30")}
    # A reversed recognition hands the billing back (stays deferred).
    cells = reports.attribute_fifo([("2026-01", D("100"))], [("2026-01", D("30")), ("2026-02", D("-10"))])
    assert cells == {("2026-01", "2026-01"): D("30"), ("2026-01", "2026-02"): D("-10")}


# --- waterfall -------------------------------------------------------------------------------------------


def test_waterfall_hand_computed_and_totals_equal_billed_and_recognized(world):
    body = world["finance"].get("/api/v1/reports/waterfall?start=2026-01&end=2026-04").json()
    assert body["currency"] == "USD" and body["months"] == ["2026-01", "2026-02", "2026-03"]
    rows = {r["billed_period"]: r for r in body["rows"]}
    assert [c["amount"] for c in rows["2026-01"]["cells"]] == ["1401.82", "91.98", "101.82"]
    assert rows["2026-01"]["deferred"] == "3304.38" and rows["2026-01"]["total"] == "4900.00"
    assert [c["amount"] for c in rows["2026-02"]["cells"]] == ["6.92", "92.05", "6.03"]
    assert rows["2026-02"]["total"] == "105.00"
    assert rows["2026-03"]["total"] == "0.00"
    assert [c["amount"] for c in rows["unbilled"]["cells"]] == ["0.00", "0.00", "95.89"]
    assert [c["amount"] for c in body["totals"]["cells"]] == ["1408.74", "184.03", "203.74"]
    # Row totals = billed in the month, column totals = recognized in the month (from the journal).
    for period in ("2026-01", "2026-02", "2026-03"):
        billed = ledger(roles=["deferred", "unbilled"], period=period, billing_only=True)
        assert D(rows[period]["total"]) == billed
        column = next(c for c in body["totals"]["cells"] if c["period"] == period)
        assert D(column["amount"]) == ledger(roles=["revenue", "revenue_sub"], period=period)
    # Not yet billed = unbilled receivables; deferred column = deferred revenue, at the end of the range.
    assert D(rows["unbilled"]["total"]) == -ledger(roles=["unbilled"], through="2026-03")
    assert D(body["totals"]["deferred"]) == ledger(roles=["deferred"], through="2026-03")
    assert "first-in, first-out" in body["basis"]


def test_waterfall_range_after_billing_shows_earlier_billings_in_one_row(world):
    report = reports.waterfall(start="2026-03", end="2026-04", currency="USD")
    rows = {r["billed_period"]: r for r in report["rows"]}
    assert rows["before"]["label"] == "Billed before 2026-03"
    assert rows["before"]["total"] == D("5005.00")  # all billing of Jan and Feb
    assert rows["before"]["recognized_before"] == D("1592.77")  # recognized Jan + Feb
    assert rows["before"]["cells"][0]["amount"] == D("107.85")  # 101.82 + 6.03 in March
    assert report["totals"]["cells"][0]["amount"] == D("203.74")


# --- deferred revenue rollforward -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "opening", "billed", "recognized", "closing", "assets", "liabilities"),
    [
        ("2026-01", "0.00", "4900.00", "1408.74", "3491.26", "6.92", "3498.18"),
        ("2026-02", "3491.26", "105.00", "184.03", "3412.23", "0.00", "3412.23"),
        ("2026-03", "3412.23", "0.00", "203.74", "3208.49", "95.89", "3304.38"),
    ],
)
def test_rollforward_hand_computed_and_ties_to_journal(
    world, period, opening, billed, recognized, closing, assets, liabilities
):
    body = world["finance"].get(f"/api/v1/reports/deferred-revenue?period={period}").json()
    assert (body["period"], body["currency"]) == (period, "USD")
    assert (body["opening"], body["billed"], body["recognized"], body["closing"]) == (
        opening,
        billed,
        recognized,
        closing,
    )
    assert (body["contract_assets"], body["contract_liabilities"]) == (assets, liabilities)
    assert body["tie_out"]["ties"] is True and body["tie_out"]["difference"] == "0.00"
    # Closing equals the net deferred − unbilled balance of the journal at period end.
    assert D(body["closing"]) == ledger(roles=["deferred", "unbilled"], through=period)
    by_contract = {c["number"]: c for c in body["by_contract"]}
    for contract in (world["a"], world["b"]):
        row = by_contract[contract.number]
        assert D(row["opening"]) + D(row["billed"]) - D(row["recognized"]) == D(row["closing"])
        assert D(row["closing"]) == ledger(roles=["deferred", "unbilled"], through=period, contract=contract)
        assert row["ties"] is True
    if period == "2026-03":
        a = by_contract[world["a"].number]
        assert (a["closing"], a["position"], a["contract_asset"]) == ("-95.89", "asset", "95.89")
        assert by_contract[world["b"].number]["position"] == "liability"


def test_rollforward_currency_defaults_and_validates(world):
    finance = world["finance"]
    assert (
        finance.get("/api/v1/reports/deferred-revenue?period=2026-03&currency=EUR").json()["closing"]
        == "0.00"
    )
    bad = finance.get("/api/v1/reports/deferred-revenue?period=2026-13")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "period"
    assert finance.get("/api/v1/reports/deferred-revenue").status_code == 400
    assert finance.get("/api/v1/reports/deferred-revenue?period=2026-03&currency=XXQ").status_code == 400


# --- unbilled, RPO, revenue by ------------------------------------------------------------------------------


def test_unbilled_receivables_per_obligation_with_age(world):
    body = world["finance"].get("/api/v1/reports/unbilled?period=2026-04").json()
    assert body["total"] == "95.89" and body["ledger_balance"] == "95.89" and body["ties"] is True
    assert (body["billed_ahead"], body["net"], body["ledger_net"]) == ("3304.38", "-3208.49", "-3208.49")
    (row,) = body["results"]
    assert (row["number"], row["performance_obligation"], row["product"]) == (
        world["a"].number,
        "platform",
        "platform",
    )
    assert (row["recognized"], row["billed"], row["amount"]) == ("295.89", "200.00", "95.89")
    assert (row["oldest_period"], row["age_days"]) == ("2026-03", 30)
    assert {b["label"]: b["amount"] for b in row["buckets"]}["0-30 days"] == "95.89"
    # At the end of February everything recognized had been billed.
    assert world["finance"].get("/api/v1/reports/unbilled?period=2026-02").json()["results"] == []
    # End of January: platform (101.92 recognized, 100.00 billed) and January usage (billed in February)
    # are unbilled. The January revenue run was posted after the February invoice: it splits against
    # the balances as of 31 January (so the 1200 account shows the 6.92 then) and a correction dated at
    # the February invoice nets that invoice's deferred revenue against it from then on.
    jan = world["finance"].get("/api/v1/reports/unbilled?period=2026-01").json()
    assert {r["performance_obligation"]: r["amount"] for r in jan["results"]} == {
        "platform": "1.92",
        "platform-usage": "5.00",
    }
    assert jan["ties"] is True and jan["matches_unbilled_account"] is True and jan["ledger_balance"] == "6.92"
    assert jan["net"] == jan["ledger_net"] == "-3491.26"


def test_rpo_bands_from_approved_schedules(world):
    body = world["finance"].get("/api/v1/reports/rpo?as_of=2026-03-31").json()
    # A platform: 1,200.00 − 295.89 over Apr–Dec 2026 (months 1–9). B support: cumulative cut-offs
    # round(3600×d/1096) at 2026-04-01 (90 d) 295.62, 2027-04-01 (455 d) 1,494.53, 2028-04-01 (821 d) 2,696.72.
    assert body["bands"] == [
        {"label": "0-12 months", "amount": "2103.02"},  # 904.11 + (1494.53 − 295.62)
        {"label": "13-24 months", "amount": "1202.19"},  # 2696.72 − 1494.53
        {"label": "over 24 months", "amount": "903.28"},  # 3600.00 − 2696.72
    ]
    assert body["total"] == "4208.49" and body["as_of"] == "2026-03-31"
    assert body["excluded"]["usage_obligations"] == 1
    assert "Usage obligations are excluded" in body["basis"]
    # Earlier as-of: March (entry dated 31 March) is not recognized yet on 15 March.
    early = world["finance"].get("/api/v1/reports/rpo?as_of=2026-03-15").json()
    assert D(early["total"]) == D("4208.49") + D("101.92") + D("101.82")
    assert world["finance"].get("/api/v1/reports/rpo?as_of=2026-02-30").status_code == 400


def test_revenue_by_product_and_customer(world):
    finance = world["finance"]
    body = finance.get("/api/v1/reports/revenue?start=2026-01&end=2026-04&group_by=product").json()
    by = {g["key"]: g for g in body["results"]}
    assert by["platform"]["net"] == "591.51"  # 295.89 + 295.62
    assert by["onboarding"]["net"] == "1200.00" and by["api"]["net"] == "5.00"
    assert body["net"] == "1796.51"
    assert D(body["net"]) == ledger(roles=["revenue", "revenue_sub"], through="2026-03")
    customers = finance.get("/api/v1/reports/revenue?start=2026-01&end=2026-04&group_by=customer").json()
    assert {g["name"]: g["net"] for g in customers["results"]} == {"Alpha": "1500.89", FORMULA_NAME: "295.62"}
    assert finance.get("/api/v1/reports/revenue?start=2026-04&end=2026-01").status_code == 400
    assert finance.get("/api/v1/reports/revenue?start=2026-01&end=2026-04&group_by=region").status_code == 400


def test_trial_balance_balances(world):
    report = reports.trial_balance(start="2026-01", end="2026-04", currency="USD")
    assert report["balanced"]
    assert report["totals"]["debits"] == report["totals"]["credits"]
    by = {a["code"]: a for a in report["accounts"]}
    assert by["4000"]["closing"] == D("-1796.51") and by["1200"]["closing"] == D("95.89")


# --- exports -------------------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode())))


def test_csv_is_exact_and_neutralizes_formulas(world):
    response = world["finance"].get("/api/v1/reports/deferred-revenue?period=2026-03&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0][:6] == ["Contract", "Customer", "Opening", "Billed", "Recognized", "Closing"]
    beta = next(r for r in rows if r[0] == world["b"].number)
    assert beta[1] == "'" + FORMULA_NAME  # formula-injection guard
    assert beta[2:6] == ["3406.20", "0.00", "101.82", "3304.38"]
    assert rows[-1][:6] == ["Total", "", "3412.23", "0.00", "203.74", "3208.49"]
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_xlsx_opens_and_has_the_same_totals(world):
    finance = world["finance"]
    response = finance.get("/api/v1/reports/waterfall?start=2026-01&end=2026-04&format=xlsx")
    assert response.status_code == 200 and response["Content-Type"] == exports.XLSX_TYPE
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb.worksheets[0]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    header = next(i for i, r in enumerate(values) if r[0] == "Billed month")
    total = next(r for r in values if r[0] == "Total recognized")
    cols = values[header]
    assert total[cols.index("2026-01")] == pytest.approx(1408.74)
    assert Decimal(str(total[cols.index("2026-03")])) == D("203.74")
    assert ws.cell(row=header + 2, column=cols.index("2026-01") + 1).number_format.startswith("#,##0.00")
    rollforward = load_workbook(
        io.BytesIO(finance.get("/api/v1/reports/deferred-revenue?period=2026-03&format=xlsx").content)
    )
    by_contract = [[c.value for c in r] for r in rollforward["By contract"].iter_rows()]
    assert Decimal(str(by_contract[-1][5])) == D("3208.49")
    beta = next(r for r in by_contract if r[0] == world["b"].number)
    assert beta[1] == "'" + FORMULA_NAME and rollforward["By contract"].cell(row=1, column=1).data_type == "s"
    assert "Summary" in rollforward.sheetnames
    for url in (
        "/api/v1/reports/unbilled?period=2026-04&format=xlsx",
        "/api/v1/reports/rpo?as_of=2026-03-31&format=xlsx",
        "/api/v1/reports/revenue?start=2026-01&end=2026-04&group_by=customer&format=xlsx",
        "/api/v1/reports/trial-balance?start=2026-01&end=2026-04&format=xlsx",
    ):
        response = finance.get(url)
        assert response.status_code == 200, url
        load_workbook(io.BytesIO(response.content))
    assert finance.get("/api/v1/reports/rpo?as_of=2026-03-31&format=pdf").status_code in (400, 404)


def test_journal_export_csv_and_xlsx(world):
    finance = world["finance"]
    rows = _csv(finance.get("/api/v1/reports/journal-entries?start=2026-01&end=2026-04&format=csv"))
    assert rows[0][:12] == [
        "entry", "date", "period", "source", "memo", "account", "debit", "credit", "currency", "contract",
        "performance_obligation", "product",
    ]  # fmt: skip
    body = rows[1:]
    assert len(body) == JournalLine.objects.count()
    assert sum(D(r[6]) for r in body) == sum(D(r[7]) for r in body)
    assert all(r[6].count(".") == 1 and len(r[6].split(".")[1]) == 2 for r in body)
    wb = load_workbook(
        io.BytesIO(finance.get("/api/v1/reports/journal-entries?period=2026-03&format=xlsx").content)
    )
    ws = wb["Journal"]
    lines = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(lines) == JournalLine.objects.filter(entry__period="2026-03").count()
    assert sum(D(str(r[6] or 0)) for r in lines) == sum(D(str(r[7] or 0)) for r in lines)
    assert finance.get("/api/v1/reports/journal-entries?bogus=1").status_code == 400


def test_reports_need_a_role_and_auditors_can_read(world, api_for, client):
    assert client.get("/api/v1/reports/rpo").status_code == 401
    auditor = api_for("auditor")
    assert auditor.get(f"/api/v1/reports/rpo?as_of={date(2026, 3, 31).isoformat()}").status_code == 200


def test_no_obligation_is_both_a_contract_asset_and_a_liability_on_any_date(world):
    """Whatever order invoices and revenue runs were posted in, at every date an obligation's position
    sits on one side: deferred revenue (credit) or unbilled receivable (debit), never both."""
    from revrec.services.ledger import balances_by_obligation

    lines = JournalLine.objects.filter(account__role__in=["deferred", "unbilled"], obligation__isnull=False)
    ids = sorted(set(lines.values_list("obligation_id", flat=True)))
    dates = sorted(set(lines.values_list("entry__date", flat=True)))
    assert ids and len(dates) > 3
    corrections = JournalLine.objects.filter(entry__source="correction", entry__source_key__startswith="net:")
    assert corrections.exists()  # this world posts a revenue run after a later invoice
    for day in dates:
        deferred = balances_by_obligation("deferred", ids, through=day)
        unbilled = balances_by_obligation("unbilled", ids, through=day)
        both = [po for po in ids if -deferred[po] > 0 and unbilled[po] > 0]
        assert not both, (day, {po: (deferred[po], unbilled[po]) for po in both})
