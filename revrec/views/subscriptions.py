"""The subscription metrics page (issue 17 §6): MRR/ARR and their movements per month, bookings vs
billings vs revenue, retention and the movements by customer — the report the API returns
(``revrec.reports.subscriptions``), with two charts and the CSV/XLSX downloads of the reports."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required

from revops.core.ui import require_area
from revrec.reports.common import add_months
from revrec.reports.mrr import KINDS
from revrec.views.display import POSITION, REVENUE, Amt, _reverse_or_none, lines_url
from revrec.views.reports import _report_page

LABELS = {
    "new": "New",
    "expansion": "Expansion",
    "contraction": "Contraction",
    "churn": "Churn",
    "reactivation": "Reactivation",
    "renewal": "Renewal uplift",
}
COLORS = {
    "new": "#0f7b4f",
    "expansion": "#5bb98c",
    "reactivation": "#1f4fd1",
    "renewal": "#9db3ee",
    "contraction": "#e0a040",
    "churn": "#b42318",
}


def _pct(value) -> str:
    return "—" if value is None else f"{value}%"


def _decorate(r: dict) -> dict:
    c = r["currency"]
    months = []
    for row in r["rows"]:
        p = row["period"]
        months.append(
            {
                **row,
                "m_opening": Amt(row["opening_mrr"], c),
                "m_moves": [Amt(row[k], c, quiet_zero=True) for k in KINDS],
                "m_net_new": Amt(row["net_new_mrr"], c, quiet_zero=True),
                "m_closing": Amt(row["closing_mrr"], c),
                "m_arr": Amt(row["closing_arr"], c),
                "m_arpa": Amt(row["arpa"], c, quiet_zero=True),
                "nrr_text": _pct(row["nrr"]),
                "grr_text": _pct(row["grr"]),
                "m_bookings": Amt(row["bookings"], c, quiet_zero=True),
                "m_billings": Amt(
                    row["billings"], c, lines_url(roles=POSITION, kind="billing", period=p, currency=c), True
                ),
                "m_revenue": Amt(row["revenue"], c, lines_url(roles=REVENUE, period=p, currency=c), True),
            }
        )
    t = r["totals"]
    start, end = r["start"], r["end"]
    customers = [
        {
            **x,
            "url": _reverse_or_none("customer", x["id"]),
            "m_opening": Amt(x["opening_mrr"], c, quiet_zero=True),
            "m_moves": [Amt(x[k], c, quiet_zero=True) for k in KINDS],
            "m_closing": Amt(x["closing_mrr"], c, quiet_zero=True),
        }
        for x in r["by_customer"]
    ]
    retention = r["retention"]
    return {
        "labels": [LABELS[k] for k in KINDS],
        "months_rows": months,
        "customers_rows": customers,
        "m_totals": [Amt(t[k], c, quiet_zero=True) for k in KINDS],
        "m_net_new": Amt(t["net_new_mrr"], c),
        "m_opening": Amt(r["opening_mrr"], c),
        "m_closing": Amt(r["closing_mrr"], c),
        "m_arr": Amt(r["closing_arr"], c),
        "m_bookings": Amt(t["bookings"], c),
        "m_billings": Amt(
            t["billings"], c, lines_url(roles=POSITION, kind="billing", start=start, end=end, currency=c)
        ),
        "m_revenue": Amt(t["revenue"], c, lines_url(roles=REVENUE, start=start, end=end, currency=c)),
        "retention": retention,
        "m_cohort_opening": Amt(retention["opening_mrr"], c),
        "m_cohort_closing": Amt(retention["closing_mrr"], c),
        "m_cohort_kept": Amt(retention["retained_mrr"], c),
        "nrr_text": _pct(retention["nrr"]),
        "grr_text": _pct(retention["grr"]),
        "last_month": r["months"][-1],
        "opening_month": add_months(start, -1),
        "mrr_chart": {
            "labels": r["months"],
            "movements": [
                {"label": LABELS[k], "color": COLORS[k], "data": [str(row[k]) for row in r["rows"]]}
                for k in KINDS
            ],
            "closing": [str(row["closing_mrr"]) for row in r["rows"]],
        },
        "money_chart": {
            "labels": r["months"],
            "bookings": [str(row["bookings"]) for row in r["rows"]],
            "billings": [str(row["billings"]) for row in r["rows"]],
            "revenue": [str(row["revenue"]) for row in r["rows"]],
        },
    }


@login_required
@require_area("reports")
def report_subscriptions(request):
    return _report_page(request, "subscription-metrics", "revrec/report_subscriptions.html", _decorate)
