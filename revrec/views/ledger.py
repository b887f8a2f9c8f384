"""Ledger browser: trial balance → journal lines (any filter, every drill-down) → entry → source document."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from revops.core.ui import require_area
from revops.errors import ValidationFailed
from revrec import reports
from revrec.models import Account
from revrec.views.display import (
    Amt,
    _currency_context,
    _params,
    _query,
    contract_page_url,
    invoice_url,
    lines_url,
)
from revrec.views.reports import _report_page

# --- ledger browser ---------------------------------------------------------------------------------------


@login_required
@require_area("revenue")
def ledger(request: HttpRequest) -> HttpResponse:
    """Trial balance for a period range; each account drills to its lines."""
    return _report_page(request, "trial-balance", "revrec/ledger.html", _decorate_trial_balance)


def _decorate_trial_balance(r: dict) -> dict:
    c, start, end = r["currency"], r["start"], r["end"]
    accounts = []
    for a in r["accounts"]:
        code = a["code"]
        accounts.append(
            {
                **a,
                "url": lines_url(account=code, start=start, end=end, currency=c),
                "m_opening": Amt(
                    a["opening"], c, lines_url(account=code, end=start, currency=c), quiet_zero=True
                ),
                "m_debits": Amt(
                    a["debits"], c, lines_url(account=code, start=start, end=end, currency=c), quiet_zero=True
                ),
                "m_credits": Amt(
                    a["credits"],
                    c,
                    lines_url(account=code, start=start, end=end, currency=c),
                    quiet_zero=True,
                ),
                "m_closing": Amt(a["closing"], c, lines_url(account=code, end=end, currency=c)),
            }
        )
    t = r["totals"]
    return {"accounts": accounts, "m_totals": {k: Amt(v, c) for k, v in t.items()}}


FILTER_LABELS = {
    "account": "account",
    "roles": "accounts",
    "period": "period",
    "start": "from",
    "end": "before",
    "contract": "contract",
    "obligation": "obligation",
    "po_key": "PO",
    "product": "product",
    "customer": "customer",
    "kind": "kind",
    "billed_in": "POs billed in",
    "source": "source",
    "entry": "entry",
    "currency": "currency",
}


VISIBLE_LINE_FILTERS = {"account", "period", "start", "end", "contract", "kind", "currency", "page"}


@login_required
@require_area("revenue")
def ledger_lines(request: HttpRequest) -> HttpResponse:
    error, page, totals, f = None, None, None, None
    try:
        f = reports.LedgerFilter.from_params(request.GET)
        if not f.currency:
            f.currency = reports.default_currency()
        qs = reports.ledger_lines(f)
        totals = reports.ledger_totals(qs)
        page = Paginator(qs, 100).get_page(request.GET.get("page"))
    except ValidationFailed as exc:
        error = exc.detail
    currency = f.currency if f else reports.default_currency()
    lines = []
    for ln in page.object_list if page else []:
        lines.append(
            {
                "line": ln,
                "debit": Amt(ln.debit, ln.entry.currency, quiet_zero=True),
                "credit": Amt(ln.credit, ln.entry.currency, quiet_zero=True),
                "entry_url": reverse("revenue-ledger-entry", args=[ln.entry_id]),
                "contract_url": reverse("revenue-contract", args=[ln.contract_id])
                if ln.contract_id
                else None,
            }
        )
    chips = []
    if f:
        for key, value in f.as_params().items():
            if key == "roles":
                value = value.replace("revenue_sub", "revenue sub-accounts").replace(",", ", ")
            chips.append({"label": FILTER_LABELS.get(key, key), "value": value})
    context = {
        **_currency_context(currency),
        "error": error,
        "page": page,
        "lines": lines,
        "totals": totals,
        "m_debit": Amt(totals["debit"], currency) if totals else None,
        "m_credit": Amt(totals["credit"], currency) if totals else None,
        "m_net": Amt(totals["net"], currency) if totals else None,
        "chips": chips,
        "params": _params(request),
        "hidden_params": [(k, v) for k, v in request.GET.items() if k not in VISIBLE_LINE_FILTERS],
        "accounts": Account.objects.order_by("code"),
        "page_query": _query(request, page="__page__").replace("page=__page__", "page="),
        "export_query": urlencode(f.as_params()) if f else "",
    }
    return render(request, "revrec/ledger_lines.html", context, status=400 if error else 200)


@login_required
@require_area("revenue")
def ledger_entry(request: HttpRequest, pk: int) -> HttpResponse:
    detail = reports.entry_detail(pk)
    if detail is None:
        raise Http404("No such journal entry")
    entry = detail["entry"]
    c = entry.currency
    source = detail["source"]
    source_url = None
    if source["invoice_id"]:
        source_url = invoice_url(source["invoice_id"])
    elif source["contract_id"]:
        source_url = contract_page_url(source["contract_id"]) or reverse(
            "revenue-contract", args=[source["contract_id"]]
        )
    lines = [
        {
            "line": ln,
            "debit": Amt(ln.debit, c, quiet_zero=True),
            "credit": Amt(ln.credit, c, quiet_zero=True),
            "contract_url": reverse("revenue-contract", args=[ln.contract_id]) if ln.contract_id else None,
        }
        for ln in detail["lines"]
    ]
    context = {
        **detail,
        "lines": lines,
        "m_debits": Amt(detail["debits"], c),
        "m_credits": Amt(detail["credits"], c),
        "balanced": detail["debits"] == detail["credits"],
        "source_url": source_url,
        "revenue_tab_url": reverse("revenue-contract", args=[entry.contract_id])
        if entry.contract_id
        else None,
        "schedule_rows": [{"line": sl, "m": Amt(sl.amount, c)} for sl in detail["schedule_lines"]],
        "usage_rows": [
            {"line": ul, "m": Amt(ul.amount, c), "url": invoice_url(ul.invoice_id)}
            for ul in detail["usage_lines"]
        ],
        "siblings_url": lines_url(entry=entry.pk),
    }
    return render(request, "revrec/ledger_entry.html", context)
