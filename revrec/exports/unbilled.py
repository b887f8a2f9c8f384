"""The unbilled receivables export, with its ageing buckets."""

from __future__ import annotations

from revrec.exports.workbook import Book, Column, Sheet


def unbilled_book(report: dict) -> Book:
    buckets = [b["label"] for b in report["buckets"]]
    columns = [
        Column("Contract", width=18),
        Column("Customer", width=28),
        Column("Obligation", width=18),
        Column("Product"),
        Column("Recognized", "money"),
        Column("Billed", "money"),
        Column("Unbilled", "money"),
        Column("Oldest period"),
        Column("Age (days)", "int"),
        *[Column(b, "money") for b in buckets],
    ]
    rows = [
        [
            r["number"],
            r["customer"],
            r["po_key"],
            r["product"],
            r["recognized"],
            r["billed"],
            r["amount"],
            r["oldest_period"],
            r["age_days"],
            *[b["amount"] for b in r["buckets"]],
        ]
        for r in report["rows"]
    ]
    totals = [
        [
            "Total",
            "",
            "",
            "",
            None,
            None,
            report["total"],
            "",
            None,
            *[b["amount"] for b in report["buckets"]],
        ]
    ]
    sheet = Sheet(
        "Unbilled receivables",
        columns,
        rows,
        totals,
        notes=[
            f"Unbilled receivables at {report['as_of'].isoformat()}, {report['currency']}",
            report["basis"],
        ],
    )
    return Book(f"unbilled-receivables-{report['period']}-{report['currency']}", report["currency"], [sheet])
