"""The revenue-by-product or by-customer export."""

from __future__ import annotations

from decimal import Decimal

from revrec.exports.workbook import Book, Column, Sheet


def revenue_book(report: dict) -> Book:
    title = "Product" if report["group_by"] == "product" else "Customer"
    columns = [
        Column(f"{title} code" if title == "Product" else "Customer id", width=18),
        Column(title, width=30),
        Column("Recognized", "money"),
        Column("Contra (credit notes)", "money", 20),
        Column("Net revenue", "money"),
        Column("Share of net %", "percent"),
    ]
    rows = [
        [g["code"], g["name"], g["recognized"], g["contra"], g["net"], g["share"]] for g in report["groups"]
    ]
    totals = [
        [
            "Total",
            "",
            report["recognized"],
            report["contra"],
            report["net"],
            Decimal(100) if report["net"] else None,
        ]
    ]
    sheet = Sheet(
        f"Revenue by {report['group_by']}",
        columns,
        rows,
        totals,
        notes=[
            f"Revenue by {report['group_by']}, {report['start']} to {report['end']} (end exclusive), {report['currency']}",
            report["basis"],
        ],
    )
    return Book(
        f"revenue-by-{report['group_by']}-{report['start']}-{report['end']}-{report['currency']}",
        report["currency"],
        [sheet],
    )
