"""Report pages (each with a chart, a table and CSV/XLSX downloads) and the download views."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from revops.core.ui import require_area
from revops.dates import parse_date
from revops.errors import ValidationFailed
from revrec import exports, reports
from revrec.models import JournalEntry
from revrec.reports import subscriptions
from revrec.views.display import (
    POSITION,
    REVENUE,
    Amt,
    Params,
    _currency_context,
    _params,
    _reverse_or_none,
    _this_period,
    lines_url,
)

# --- reports --------------------------------------------------------------------------------------------

REPORTS = {
    "waterfall": (
        "Revenue waterfall",
        "Billed month × recognized month, FIFO per obligation.",
        "revenue-report-waterfall",
    ),
    "deferred-revenue": (
        "Deferred revenue rollforward",
        "Opening + billed − recognized = closing; contract assets and liabilities netted per contract.",
        "revenue-report-deferred",
    ),
    "unbilled": (
        "Unbilled receivables",
        "Revenue recognized ahead of billing, per obligation, aged.",
        "revenue-report-unbilled",
    ),
    "rpo": (
        "Remaining performance obligations",
        "Contracted revenue not yet recognized, in 0–12 / 13–24 / 24+ month bands.",
        "revenue-report-rpo",
    ),
    "revenue": (
        "Revenue by product or customer",
        "Recognized revenue in a range of periods, net of contra revenue.",
        "revenue-report-revenue",
    ),
    "subscription-metrics": (
        "Subscription metrics",
        "MRR and ARR with their movements (new, expansion, contraction, churn, reactivation, renewal "
        "uplift), net and gross revenue retention, bookings vs billings vs revenue.",
        "revenue-report-subscriptions",
    ),
    "journal": (
        "Journal entries (GL export)",
        "Every journal line for a period range, for your general ledger.",
        "revenue-report-journal",
    ),
    "trial-balance": ("Trial balance", "Opening, debits, credits and closing per account.", "revenue-ledger"),
}


@login_required
@require_area("reports")
def reports_index(request: HttpRequest) -> HttpResponse:
    cards = [{"slug": s, "title": t, "text": x, "url": reverse(n)} for s, (t, x, n) in REPORTS.items()]
    return render(request, "revrec/reports.html", {"cards": cards})


def _range_defaults(params) -> tuple[str, str]:
    this = _this_period()
    return (params.get("start") or f"{this[:4]}-01", params.get("end") or f"{int(this[:4]) + 1}-01")


def _run_report(slug: str, params) -> dict:
    """The same report functions the API calls, from query parameters (defaults for a first visit)."""
    currency = reports.resolve_currency(params.get("currency"))
    if slug == "waterfall":
        start, end = _range_defaults(params)
        return reports.waterfall(start=start, end=end, currency=currency)
    if slug == "deferred-revenue":
        return reports.deferred_rollforward(period=params.get("period") or _this_period(), currency=currency)
    if slug == "unbilled":
        return reports.unbilled_receivables(period=params.get("period") or _this_period(), currency=currency)
    if slug == "rpo":
        raw = params.get("as_of") or timezone.localdate().isoformat()
        as_of = parse_date(raw, field="as_of")
        return reports.rpo(as_of=as_of, currency=currency)
    if slug == "revenue":
        start, end = _range_defaults(params)
        return reports.revenue_by(
            start=start, end=end, group_by=params.get("group_by") or "product", currency=currency
        )
    if slug == "subscription-metrics":
        this = _this_period()
        return subscriptions.subscription_metrics(
            start=params.get("start") or reports.add_months(this, -11),
            end=params.get("end") or reports.add_months(this, 1),
            currency=currency,
        )
    if slug == "trial-balance":
        start, end = _range_defaults(params)
        return reports.trial_balance(start=start, end=end, currency=currency)
    raise Http404("No such report")


BOOKS = {
    "waterfall": exports.waterfall_book,
    "deferred-revenue": exports.rollforward_book,
    "unbilled": exports.unbilled_book,
    "rpo": exports.rpo_book,
    "revenue": exports.revenue_book,
    "trial-balance": exports.trial_balance_book,
    "subscription-metrics": exports.subscription_book,
}


def _report_page(request: HttpRequest, slug: str, template: str, decorate) -> HttpResponse:
    error, report, context = None, None, {}
    try:
        report = _run_report(slug, request.GET)
    except ValidationFailed as exc:
        error = exc.detail
    currency = report["currency"] if report else reports.default_currency()
    if report:
        context = decorate(report)
    query = request.GET.copy()
    query.setdefault("currency", currency)
    downloads = {
        fmt: f"{reverse('revenue-report-download', args=[slug, fmt])}?{query.urlencode()}"
        for fmt in exports.FORMATS
    }
    return render(
        request,
        template,
        {
            **_currency_context(currency),
            **context,
            "report": report,
            "error": error,
            "params": _params(request),
            "downloads": downloads,
            "title": REPORTS[slug][0],
        },
        status=400 if error else 200,
    )


@login_required
@require_area("reports")
def report_download(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    if fmt not in exports.FORMATS:
        raise Http404("Unknown format")
    try:
        if slug == "journal":
            f = reports.LedgerFilter.from_params(request.GET)
            return exports.journal_response(reports.ledger_lines(f), fmt)
        if slug not in BOOKS:
            raise Http404("No such report")
        return exports.export_response(BOOKS[slug](_run_report(slug, request.GET)), fmt)
    except ValidationFailed as exc:
        return HttpResponse(exc.detail, status=400, content_type="text/plain; charset=utf-8")


def _decorate_waterfall(r: dict) -> dict:
    c, start, end = r["currency"], r["start"], r["end"]
    rows = []
    for row in r["rows"]:
        bp = row["billed_period"]
        real = bp not in ("before", "unbilled")

        def cell_url(rp, bp=bp, real=real):
            if bp == "unbilled":
                return lines_url(roles="unbilled", kind="recognition", currency=c, **rp)
            return lines_url(roles=REVENUE, currency=c, billed_in=bp if real else None, **rp)

        rows.append(
            {
                "label": row["label"],
                "key": bp,
                "billed_url": lines_url(roles=POSITION, kind="billing", period=bp, currency=c)
                if real
                else None,
                "before": Amt(row["recognized_before"], c, cell_url({"end": start}), quiet_zero=True),
                "cells": [
                    Amt(x["amount"], c, cell_url({"period": x["period"]}), quiet_zero=True)
                    for x in row["cells"]
                ],
                "deferred": Amt(
                    row["deferred"],
                    c,
                    lines_url(roles=POSITION, kind="billing", period=bp, currency=c) if real else None,
                    quiet_zero=True,
                ),
                "total": Amt(
                    row["total"],
                    c,
                    lines_url(roles=POSITION, kind="billing", period=bp, currency=c) if real else None,
                ),
            }
        )
    t = r["totals"]
    totals = {
        "before": Amt(t["recognized_before"], c, lines_url(roles=REVENUE, end=start, currency=c)),
        "cells": [
            Amt(x["amount"], c, lines_url(roles=REVENUE, period=x["period"], currency=c)) for x in t["cells"]
        ],
        "deferred": Amt(t["deferred"], c),
        "total": Amt(t["total"], c),
    }
    chart = {
        "labels": r["months"],
        "datasets": [
            {
                "label": f"Billed {row['label']}"
                if row["billed_period"] not in ("before", "unbilled")
                else row["label"],
                "data": [str(x["amount"]) for x in row["cells"]],
            }
            for row in r["rows"]
            if any(x["amount"] for x in row["cells"])
        ],
    }
    return {
        "rows": rows,
        "totals": totals,
        "chart": chart,
        "billed_in_range": Amt(
            r["billed_in_range"],
            c,
            lines_url(roles=POSITION, kind="billing", start=start, end=end, currency=c),
        ),
        "recognized_in_range": Amt(
            r["recognized_in_range"], c, lines_url(roles=REVENUE, start=start, end=end, currency=c)
        ),
    }


@login_required
@require_area("reports")
def report_waterfall(request):
    return _report_page(request, "waterfall", "revrec/report_waterfall.html", _decorate_waterfall)


def _decorate_rollforward(r: dict) -> dict:
    c, p = r["currency"], r["period"]
    nxt = reports.add_months(p, 1)

    def links(contract=None):
        return {
            "opening": lines_url(roles=POSITION, end=p, contract=contract, currency=c),
            "billed": lines_url(roles=POSITION, kind="billing", period=p, contract=contract, currency=c),
            "recognized": lines_url(roles=REVENUE, period=p, contract=contract, currency=c),
            "closing": lines_url(roles=POSITION, end=nxt, contract=contract, currency=c),
        }

    def amts(x, contract=None):
        u = links(contract)
        return {
            "opening": Amt(x["opening"], c, u["opening"]),
            "billed": Amt(x["billed"], c, u["billed"]),
            "recognized": Amt(x["recognized"], c, u["recognized"]),
            "closing": Amt(x["closing"], c, u["closing"]),
        }

    contracts = []
    for x in r["by_contract"]:
        contracts.append(
            {
                **x,
                "m": amts(x, x["contract"]),
                "m_liability": Amt(x["contract_liability"], c, quiet_zero=True),
                "m_asset": Amt(x["contract_asset"], c, quiet_zero=True),
                "m_ledger": Amt(x["ledger_closing"], c, links(x["contract"])["closing"]),
                "url": reverse("revenue-contract", args=[x["contract"]]) if x["contract"] else None,
            }
        )
    tie = r["tie_out"]
    return {
        "m": amts(r),
        "contracts": contracts,
        "m_assets": Amt(r["contract_assets"], c),
        "m_liabilities": Amt(r["contract_liabilities"], c),
        "m_ledger_closing": Amt(tie["ledger_closing"], c, links()["closing"]),
        "m_difference": Amt(tie["difference"], c),
        "m_deferred_account": Amt(
            r["ledger_accounts"]["deferred"], c, lines_url(roles="deferred", end=nxt, currency=c)
        ),
        "m_unbilled_account": Amt(
            r["ledger_accounts"]["unbilled"], c, lines_url(roles="unbilled", end=nxt, currency=c)
        ),
        "chart": {
            "labels": ["Opening", "Billed", "Recognized", "Closing"],
            "values": [str(r["opening"]), str(r["billed"]), str(-r["recognized"]), str(r["closing"])],
        },
    }


@login_required
@require_area("reports")
def report_deferred(request):
    return _report_page(request, "deferred-revenue", "revrec/report_deferred.html", _decorate_rollforward)


def _decorate_unbilled(r: dict) -> dict:
    c, nxt = r["currency"], reports.add_months(r["period"], 1)
    rows = []
    for x in r["rows"]:
        url = lines_url(roles="unbilled", end=nxt, contract=x["contract"], po_key=x["po_key"], currency=c)
        rows.append(
            {
                **x,
                "m_recognized": Amt(
                    x["recognized"],
                    c,
                    lines_url(roles=REVENUE, end=nxt, contract=x["contract"], po_key=x["po_key"], currency=c),
                ),
                "m_billed": Amt(
                    x["billed"],
                    c,
                    lines_url(
                        roles=POSITION,
                        kind="billing",
                        end=nxt,
                        contract=x["contract"],
                        po_key=x["po_key"],
                        currency=c,
                    ),
                ),
                "m_amount": Amt(x["amount"], c, url),
                "m_buckets": [Amt(b["amount"], c, quiet_zero=True) for b in x["buckets"]],
                "url": reverse("revenue-contract", args=[x["contract"]]) if x["contract"] else None,
            }
        )
    return {
        "rows": rows,
        "m_total": Amt(r["total"], c, lines_url(roles="unbilled", end=nxt, currency=c)),
        "m_ledger": Amt(r["ledger_balance"], c, lines_url(roles="unbilled", end=nxt, currency=c)),
        "m_billed_ahead": Amt(r["billed_ahead"], c),
        "m_net": Amt(r["net"], c),
        "m_ledger_net": Amt(r["ledger_net"], c, lines_url(roles=POSITION, end=nxt, currency=c)),
        "m_buckets": [Amt(b["amount"], c) for b in r["buckets"]],
        "chart": {
            "labels": [b["label"] for b in r["buckets"]],
            "values": [str(b["amount"]) for b in r["buckets"]],
        },
    }


@login_required
@require_area("reports")
def report_unbilled(request):
    return _report_page(request, "unbilled", "revrec/report_unbilled.html", _decorate_unbilled)


def _decorate_rpo(r: dict) -> dict:
    c = r["currency"]
    return {
        "m_total": Amt(r["total"], c),
        "m_bands": [{"label": b["label"], "m": Amt(b["amount"], c)} for b in r["bands"]],
        "contracts": [
            {
                **x,
                "m_bands": [Amt(b["amount"], c, quiet_zero=True) for b in x["bands"]],
                "m_total": Amt(x["total"], c),
                "url": reverse("revenue-contract", args=[x["contract"]]),
            }
            for x in r["by_contract"]
        ],
        "m_awaiting": Amt(r["excluded"]["awaiting_approval_amount"], c),
        "chart": {
            "labels": [b["label"] for b in r["bands"]],
            "values": [str(b["amount"]) for b in r["bands"]],
        },
    }


@login_required
@require_area("reports")
def report_rpo(request):
    return _report_page(request, "rpo", "revrec/report_rpo.html", _decorate_rpo)


def _decorate_revenue(r: dict) -> dict:
    c, start, end = r["currency"], r["start"], r["end"]
    by_product = r["group_by"] == "product"
    groups = []
    for g in r["groups"]:
        key = {"product": g["code"]} if by_product else {"customer": g["id"]}
        if g["id"] is None:
            key = {}
        groups.append(
            {
                **g,
                "m_recognized": Amt(
                    g["recognized"], c, lines_url(roles=REVENUE, start=start, end=end, currency=c, **key)
                ),
                "m_contra": Amt(
                    g["contra"],
                    c,
                    lines_url(roles="contra", start=start, end=end, currency=c, **key),
                    quiet_zero=True,
                ),
                "m_net": Amt(g["net"], c),
                "url": _reverse_or_none("customer", g["id"]) if not by_product and g["id"] else None,
            }
        )
    top = r["groups"][:15]
    return {
        "groups": groups,
        "m_recognized": Amt(r["recognized"], c, lines_url(roles=REVENUE, start=start, end=end, currency=c)),
        "m_contra": Amt(r["contra"], c, lines_url(roles="contra", start=start, end=end, currency=c)),
        "m_net": Amt(r["net"], c),
        "chart": {"labels": [g["name"] for g in top], "values": [str(g["net"]) for g in top]},
        "chart_height": max(200, 34 * len(top) + 60),
    }


@login_required
@require_area("reports")
def report_revenue(request):
    return _report_page(request, "revenue", "revrec/report_revenue.html", _decorate_revenue)


@login_required
@require_area("reports")
def report_journal(request: HttpRequest) -> HttpResponse:
    """The GL export: pick a range (and optionally a source), preview the count, download CSV/XLSX."""
    error, f, totals = None, None, None
    params = request.GET.copy()
    if not params:
        start, end = _range_defaults({})
        params.update({"start": start, "end": end})
    try:
        f = reports.LedgerFilter.from_params(params)
        if not f.currency:
            f.currency = reports.default_currency()
        totals = reports.ledger_totals(reports.ledger_lines(f))
    except ValidationFailed as exc:
        error = exc.detail
    currency = f.currency if f else reports.default_currency()
    query = urlencode(f.as_params()) if f else ""
    return render(
        request,
        "revrec/report_journal.html",
        {
            **_currency_context(currency),
            "error": error,
            "params": Params(params.items()),
            "totals": totals,
            "m_debit": Amt(totals["debit"], currency) if totals else None,
            "m_credit": Amt(totals["credit"], currency) if totals else None,
            "sources": JournalEntry.Source.choices,
            "browse_url": f"{reverse('revenue-ledger-lines')}?{query}",
            "downloads": {
                fmt: f"{reverse('revenue-report-download', args=['journal', fmt])}?{query}"
                for fmt in exports.FORMATS
            },
            "title": REPORTS["journal"][0],
        },
        status=400 if error else 200,
    )
