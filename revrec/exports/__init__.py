"""CSV and XLSX for the revenue reports and the journal (a GL export): ``workbook`` (the book model, the
two writers, the download), one module per report export, and ``journal``.

Every report becomes a :class:`Book` (sheets of typed columns) and is written by the same two
writers, so the API and the UI download exactly the same files:
- CSV: UTF-8, one header row, money as exact decimal strings in the currency's minor unit ("1200.00"),
  never floats; the first sheet only (the report's main table, totals last).
- XLSX (openpyxl): one worksheet per sheet with the report's title and basis on top, money as numeric
  cells (written from ``Decimal``) with a thousands/minor-unit number format, bold totals, frozen header.
Every text cell goes through ``safe_cell`` (formula-injection guard: = + - @ tab CR at the start get a
leading apostrophe), in both formats.
"""

from revrec.exports.journal import JOURNAL_COLUMNS, journal_csv_response, journal_response, journal_rows
from revrec.exports.revenue import revenue_book
from revrec.exports.rollforward import rollforward_book
from revrec.exports.rpo import rpo_book
from revrec.exports.subscriptions import subscription_book
from revrec.exports.trial_balance import trial_balance_book
from revrec.exports.unbilled import unbilled_book
from revrec.exports.waterfall import waterfall_book
from revrec.exports.workbook import (
    FORMATS,
    XLSX_TYPE,
    Book,
    Column,
    Sheet,
    csv_value,
    export_response,
    to_csv,
    to_xlsx,
    xlsx_value,
)

__all__ = [
    "FORMATS",
    "JOURNAL_COLUMNS",
    "XLSX_TYPE",
    "Book",
    "Column",
    "Sheet",
    "csv_value",
    "export_response",
    "journal_csv_response",
    "journal_response",
    "journal_rows",
    "revenue_book",
    "rollforward_book",
    "rpo_book",
    "subscription_book",
    "to_csv",
    "to_xlsx",
    "trial_balance_book",
    "unbilled_book",
    "waterfall_book",
    "xlsx_value",
]
