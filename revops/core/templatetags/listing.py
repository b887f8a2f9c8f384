"""Sortable column headers of the list pages (``{% load listing %}``, revops.core.listing)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()

ARROWS = {"ascending": "▲", "descending": "▼", None: "↕"}


@register.simple_tag
def sort_th(listing, key: str, label: str, css: str = ""):
    """A ``<th>`` whose link sorts the list by ``key`` (again: the other way), with ``aria-sort``."""
    direction = listing.direction(key)
    hint = "descending" if direction == "ascending" else "ascending"
    return format_html(
        '<th scope="col" class="sortable {}"{}><a href="{}" title="Sort by {} ({})" data-sort="{}">{}'
        '<span class="sort-arrow" aria-hidden="true">{}</span></a></th>',
        css,
        format_html(' aria-sort="{}"', direction) if direction else "",
        listing.sort_url(key),
        label.lower(),
        hint,
        key,
        label,
        ARROWS[direction],
    )


@register.simple_tag(takes_context=True)
def csv_url(context) -> str:
    """The page's own URL — every filter it was given — asking for the CSV export (no page number)."""
    request = context["request"]
    params = request.GET.copy()
    params.pop("page", None)
    params["format"] = "csv"
    return f"{request.path}?{params.urlencode()}"
