"""Revenue reports API (api.md: Revenue recognition → Reports). Each report is JSON by default and a
file with ``?format=csv`` or ``?format=xlsx`` (the same exporters as the UI downloads). Money is a
decimal string in the currency's minor unit; each report is in one currency (``?currency=``, default
the currency with the most journal entries); period ranges are half-open (``end`` excluded)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from revops.core.api.fields import money_str
from revops.core.api.renderers import JSONRenderer
from revops.core.api.views import ApiView
from revops.dates import parse_date
from revops.errors import ValidationFailed
from revrec import exports, reports
from revrec.api.report_schemas import DeferredRevenueRollforwardOut, RevenueByGroupOut
from revrec.reports import common


class _FileRenderer(BaseRenderer):
    """Lets ``?format=csv|xlsx`` through content negotiation; the views return the file themselves.
    Anything else (an error) is rendered as JSON."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return JSONRenderer().render(data, "application/json", renderer_context)


class CSVRenderer(_FileRenderer):
    media_type, format = "text/csv", "csv"


class XLSXRenderer(_FileRenderer):
    media_type, format = exports.XLSX_TYPE, "xlsx"


FORMAT = OpenApiParameter(
    "format", str, enum=["json", "csv", "xlsx"], description="json (default), csv or xlsx"
)
CURRENCY = OpenApiParameter("currency", str, description="ISO code; default: the most used currency")


class ReportView(ApiView):
    area = "reports"

    def get_renderers(self):
        return [*super().get_renderers(), CSVRenderer(), XLSXRenderer()]

    def fmt(self) -> str:
        value = self.request.query_params.get("format") or "json"
        if value not in ("json", *exports.FORMATS):
            raise ValidationFailed("format must be json, csv or xlsx.", field="format")
        return value

    def currency(self) -> str:
        return reports.resolve_currency(self.request.query_params.get("currency"))

    def param(self, name: str, default=None):
        value = (self.request.query_params.get(name) or "").strip()
        if not value:
            if default is None:
                raise ValidationFailed(f"{name} is required.", field=name)
            return default
        return value

    def respond(self, report: dict, book_fn, payload_fn):
        fmt = self.fmt()
        if fmt in exports.FORMATS:
            return exports.export_response(book_fn(report), fmt)
        return Response(payload_fn(report))


def _m(amount, currency):
    return money_str(amount, currency)


def waterfall_payload(r: dict) -> dict:
    c = r["currency"]

    def row(x):
        return {
            "recognized_before": _m(x["recognized_before"], c),
            "cells": [{"period": cell["period"], "amount": _m(cell["amount"], c)} for cell in x["cells"]],
            "deferred": _m(x["deferred"], c),
            "total": _m(x["total"], c),
        }

    return {
        "start": r["start"],
        "end": r["end"],
        "currency": c,
        "basis": r["basis"],
        "months": r["months"],
        "rows": [{"billed_period": x["billed_period"], "label": x["label"], **row(x)} for x in r["rows"]],
        "totals": row(r["totals"]),
        "billed_in_range": _m(r["billed_in_range"], c),
        "recognized_in_range": _m(r["recognized_in_range"], c),
    }


def rollforward_payload(r: dict) -> dict:
    c = r["currency"]
    money = (
        "opening",
        "billed",
        "recognized",
        "closing",
        "contract_liability",
        "contract_asset",
        "ledger_closing",
    )
    tie = r["tie_out"]
    return {
        "period": r["period"],
        "currency": c,
        "opening": _m(r["opening"], c),
        "billed": _m(r["billed"], c),
        "recognized": _m(r["recognized"], c),
        "closing": _m(r["closing"], c),
        "contract_assets": _m(r["contract_assets"], c),
        "contract_liabilities": _m(r["contract_liabilities"], c),
        "tie_out": {
            "computed_closing": _m(tie["computed_closing"], c),
            "ledger_closing": _m(tie["ledger_closing"], c),
            "difference": _m(tie["difference"], c),
            "ties": tie["ties"],
        },
        "ledger_accounts": {k: _m(v, c) for k, v in r["ledger_accounts"].items()},
        "basis": r["basis"],
        "by_contract": [
            {
                "contract": x["contract"],
                "number": x["number"],
                "customer": x["customer"],
                "position": x["position"],
                "ties": x["ties"],
                **{k: _m(x[k], c) for k in money},
            }
            for x in r["by_contract"]
        ],
    }


def unbilled_payload(r: dict) -> dict:
    c = r["currency"]
    return {
        "period": r["period"],
        "as_of": r["as_of"],
        "currency": c,
        "total": _m(r["total"], c),
        "billed_ahead": _m(r["billed_ahead"], c),
        "net": _m(r["net"], c),
        "ledger_balance": _m(r["ledger_balance"], c),
        "ledger_deferred": _m(r["ledger_deferred"], c),
        "ledger_net": _m(r["ledger_net"], c),
        "ties": r["ties"],
        "matches_unbilled_account": r["matches_unbilled_account"],
        "buckets": [{"label": b["label"], "amount": _m(b["amount"], c)} for b in r["buckets"]],
        "basis": r["basis"],
        "results": [
            {
                "contract": x["contract"],
                "number": x["number"],
                "customer": x["customer"],
                "performance_obligation": x["po_key"],
                "product": x["product"],
                "recognized": _m(x["recognized"], c),
                "billed": _m(x["billed"], c),
                "amount": _m(x["amount"], c),
                "oldest_period": x["oldest_period"],
                "age_days": x["age_days"],
                "buckets": [{"label": b["label"], "amount": _m(b["amount"], c)} for b in x["buckets"]],
            }
            for x in r["rows"]
        ],
    }


def rpo_payload(r: dict) -> dict:
    c = r["currency"]
    return {
        "as_of": r["as_of"],
        "currency": c,
        "total": _m(r["total"], c),
        "bands": [{"label": b["label"], "amount": _m(b["amount"], c)} for b in r["bands"]],
        "basis": r["basis"],
        "excluded": {
            **r["excluded"],
            "awaiting_approval_amount": _m(r["excluded"]["awaiting_approval_amount"], c),
        },
        "by_contract": [
            {
                "contract": x["contract"],
                "number": x["number"],
                "customer": x["customer"],
                "total": _m(x["total"], c),
                "bands": [{"label": b["label"], "amount": _m(b["amount"], c)} for b in x["bands"]],
            }
            for x in r["by_contract"]
        ],
    }


def revenue_payload(r: dict) -> dict:
    c = r["currency"]
    return {
        "start": r["start"],
        "end": r["end"],
        "group_by": r["group_by"],
        "currency": c,
        "recognized": _m(r["recognized"], c),
        "contra": _m(r["contra"], c),
        "net": _m(r["net"], c),
        "basis": r["basis"],
        "results": [
            {
                "key": g["code"] or None,
                "name": g["name"],
                "recognized": _m(g["recognized"], c),
                "contra": _m(g["contra"], c),
                "net": _m(g["net"], c),
                "share": str(g["share"]) if g["share"] is not None else None,
            }
            for g in r["groups"]
        ],
    }


def trial_balance_payload(r: dict) -> dict:
    c = r["currency"]
    money = ("opening", "debits", "credits", "closing")
    return {
        "start": r["start"],
        "end": r["end"],
        "currency": c,
        "balanced": r["balanced"],
        "totals": {k: _m(r["totals"][k], c) for k in money},
        "accounts": [
            {"account": a["code"], "name": a["name"], "role": a["role"], **{k: _m(a[k], c) for k in money}}
            for a in r["accounts"]
        ],
    }


def _obj(name: str, serializer: serializers.Serializer | None = None):
    """JSON by default; ``?format=csv|xlsx`` answers with the same report as a file."""
    return {
        (200, "application/json"): serializer
        or inline_serializer(name, fields={"currency": serializers.CharField()}),
        (200, "text/csv"): OpenApiTypes.BINARY,
        (200, exports.XLSX_TYPE): OpenApiTypes.BINARY,
    }


class WaterfallReportView(ReportView):
    """Revenue waterfall: rows = billed month, columns = recognized month, recognized revenue matched to
    billings first-in, first-out per performance obligation; a 'not yet billed' row (unbilled) and a
    'deferred' column; row totals = billed, column totals = recognized. ``end`` is exclusive."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="YYYY-MM"),
            OpenApiParameter("end", str, required=True, description="YYYY-MM, exclusive"),
            CURRENCY,
            FORMAT,
        ],
        responses=_obj("RevenueWaterfall"),
        description=common.WATERFALL_BASIS,
    )
    def get(self, request):
        report = reports.waterfall(start=self.param("start"), end=self.param("end"), currency=self.currency())
        return self.respond(report, exports.waterfall_book, waterfall_payload)


class DeferredRevenueReportView(ReportView):
    """Deferred revenue rollforward for a period: opening + billed − recognized = closing, tied out to
    the ledger; per contract the closing net position is a contract liability (> 0) or asset (< 0)."""

    @extend_schema(
        parameters=[OpenApiParameter("period", str, required=True, description="YYYY-MM"), CURRENCY, FORMAT],
        responses=_obj("DeferredRevenueRollforward", DeferredRevenueRollforwardOut),
        description=common.ROLLFORWARD_BASIS,
    )
    def get(self, request):
        report = reports.deferred_rollforward(period=self.param("period"), currency=self.currency())
        return self.respond(report, exports.rollforward_book, rollforward_payload)


class UnbilledReportView(ReportView):
    """Unbilled receivables at the end of a period: recognized − billed where positive, per contract
    and performance obligation, aged from the recognition month (first-in, first-out)."""

    @extend_schema(
        parameters=[OpenApiParameter("period", str, required=True, description="YYYY-MM"), CURRENCY, FORMAT],
        responses=_obj("UnbilledReceivables"),
        description=common.UNBILLED_BASIS,
    )
    def get(self, request):
        report = reports.unbilled_receivables(period=self.param("period"), currency=self.currency())
        return self.respond(report, exports.unbilled_book, unbilled_payload)


class RPOReportView(ReportView):
    """Remaining performance obligations as of a date (default today): unposted lines of approved
    schedules of active fixed obligations, in bands 0-12 / 13-24 / over 24 months. Usage obligations
    are excluded (variable consideration recognized as invoiced)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("as_of", str, description="YYYY-MM-DD (default today)"),
            CURRENCY,
            FORMAT,
        ],
        responses=_obj("RemainingPerformanceObligations"),
        description=common.RPO_BASIS,
    )
    def get(self, request):
        raw = self.param("as_of", default=timezone.localdate().isoformat())
        as_of = parse_date(raw, field="as_of")
        report = reports.rpo(as_of=as_of, currency=self.currency())
        return self.respond(report, exports.rpo_book, rpo_payload)


class RevenueReportView(ReportView):
    """Revenue recognized in [start, end) by product or customer, with contra revenue (credit notes)
    apart and net = recognized − contra."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="YYYY-MM"),
            OpenApiParameter("end", str, required=True, description="YYYY-MM, exclusive"),
            OpenApiParameter("group_by", str, enum=["product", "customer"]),
            CURRENCY,
            FORMAT,
        ],
        responses=_obj("RevenueByGroup", RevenueByGroupOut),
        description=common.REVENUE_BASIS,
    )
    def get(self, request):
        report = reports.revenue_by(
            start=self.param("start"),
            end=self.param("end"),
            group_by=self.param("group_by", default="product"),
            currency=self.currency(),
        )
        return self.respond(report, exports.revenue_book, revenue_payload)


class TrialBalanceReportView(ReportView):
    """Trial balance for [start, end): opening, debits, credits, closing per account; must balance."""

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="YYYY-MM"),
            OpenApiParameter("end", str, required=True, description="YYYY-MM, exclusive"),
            CURRENCY,
            FORMAT,
        ],
        responses=_obj("TrialBalance"),
        description=common.TRIAL_BALANCE_BASIS,
    )
    def get(self, request):
        report = reports.trial_balance(
            start=self.param("start"), end=self.param("end"), currency=self.currency()
        )
        return self.respond(report, exports.trial_balance_book, trial_balance_payload)


class JournalExportView(ReportView):
    """Journal lines for a GL, as CSV (default) or XLSX: the columns of ``GET /journal-entries?format=csv``
    plus account name, contract number, source document and line memo. Filters: ``period``, ``start``,
    ``end`` (exclusive), ``source``, ``contract``, ``currency``, ``account``."""

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str),
            OpenApiParameter("start", str),
            OpenApiParameter("end", str),
            OpenApiParameter("source", str),
            OpenApiParameter("contract", int),
            OpenApiParameter("account", str),
            OpenApiParameter("currency", str),
            OpenApiParameter("format", str, enum=["csv", "xlsx"]),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, exports.XLSX_TYPE): OpenApiTypes.BINARY},
    )
    def get(self, request):
        fmt = request.query_params.get("format") or "csv"
        if fmt not in exports.FORMATS:
            raise ValidationFailed("format must be csv or xlsx.", field="format")
        params = {k: v for k, v in request.query_params.items() if k != "format"}
        allowed = {"period", "start", "end", "source", "contract", "account", "currency"}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ValidationFailed(f"Unknown filter '{unknown[0]}'.", field=unknown[0])
        lines = reports.ledger_lines(reports.LedgerFilter.from_params(params))
        return exports.journal_response(lines, fmt)
