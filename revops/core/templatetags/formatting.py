"""Template filters of the presentation kernel (``{% load formatting %}``), so a page shows a number
exactly as the invoice PDF and every other page do:

    {{ line.amount|money:invoice.currency }}       1,234.50 USD · 1,200 JPY · 1.235 KWD
    {{ row.delta|amount:row.currency }}            1,234.50 (no code: tables with a currency header)
    {{ line.unit_amount|unit_price:currency }}     50 JPY · 0.0000025 USD
    {{ line.quantity|quantity }}                   1,234,567 · 1.5
    {{ customer.tax_rate|percent }}                8.25
    {{ invoice.issue_date|day }}                   1 Mar 2026
"""

from __future__ import annotations

from django import template

from revops import formatting

register = template.Library()


@register.filter
def money(value, currency):
    return formatting.money(value, currency)


@register.filter
def amount(value, currency):
    return formatting.amount(value, currency)


@register.filter
def unit_price(value, currency=None):
    return formatting.unit_price(value, currency or None)


@register.filter
def quantity(value):
    return formatting.quantity(value)


@register.filter
def percent(value):
    return formatting.percent(value)


@register.filter
def day(value):
    return formatting.day(value)
