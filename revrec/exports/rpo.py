"""The remaining performance obligations (RPO) export, by time band."""

from __future__ import annotations

from revops.core.api.fields import money_str
from revrec.exports.workbook import Book, Column, Sheet


def rpo_book(report: dict) -> Book:
    labels = [b["label"] for b in report["bands"]]
    columns = [
        Column("Contract", width=18),
        Column("Customer", width=28),
        *[Column(b, "money") for b in labels],
        Column("Total", "money"),
    ]
    rows = [
        [c["number"], c["customer"], *[b["amount"] for b in c["bands"]], c["total"]]
        for c in report["by_contract"]
    ]
    totals = [["Total", "", *[b["amount"] for b in report["bands"]], report["total"]]]
    excluded = report["excluded"]
    sheet = Sheet(
        "RPO",
        columns,
        rows,
        totals,
        notes=[
            f"Remaining performance obligations as of {report['as_of'].isoformat()}, {report['currency']}",
            report["basis"],
            f"Not included: {excluded['usage_obligations']} usage obligation(s); "
            f"{excluded['awaiting_approval_obligations']} obligation(s) awaiting schedule approval "
            f"({money_str(excluded['awaiting_approval_amount'], report['currency'])} {report['currency']}).",
        ],
    )
    return Book(f"rpo-{report['as_of'].isoformat()}-{report['currency']}", report["currency"], [sheet])
