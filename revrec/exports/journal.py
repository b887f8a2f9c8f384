"""The journal export (a GL export): every journal line of a query, streamed as CSV or written as a
write-only XLSX sheet."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook

from revrec.exports.workbook import XLSX_TYPE, Column, csv_value, money_number_format, xlsx_value

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
        fmt = formats.setdefault(currency, money_number_format(currency))
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
