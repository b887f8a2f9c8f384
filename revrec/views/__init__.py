"""Revenue pages: overview, contract revenue tab, approval previews, reports (with CSV/XLSX downloads),
ledger browser (trial balance → lines → entry → source document), revenue runs and the SSP book.

Function views over revrec.reports (reads) and the same services as the API (approval_decide,
revenue_run_start). Every amount shown is an :class:`Amt`: formatted in the currency's minor unit and,
where a set of journal lines lies behind it, a link to those lines in the ledger browser."""

from revrec.views.estimates import contract_estimate_record, obligation_cost_record_view
from revrec.views.ledger import ledger, ledger_entry, ledger_lines
from revrec.views.pages import contract_revenue, overview, runs, ssp_book
from revrec.views.reports import (
    report_deferred,
    report_download,
    report_journal,
    report_revenue,
    report_rpo,
    report_unbilled,
    report_waterfall,
    reports_index,
)
from revrec.views.subscriptions import report_subscriptions

__all__ = [
    "contract_estimate_record",
    "contract_revenue",
    "obligation_cost_record_view",
    "ledger",
    "ledger_entry",
    "ledger_lines",
    "overview",
    "report_deferred",
    "report_download",
    "report_journal",
    "report_revenue",
    "report_rpo",
    "report_subscriptions",
    "report_unbilled",
    "report_waterfall",
    "reports_index",
    "runs",
    "ssp_book",
]
