"""The subscription metrics export: MRR movements by month (with bookings, billings and revenue), the
movements by customer over the range, and retention."""

from __future__ import annotations

from revrec.exports.workbook import Book, Column, Sheet

MOVEMENTS = (
    ("new", "New"),
    ("expansion", "Expansion"),
    ("contraction", "Contraction"),
    ("churn", "Churn"),
    ("reactivation", "Reactivation"),
    ("renewal", "Renewal uplift"),
)


def _pct(value) -> str:
    return "" if value is None else str(value)


def subscription_book(report: dict) -> Book:
    currency, start, end = report["currency"], report["start"], report["end"]
    title = f"Subscription metrics {start} to {end} (end exclusive), {currency}"
    notes = [title, report["basis"], report["usage_note"]]
    columns = [
        Column("Month", width=10),
        Column("Opening MRR", "money"),
        *[Column(label, "money") for _k, label in MOVEMENTS],
        Column("Net new MRR", "money"),
        Column("Closing MRR", "money"),
        Column("Closing ARR", "money"),
        Column("Ties", width=6),
        Column("Paying customers", "int"),
        Column("ARPA", "money"),
        Column("NRR %", "percent"),
        Column("GRR %", "percent"),
        Column("Bookings", "money"),
        Column("Billings", "money"),
        Column("Revenue", "money"),
    ]
    rows = [
        [
            r["period"],
            r["opening_mrr"],
            *[r[k] for k, _l in MOVEMENTS],
            r["net_new_mrr"],
            r["closing_mrr"],
            r["closing_arr"],
            "yes" if r["ties"] else "NO",
            r["customers"],
            r["arpa"],
            _pct(r["nrr"]),
            _pct(r["grr"]),
            r["bookings"],
            r["billings"],
            r["revenue"],
        ]
        for r in report["rows"]
    ]
    t = report["totals"]
    retention = report["retention"]
    totals = [
        [
            "Range",
            report["opening_mrr"],
            *[t[k] for k, _l in MOVEMENTS],
            t["net_new_mrr"],
            report["closing_mrr"],
            report["closing_arr"],
            "yes" if report["ties"] else "NO",
            report["customers"],
            "",
            _pct(retention["nrr"]),
            _pct(retention["grr"]),
            t["bookings"],
            t["billings"],
            t["revenue"],
        ]
    ]
    by_month = Sheet("MRR movements", columns, rows, totals, notes=notes)
    by_customer = Sheet(
        "By customer",
        [
            Column("Customer", width=28),
            Column("External id", width=18),
            Column("Opening MRR", "money"),
            *[Column(label, "money") for _k, label in MOVEMENTS],
            Column("Closing MRR", "money"),
        ],
        [
            [c["name"], c["external_id"], c["opening_mrr"], *[c[k] for k, _l in MOVEMENTS], c["closing_mrr"]]
            for c in report["by_customer"]
        ],
        notes=notes,
    )
    summary = Sheet(
        "Retention",
        [Column("Line", width=52), Column("Amount", "money"), Column("Count or %", width=12)],
        [
            [f"Customers with MRR at the end of the month before {start}", None, retention["customers"]],
            ["Their MRR then (opening)", retention["opening_mrr"], ""],
            [f"Their MRR at the end of {report['months'][-1]}", retention["closing_mrr"], ""],
            ["Their MRR kept, each capped at its opening MRR", retention["retained_mrr"], ""],
            ["Net revenue retention %", None, _pct(retention["nrr"])],
            ["Gross revenue retention %", None, _pct(retention["grr"])],
        ],
        notes=notes,
    )
    return Book(f"subscription-metrics-{start}-{end}-{currency}", currency, [by_month, by_customer, summary])
