"""Display helpers of the revenue pages: amounts (formatted, linked to their journal lines), URLs
of other apps' pages when they exist, query parameters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from revops.formatting import MINUS, amount
from revrec import reports

ZERO = Decimal(0)
REVENUE = "revenue,revenue_sub"
POSITION = "deferred,unbilled"

# --- display helpers ------------------------------------------------------------------------------------


def fmt_amount(value, currency: str) -> str:
    """'1,234.50' in the currency's minor unit, a real minus sign for negatives (the kernel's
    ``amount``; nothing shows as zero)."""
    return amount(value or ZERO, currency, minus=MINUS)


@dataclass
class Amt:
    """An amount on screen: ``{{ a.html }}`` renders it (linked to its ledger lines when it has a url)."""

    value: Decimal
    currency: str
    url: str | None = None
    quiet_zero: bool = False

    def __str__(self) -> str:
        return fmt_amount(self.value, self.currency)

    @property
    def html(self):
        value = self.value or ZERO
        if self.quiet_zero and not value:
            return mark_safe('<span class="muted" aria-label="zero">·</span>')  # noqa: S308 - constant
        css = "rv-amt amount-neg" if value < 0 else "rv-amt"
        if self.url and value:
            return format_html(
                '<a class="{}" href="{}" title="Show the journal lines">{}</a>', css, self.url, self
            )
        return format_html('<span class="{}">{}</span>', css, self)


def lines_url(**params) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('revenue-ledger-lines')}?{urlencode(clean)}"


def _reverse_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _path_if_exists(path: str) -> str | None:
    try:
        resolve(path)
    except Resolver404:
        return None
    return path


def invoice_url(pk) -> str | None:
    return _reverse_or_none("invoice", pk) or _path_if_exists(f"/invoices/{pk}/")


def contract_page_url(pk) -> str | None:
    """The contract's own page (billing) when it exists, else its revenue tab."""
    return _reverse_or_none("contract", pk) or _path_if_exists(f"/contracts/{pk}/")


def _currency_context(currency: str) -> dict:
    return {"currency": currency, "currencies": reports.currencies() or [currency]}


def _this_period() -> str:
    return reports.period_of(timezone.localdate())


class Params(dict):
    """Query parameters for templates: a missing one is "" (safe inside filter arguments)."""

    def __missing__(self, key):
        return ""


def _params(request: HttpRequest) -> Params:
    return Params(request.GET.items())


def _query(request: HttpRequest, **override) -> str:
    params = request.GET.copy()
    for key, value in override.items():
        params[key] = value
    return params.urlencode()
