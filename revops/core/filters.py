"""List filtering shared by the API and the pages: one django-filter ``FilterSet`` per list.

The API list view names it (``filterset_class``) and filters through :class:`ApiFilterBackend`: an
invalid value is a 400 problem naming the parameter (``errors: [{"field": "status", ...}]``), and
drf-spectacular's django-filter extension documents every filter as a query parameter. The page of the
same resource binds the same FilterSet to ``request.GET`` with :func:`filter_page`: an invalid value
is a form error shown above the list (and the list is empty), never silently dropped.

A filter that looks a record up by a natural key (a customer's ``external_id``) is a
:class:`RefFilter`: an unknown key is the parameter's error, not an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_filters
from django import forms
from django.db.models import Model, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions

from revops.core.forms import BoundedDateField
from revops.core.ids import BIGINT_MAX, parse_id
from revops.dates import period_error
from revops.errors import NotFound

NOT_FOUND = "not_found"  # the error code of a reference to a record that does not exist


class FilterSet(django_filters.FilterSet):
    """Base for Concord's list filters. Subclasses declare their filters explicitly (parameter names
    are the public contract, docs/api.md); a parameter sent blank means "any", as django-filter does.
    ``exclusive`` lists pairs of parameters a request may not send together (an error on the second)."""

    exclusive: tuple[tuple[str, str], ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for item in self.filters.values():  # every boolean parameter refuses what is not a boolean
            if isinstance(item, django_filters.BooleanFilter):
                item.field_class = StrictBooleanField
                item.__dict__.pop("_field", None)  # a field built before (copied from the class) is rebuilt

    def get_form_class(self):
        base, pairs = super().get_form_class(), self.exclusive

        def clean(form):
            data = base.clean(form)
            for first, second in pairs:
                if form.data.get(first) and form.data.get(second):
                    form.add_error(second, f"Send {first} or {second}, not both.")
            return data

        return type(base.__name__, (base,), {"clean": clean}) if pairs else base


class _RawBooleanSelect(forms.NullBooleanSelect):
    """The select of a :class:`StrictBooleanField`, passing the value sent on as sent (Django's mapped
    anything unknown to "unknown" before the field could refuse it)."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``, any case); blank means "any". Anything else is
    an error naming the parameter — django-filter's own field read ``?overdue=maybe`` as "any" and
    dropped the filter silently."""

    widget = _RawBooleanSelect
    TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(f"'{str(value)[:40]}' is not a boolean: use true or false.")

    def validate(self, value):
        pass


class IdFilter(django_filters.NumberFilter):
    """A record id: a positive integer that fits the primary key's column (never a 500 for 10**30)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class BoundedDateFilter(django_filters.DateFilter):
    """A ``YYYY-MM-DD`` date between 1900-01-01 and 2199-12-31 (the API's input bounds)."""

    field_class = BoundedDateField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(*args, **kwargs)


def _check_period(value: str) -> None:
    error = period_error(value)
    if error:
        raise forms.ValidationError(
            f"'{value[:40]}' is not an accounting period: {error}" if error == "Use YYYY-MM." else error
        )


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-01"})
class PeriodFilter(django_filters.CharFilter):
    """An accounting period ``YYYY-MM`` (1900-01 to 2199-12)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [_check_period])  # one message, whatever is wrong
        super().__init__(*args, **kwargs)


class RefField(forms.CharField):
    """A natural key (or, with ``integer``, an id) resolved to its record on cleaning: an unknown key
    is a form error naming the parameter, not an empty list."""

    def __init__(
        self, *, model: type[Model], to_field: str, label_text: str, integer: bool = False, **kwargs
    ):
        self.model, self.to_field, self.label_text, self.integer = model, to_field, label_text, integer
        kwargs.setdefault("max_length", 255)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        if self.integer and parse_id(value) is None:
            raise forms.ValidationError(f"A {self.label_text} id is a positive integer.")
        found = self.model._default_manager.filter(**{self.to_field: int(value) if self.integer else value})
        found = found.first()
        if found is None:
            shown = "id" if self.to_field == "pk" else self.to_field
            raise forms.ValidationError(f"No {self.label_text} with {shown} '{value}'.", code=NOT_FOUND)
        return found


@extend_schema_field(OpenApiTypes.STR)
class RefFilter(django_filters.Filter):
    """Filters ``field_name`` by the record whose ``to_field`` equals the parameter."""

    field_class = RefField

    def __init__(
        self, *args, model: type[Model], to_field: str, label_text: str, integer: bool = False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.extra.update(model=model, to_field=to_field, label_text=label_text, integer=integer)


@extend_schema_field(OpenApiTypes.INT)
class RefIdFilter(RefFilter):
    """A :class:`RefFilter` by id: a positive integer, an unknown id being the parameter's error."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field", "pk")
        super().__init__(*args, integer=True, **kwargs)


class ApiFilterBackend(DjangoFilterBackend):
    """django-filter's DRF backend: a view's ``filterset_class`` filters its list; an invalid value
    raises DRF's ValidationError keyed by the parameter, which the problem handler turns into a 400
    ``application/problem+json`` naming it. A reference to a record that does not exist (and nothing
    else wrong) is a 404 naming it, as the API answered before the filter sets."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            errors = [(name, e) for name, errs in filterset.form.errors.as_data().items() for e in errs]
            if all(error.code == NOT_FOUND for _, error in errors):
                raise NotFound(errors[0][1].messages[0])
            raise exceptions.ValidationError(
                {name: [str(m) for m in messages] for name, messages in filterset.form.errors.items()}
            )
        return filterset.qs


@dataclass
class FilteredPage:
    """What a list page needs from its filters: the bound filter set (its ``form`` renders the fields
    and their errors), the filtered queryset (empty when a value is invalid) and the cleaned values."""

    filterset: FilterSet
    qs: QuerySet
    values: dict[str, Any]

    @property
    def form(self) -> forms.Form:
        return self.filterset.form

    @property
    def errors(self) -> list[tuple[str, str]]:
        """``[(parameter, message)]`` for the page's error banner."""
        return [(name, str(message)) for name, messages in self.form.errors.items() for message in messages]


def filter_page(filterset_class: type[FilterSet], data, queryset: QuerySet, **kwargs) -> FilteredPage:
    """Bind ``filterset_class`` to a page's query string (``request.GET`` or a copy with the page's
    defaults) and filter ``queryset``; an invalid value empties the list and is reported as a form error."""
    filterset = filterset_class(data, queryset=queryset, **kwargs)
    if filterset.is_valid():
        return FilteredPage(filterset, filterset.qs, dict(filterset.form.cleaned_data))
    return FilteredPage(filterset, queryset.none(), {})
