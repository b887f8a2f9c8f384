"""Revenue reports (issue 6 §8) and the reads behind the revenue pages: computed live from the ledger
(journal lines), the approved schedules and nothing else, so a figure always ties to the entries
behind it. Every report aggregates in SQL (grouped by obligation × period, contract, account...) and
only the small aggregates are handled in Python.

Sign conventions, used everywhere below:
- *net contract position* = credit − debit on the deferred revenue (contract liability) and unbilled
  receivables (contract asset) accounts: positive = the customer has paid/been billed ahead of
  performance (liability), negative = revenue recognized ahead of billing (asset);
- *billed* = movements of that position posted by billing documents (invoices, their voids, credit
  notes: ``source_type`` billing.invoice / billing.creditnote), net;
- *recognized* = credit − debit on the revenue accounts (4000 and its product sub-accounts).
Periods are ``YYYY-MM`` accounting periods (the journal entry's ``period``); ranges are half-open, the
``end`` period is excluded (api.md conventions).
"""

from revrec.reports.common import (
    AGE_BUCKETS,
    BILLING_SOURCES,
    CONTRA_ROLES,
    POSITION_ROLES,
    REVENUE_ROLES,
    RPO_BANDS,
    add_months,
    currencies,
    default_currency,
    first_day,
    last_day,
    months_between,
    parse_period,
    parse_range,
    period_of,
    resolve_currency,
)
from revrec.reports.contracts import (
    billed_by_obligation,
    contract_balances,
    contract_revenue_detail,
    revenue_kpis,
)
from revrec.reports.fifo import ObligationFlows, attribute_fifo, obligation_flows
from revrec.reports.ledger import (
    LedgerFilter,
    entry_detail,
    entry_source,
    ledger_lines,
    ledger_totals,
    trial_balance,
)
from revrec.reports.statements import (
    deferred_rollforward,
    revenue_by,
    rpo,
    rpo_band,
    unbilled_receivables,
    waterfall,
)

__all__ = [
    "AGE_BUCKETS",
    "BILLING_SOURCES",
    "CONTRA_ROLES",
    "POSITION_ROLES",
    "REVENUE_ROLES",
    "RPO_BANDS",
    "LedgerFilter",
    "ObligationFlows",
    "add_months",
    "attribute_fifo",
    "billed_by_obligation",
    "contract_balances",
    "contract_revenue_detail",
    "currencies",
    "default_currency",
    "deferred_rollforward",
    "entry_detail",
    "entry_source",
    "first_day",
    "last_day",
    "ledger_lines",
    "ledger_totals",
    "months_between",
    "obligation_flows",
    "parse_period",
    "parse_range",
    "period_of",
    "resolve_currency",
    "revenue_by",
    "revenue_kpis",
    "rpo",
    "rpo_band",
    "trial_balance",
    "unbilled_receivables",
    "waterfall",
]
