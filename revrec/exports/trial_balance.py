"""The trial balance export."""

from __future__ import annotations

from revrec.exports.workbook import Book, Column, Sheet


def trial_balance_book(report: dict) -> Book:
    columns = [
        Column("Account"),
        Column("Name", width=36),
        Column("Opening", "money"),
        Column("Debits", "money"),
        Column("Credits", "money"),
        Column("Closing", "money"),
    ]
    rows = [
        [a["code"], a["name"], a["opening"], a["debits"], a["credits"], a["closing"]]
        for a in report["accounts"]
    ]
    t = report["totals"]
    totals = [["Total", "", t["opening"], t["debits"], t["credits"], t["closing"]]]
    sheet = Sheet(
        "Trial balance",
        columns,
        rows,
        totals,
        notes=[
            f"Trial balance {report['start']} to {report['end']} (end exclusive), {report['currency']}",
            report["basis"],
        ],
    )
    return Book(
        f"trial-balance-{report['start']}-{report['end']}-{report['currency']}", report["currency"], [sheet]
    )
