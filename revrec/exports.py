"""CSV and XLSX for the revenue reports and the journal (a GL export).

Every report becomes a :class:`Book` (sheets of typed columns) and is written by the same two
writers, so the API and the UI download exactly the same files:
- CSV: UTF-8, one header row, money as exact decimal strings in the currency's minor unit ("1200.00"),
  never floats; the first sheet only (the report's main table, totals last).
- XLSX (openpyxl): one worksheet per sheet with the report's title and basis on top, money as numeric
  cells (written from ``Decimal``) with a thousands/minor-unit number format, bold totals, frozen header.
Every text cell goes through ``safe_cell`` (formula-injection guard: = + - @ tab CR at the start get a
leading apostrophe), in both formats.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from revops.core.api.fields import money_str
from revops.formatting import plain_money, safe_cell
from revops.money import minor_units

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | money | int | date | percent
    width: int | None = None


@dataclass
class Sheet:
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    totals: list[list] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Book:
    filename: str  # without extension
    currency: str
    sheets: list[Sheet]


# --- cell conversion -------------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return safe_cell(value)


def csv_value(value, kind: str, currency: str) -> str:
    if value is None or value == "":
        return ""
    if kind == "money":
        return plain_money(value, currency)
    if kind in ("int", "percent"):
        return str(value)
    return _text(value)


def _money_format(currency: str) -> str:
    places = minor_units(currency)
    return (
        "#,##0" + ("." + "0" * places if places else "") + ";-#,##0" + ("." + "0" * places if places else "")
    )


def xlsx_value(value, kind: str, currency: str):
    if value is None or value == "":
        return None
    if kind == "money":
        return Decimal(plain_money(value, currency))
    if kind == "int":
        return int(value)
    if kind == "percent":
        return Decimal(value)
    if kind == "date" and isinstance(value, date):
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", _text(value))


# --- writers -----------------------------------------------------------------------------------------------


def to_csv(book: Book) -> str:
    sheet = book.sheets[0]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_text(c.header) for c in sheet.columns])
    for row in [*sheet.rows, *sheet.totals]:
        writer.writerow(
            [csv_value(v, c.kind, book.currency) for v, c in zip(row, sheet.columns, strict=False)]
        )
    return buffer.getvalue()


def to_xlsx(book: Book) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="E9EDF2")
    money_format = _money_format(book.currency)
    for sheet in book.sheets:
        ws = wb.create_sheet(_sheet_title(sheet.title))
        ws.append([xlsx_value(sheet.title, "text", book.currency)])
        ws.cell(row=1, column=1).font = Font(bold=True, size=13)
        for note in sheet.notes:
            ws.append([xlsx_value(note, "text", book.currency)])
            ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=False)
        ws.append([])
        ws.append([xlsx_value(c.header, "text", book.currency) for c in sheet.columns])
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font, cell.fill = bold, header_fill
        for row in sheet.rows:
            ws.append(
                [xlsx_value(v, c.kind, book.currency) for v, c in zip(row, sheet.columns, strict=False)]
            )
        for row in sheet.totals:
            ws.append(
                [xlsx_value(v, c.kind, book.currency) for v, c in zip(row, sheet.columns, strict=False)]
            )
            for cell in ws[ws.max_row]:
                cell.font = bold
        for index, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(index)
            if column.kind == "money":
                for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=index, max_col=index):
                    cell.number_format = money_format
            elif column.kind == "percent":
                for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=index, max_col=index):
                    cell.number_format = "0.0"
            elif column.kind == "date":
                for (cell,) in ws.iter_rows(min_row=header_row + 1, min_col=index, max_col=index):
                    cell.number_format = "yyyy-mm-dd"
            ws.column_dimensions[letter].width = column.width or (16 if column.kind == "money" else 14)
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = "".join(ch for ch in title if ch not in "[]:*?/\\")
    return cleaned[:31] or "Sheet"


def export_response(book: Book, fmt: str) -> HttpResponse:
    if fmt == "xlsx":
        response = HttpResponse(to_xlsx(book), content_type=XLSX_TYPE)
    else:
        response = HttpResponse(to_csv(book), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{book.filename}.{fmt}"'
    return response


# --- report → book ---------------------------------------------------------------------------------------


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


# --- journal entries (GL export) ---------------------------------------------------------------------------

JOURNAL_COLUMNS = [
    Column("entry", "int"),
    Column("date", "date"),
    Column("period"),
    Column("source"),
    Column("memo", width=40),
    Column("account"),
    Column("debit", "money"),
    Column("credit", "money"),
    Column("currency"),
    Column("contract", "int"),
    Column("performance_obligation", "int"),
    Column("product"),
    Column("account_name", width=30),
    Column("contract_number"),
    Column("source_type"),
    Column("source_id"),
    Column("correction_for_period"),
    Column("line_memo", width=30),
]
# The first twelve columns are exactly those of GET /journal-entries?format=csv.


def journal_rows(lines_qs):
    """Rows for the journal export from a JournalLine queryset, streamed in chunks (one query)."""
    fields = (
        "entry_id",
        "entry__date",
        "entry__period",
        "entry__source",
        "entry__memo",
        "account__code",
        "debit",
        "credit",
        "entry__currency",
        "contract_id",
        "obligation_id",
        "product__code",
        "account__name",
        "contract__number",
        "entry__source_type",
        "entry__source_id",
        "entry__correction_for_period",
        "memo",
    )
    for row in lines_qs.order_by("entry_id", "id").values_list(*fields).iterator(chunk_size=2000):
        yield list(row)


def _row_csv(row: list) -> list[str]:
    currency = row[8]
    return [csv_value(v, c.kind, currency) for v, c in zip(row, JOURNAL_COLUMNS, strict=True)]


def journal_csv_response(lines_qs, filename: str = "journal-entries") -> StreamingHttpResponse:
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def stream():
        yield writer.writerow([c.header for c in JOURNAL_COLUMNS])
        for row in journal_rows(lines_qs):
            yield writer.writerow(_row_csv(row))

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def journal_xlsx(lines_qs) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Journal")
    ws.append([c.header for c in JOURNAL_COLUMNS])
    formats: dict[str, str] = {}
    from openpyxl.cell import WriteOnlyCell

    for row in journal_rows(lines_qs):
        currency = row[8]
        fmt = formats.setdefault(currency, _money_format(currency))
        cells = []
        for value, column in zip(row, JOURNAL_COLUMNS, strict=True):
            cell = WriteOnlyCell(ws, value=xlsx_value(value, column.kind, currency))
            if column.kind == "money":
                cell.number_format = fmt
            elif column.kind == "date":
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        ws.append(cells)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def journal_response(lines_qs, fmt: str, filename: str = "journal-entries") -> HttpResponse:
    if fmt == "xlsx":
        response = HttpResponse(journal_xlsx(lines_qs), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    return journal_csv_response(lines_qs, filename)
