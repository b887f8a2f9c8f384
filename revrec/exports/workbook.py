"""The format layer of the exports: a report becomes a :class:`Book` (sheets of typed columns), written
by the same two writers for the API and the UI (CSV: the first sheet; XLSX: every sheet), and sent as
a download by :func:`export_response`. Cell conversion is here too (money in the currency's minor unit,
text through ``safe_cell``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

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


def money_number_format(currency: str) -> str:
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
    money_format = money_number_format(book.currency)
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
