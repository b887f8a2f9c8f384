"""The revenue waterfall export: recognized per billed month, across the months of the report."""

from __future__ import annotations

from revrec.exports.workbook import Book, Column, Sheet


def waterfall_book(report: dict) -> Book:
    months = report["months"]
    columns = [
        Column("Billed month", width=22),
        Column(f"Recognized before {report['start']}", "money", 20),
        *[Column(p, "money") for p in months],
        Column(f"Deferred at end of {months[-1]}", "money", 22),
        Column("Total", "money"),
    ]

    def line(label, r):
        return [label, r["recognized_before"], *[c["amount"] for c in r["cells"]], r["deferred"], r["total"]]

    rows = [line(r["label"], r) for r in report["rows"]]
    totals = [line("Total recognized", report["totals"])]
    sheet = Sheet(
        f"Waterfall {report['currency']}",
        columns,
        rows,
        totals,
        notes=[
            f"Revenue waterfall, {report['start']} to {report['end']} (end exclusive), {report['currency']}",
            report["basis"],
        ],
    )
    return Book(
        f"revenue-waterfall-{report['start']}-{report['end']}-{report['currency']}",
        report["currency"],
        [sheet],
    )
