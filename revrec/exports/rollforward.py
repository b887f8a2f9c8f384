"""The deferred revenue rollforward export: one sheet by contract (totals last), one summary sheet."""

from __future__ import annotations

from revrec.exports.workbook import Book, Column, Sheet


def rollforward_book(report: dict) -> Book:
    columns = [
        Column("Contract", width=18),
        Column("Customer", width=28),
        Column("Opening", "money"),
        Column("Billed", "money"),
        Column("Recognized", "money"),
        Column("Closing", "money"),
        Column("Contract liability", "money"),
        Column("Contract asset", "money"),
        Column("Ledger closing", "money"),
        Column("Ties"),
    ]
    rows = [
        [
            c["number"],
            c["customer"],
            c["opening"],
            c["billed"],
            c["recognized"],
            c["closing"],
            c["contract_liability"],
            c["contract_asset"],
            c["ledger_closing"],
            "yes" if c["ties"] else "NO",
        ]
        for c in report["by_contract"]
    ]
    tie = report["tie_out"]
    totals = [
        [
            "Total",
            "",
            report["opening"],
            report["billed"],
            report["recognized"],
            report["closing"],
            report["contract_liabilities"],
            report["contract_assets"],
            tie["ledger_closing"],
            "yes" if tie["ties"] else "NO",
        ]
    ]
    summary = Sheet(
        "Summary",
        [Column("Line", width=44), Column("Amount", "money")],
        [
            ["Opening net contract position", report["opening"]],
            ["+ Billed (net of voids and credit notes)", report["billed"]],
            ["− Recognized", report["recognized"]],
            ["= Closing net contract position", report["closing"]],
            ["Ledger position at period end", tie["ledger_closing"]],
            ["Difference (must be 0)", tie["difference"]],
            ["Contract liabilities (netted per contract)", report["contract_liabilities"]],
            ["Contract assets (netted per contract)", report["contract_assets"]],
            ["Ledger: deferred revenue account (gross)", report["ledger_accounts"]["deferred"]],
            ["Ledger: unbilled receivables account (gross)", report["ledger_accounts"]["unbilled"]],
        ],
        notes=[f"Deferred revenue rollforward {report['period']}, {report['currency']}", report["basis"]],
    )
    by_contract = Sheet(
        "By contract",
        columns,
        rows,
        totals,
        notes=[f"Deferred revenue rollforward {report['period']}, {report['currency']}", report["basis"]],
    )
    return Book(
        f"deferred-revenue-{report['period']}-{report['currency']}",
        report["currency"],
        [by_contract, summary],
    )
