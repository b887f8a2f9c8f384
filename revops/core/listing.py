"""Lists a finance team can work with: the one helper every list page uses for its sort order, its
pager, its filters kept in the URL and its CSV export.

A page declares its :class:`Sorting` (the whitelisted sort keys, each an ``order_by`` over one or
more fields, and the default) and its CSV columns; :func:`list_page` orders the already filtered
queryset (an unknown ``?sort=`` falls back to the default: never a 500, never an arbitrary field),
always ending with a unique tie-break so a page boundary never repeats or drops a row, and pages it.
:func:`csv_response` streams the *same* queryset — same filters, same order, every page — as CSV:
text cells neutralized against formula injection (``safe_cell``), ``Decimal`` written exactly as
stored (``format(value, "f")``, never through binary floating point), dates in ISO 8601.

Templates show a sortable column header with ``{% sort_th listing "total" "Total" "num" %}``
(``{% load listing %}``), the export link with ``listing.csv_url``, the pager with
``core/_pagination.html`` and ``query=listing.query``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

from revops.formatting import safe_cell

PAGE_SIZE = 50
# Query parameters that steer the page, not its filters.
PAGE_PARAMS = frozenset({"page", "sort", "format"})


@dataclass(frozen=True)
class Sorting:
    """The sort keys a list accepts: ``keys[name]`` is the ``order_by`` of ``?sort=name`` (each field
    reversed for ``?sort=-name``); ``default`` is used for no or an unknown key; ``tiebreak`` makes
    the order total (a unique field, appended in the key's direction)."""

    keys: dict[str, tuple[str, ...]]
    default: str
    tiebreak: str = "id"

    def resolve(self, raw: str | None) -> str:
        raw = (raw or "").strip()
        return raw if raw.lstrip("-") in self.keys and raw.count("-") <= 1 else self.default

    def order_by(self, sort: str) -> list[str]:
        descending = sort.startswith("-")
        fields = [*self.keys[sort.lstrip("-")], self.tiebreak]
        return [_reverse(f) if descending else f for f in fields]


def _reverse(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


@dataclass
class Listing:
    """What a list template needs: the page, the applied sort, the filters as a query string (for
    the pager: without ``page``), and the URLs of the sort headers and of the CSV export."""

    page: Page
    sort: str
    params: dict[str, str]
    path: str
    rows: list = field(default_factory=list)

    @property
    def query(self) -> str:
        return urlencode({k: v for k, v in self.params.items() if k not in ("page", "format")})

    @property
    def csv_url(self) -> str:
        kept = {k: v for k, v in self.params.items() if k not in ("page", "format")}
        return f"{self.path}?{urlencode({**kept, 'format': 'csv'})}"

    def sort_url(self, key: str) -> str:
        """The URL that sorts by ``key``: ascending, or descending when it is already ascending."""
        target = f"-{key}" if self.sort == key else key
        kept = {k: v for k, v in self.params.items() if k not in PAGE_PARAMS}
        return f"{self.path}?{urlencode({**kept, 'sort': target})}"

    def direction(self, key: str) -> str | None:
        if self.sort == key:
            return "ascending"
        if self.sort == f"-{key}":
            return "descending"
        return None


def request_params(request: HttpRequest) -> dict[str, str]:
    """The non-empty query parameters of the request, in order (the filters saved in the URL)."""
    return {k: v for k, v in request.GET.items() if v}


def sorted_queryset(qs: QuerySet, sorting: Sorting, raw: str | None) -> tuple[QuerySet, str]:
    sort = sorting.resolve(raw)
    return qs.order_by(*sorting.order_by(sort)), sort


def list_page(request: HttpRequest, qs: QuerySet, sorting: Sorting, *, per_page: int = PAGE_SIZE) -> Listing:
    """Sort ``qs`` (already filtered) by the request's ``?sort=`` and take the requested page."""
    ordered, sort = sorted_queryset(qs, sorting, request.GET.get("sort"))
    page = Paginator(ordered, per_page).get_page(request.GET.get("page"))
    return Listing(page=page, sort=sort, params=request_params(request), path=request.path)


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


# --- CSV ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A CSV column: its header and how a row gives its value (an attribute path or a function)."""

    header: str
    value: str | Callable[[Any], Any]

    def of(self, row: Any) -> Any:
        if callable(self.value):
            return self.value(row)
        for part in self.value.split("."):
            row = row.get(part) if isinstance(row, dict) else getattr(row, part, None)
            if row is None:
                return None
        return row


def csv_cell(value: Any) -> str:
    """One cell: exact decimals, ISO dates, yes/no, text made harmless for spreadsheets."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return safe_cell(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable, columns: list[Column]) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow([c.header for c in columns])
    for row in rows:
        yield writer.writerow([csv_cell(c.of(row)) for c in columns])


def iterate(qs: Iterable, chunk_size: int = 2000) -> Iterable:
    """A queryset's rows fetched in chunks (prefetches need an explicit chunk size), others as given."""
    return qs.iterator(chunk_size=chunk_size) if isinstance(qs, QuerySet) else qs


def csv_response(rows: Iterable, columns: list[Column], *, filename: str) -> StreamingHttpResponse:
    """Stream ``rows`` (a queryset is read in chunks) as a CSV download named ``filename``.csv."""
    response = StreamingHttpResponse(
        csv_lines(iterate(rows), columns), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
