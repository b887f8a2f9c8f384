"""Revenue reports API (api.md: Revenue recognition → Reports). Each report is JSON by default and a
file with ``?format=csv`` or ``?format=xlsx`` (the same exporters as the UI downloads). Money is a
decimal string in the currency's minor unit; each report is in one currency (``?currency=``, default
the currency with the most journal entries); period ranges are half-open (``end`` excluded)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from revops.core.api.renderers import JSONRenderer
from revops.core.api.views import ApiView
from revops.dates import parse_date
from revops.errors import ValidationFailed
from revrec import exports, reports
from revrec.api.report_out import (
    DeferredRevenueRollforwardOut,
    ReportOut,
    RevenueByGroupOut,
    RPOOut,
    SubscriptionMetricsOut,
    TrialBalanceOut,
    UnbilledOut,
    WaterfallOut,
)
from revrec.reports import common, subscriptions


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
MONTH_RANGE = [
    OpenApiParameter("start", str, required=True, description="YYYY-MM"),
    OpenApiParameter("end", str, required=True, description="YYYY-MM, exclusive"),
]


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

    def respond(self, report: dict, book_fn, serializer: type[ReportOut]):
        fmt = self.fmt()
        if fmt in exports.FORMATS:
            return exports.export_response(book_fn(report), fmt)
        return Response(serializer.render(report))


def _obj(serializer: type[ReportOut]):
    """JSON by default; ``?format=csv|xlsx`` answers with the same report as a file."""
    return {
        (200, "application/json"): serializer,
        (200, "text/csv"): OpenApiTypes.BINARY,
        (200, exports.XLSX_TYPE): OpenApiTypes.BINARY,
    }


class WaterfallReportView(ReportView):
    """Revenue waterfall: rows = billed month, columns = recognized month, recognized revenue matched to
    billings first-in, first-out per performance obligation; a 'not yet billed' row (unbilled) and a
    'deferred' column; row totals = billed, column totals = recognized. ``end`` is exclusive."""

    @extend_schema(
        parameters=[
            *MONTH_RANGE,
            CURRENCY,
            FORMAT,
        ],
        responses=_obj(WaterfallOut),
        description=common.WATERFALL_BASIS,
    )
    def get(self, request):
        report = reports.waterfall(start=self.param("start"), end=self.param("end"), currency=self.currency())
        return self.respond(report, exports.waterfall_book, WaterfallOut)


class DeferredRevenueReportView(ReportView):
    """Deferred revenue rollforward for a period: opening + billed − recognized = closing, tied out to
    the ledger; per contract the closing net position is a contract liability (> 0) or asset (< 0)."""

    @extend_schema(
        parameters=[OpenApiParameter("period", str, required=True, description="YYYY-MM"), CURRENCY, FORMAT],
        responses=_obj(DeferredRevenueRollforwardOut),
        description=common.ROLLFORWARD_BASIS,
    )
    def get(self, request):
        report = reports.deferred_rollforward(period=self.param("period"), currency=self.currency())
        return self.respond(report, exports.rollforward_book, DeferredRevenueRollforwardOut)


class UnbilledReportView(ReportView):
    """Unbilled receivables at the end of a period: recognized − billed where positive, per contract
    and performance obligation, aged from the recognition month (first-in, first-out)."""

    @extend_schema(
        parameters=[OpenApiParameter("period", str, required=True, description="YYYY-MM"), CURRENCY, FORMAT],
        responses=_obj(UnbilledOut),
        description=common.UNBILLED_BASIS,
    )
    def get(self, request):
        report = reports.unbilled_receivables(period=self.param("period"), currency=self.currency())
        return self.respond(report, exports.unbilled_book, UnbilledOut)


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
        responses=_obj(RPOOut),
        description=common.RPO_BASIS,
    )
    def get(self, request):
        raw = self.param("as_of", default=timezone.localdate().isoformat())
        as_of = parse_date(raw, field="as_of")
        report = reports.rpo(as_of=as_of, currency=self.currency())
        return self.respond(report, exports.rpo_book, RPOOut)


class RevenueReportView(ReportView):
    """Revenue recognized in [start, end) by product or customer, with contra revenue (credit notes)
    apart and net = recognized − contra."""

    @extend_schema(
        parameters=[
            *MONTH_RANGE,
            OpenApiParameter("group_by", str, enum=["product", "customer"]),
            CURRENCY,
            FORMAT,
        ],
        responses=_obj(RevenueByGroupOut),
        description=common.REVENUE_BASIS,
    )
    def get(self, request):
        report = reports.revenue_by(
            start=self.param("start"),
            end=self.param("end"),
            group_by=self.param("group_by", default="product"),
            currency=self.currency(),
        )
        return self.respond(report, exports.revenue_book, RevenueByGroupOut)


class TrialBalanceReportView(ReportView):
    """Trial balance for [start, end): opening, debits, credits, closing per account; must balance."""

    @extend_schema(
        parameters=[
            *MONTH_RANGE,
            CURRENCY,
            FORMAT,
        ],
        responses=_obj(TrialBalanceOut),
        description=common.TRIAL_BALANCE_BASIS,
    )
    def get(self, request):
        report = reports.trial_balance(
            start=self.param("start"), end=self.param("end"), currency=self.currency()
        )
        return self.respond(report, exports.trial_balance_book, TrialBalanceOut)


class SubscriptionMetricsReportView(ReportView):
    """Subscription metrics for the months [start, end), one currency: MRR and ARR at each month end,
    the MRR movements per month (new, expansion, contraction, churn, reactivation, renewal uplift;
    opening + movements = closing), paying customers and ARPA, net and gross revenue retention (per
    month, and for the cohort of the range), bookings vs billings vs revenue, and the movements by
    customer. Never summed across currencies."""

    @extend_schema(
        parameters=[
            *MONTH_RANGE,
            CURRENCY,
            FORMAT,
        ],
        responses=_obj(SubscriptionMetricsOut),
        description=subscriptions.SUBSCRIPTION_BASIS,
    )
    def get(self, request):
        unknown = sorted(set(request.query_params) - {"start", "end", "currency", "format"})
        if unknown:
            raise ValidationFailed(f"Unknown parameter '{unknown[0]}'.", field=unknown[0])
        report = subscriptions.subscription_metrics(
            start=self.param("start"), end=self.param("end"), currency=self.currency()
        )
        return self.respond(report, exports.subscription_book, SubscriptionMetricsOut)


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
