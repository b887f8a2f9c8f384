"""Webhooks page: endpoints (add, rotate secret, deactivate) and the delivery log with "Retry now".

Function views calling the same services as the API; HTMX requests get the page's partials. The
signing secret is rendered only in the response to the POST that created or rotated it (never
stored in the session or a message), and that response is marked ``no-store``.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing.models import WebhookDelivery, WebhookEndpoint
from billing.webhooks.delivery import MAX_ATTEMPTS, webhook_delivery_retry
from billing.webhooks.endpoints import (
    EVENT_TYPE_LABELS,
    EVENT_TYPES,
    webhook_delivery_list,
    webhook_endpoint_create,
    webhook_endpoint_deactivate,
    webhook_endpoint_list,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from billing.webhooks.filters import DeliveryFilter
from revops.core.filters import filter_page
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.roles import can_write

TEMPLATE = "billing/webhooks/index.html"
PAGE_SIZE = 25


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/concord"}),
    )
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. ERP sync"}),
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked = every event type.",
    )


def _short(endpoint: WebhookEndpoint) -> str:
    label = endpoint.description or endpoint.url
    return label if len(label) <= 48 else label[:47] + "…"


def _endpoints():
    return webhook_endpoint_list().annotate(
        n_succeeded=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.SUCCEEDED)),
        n_pending=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
        n_failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
    )


def _context(request: HttpRequest, **extra) -> dict:
    endpoints = list(_endpoints())
    listed = filter_page(DeliveryFilter, request.GET, webhook_delivery_list())
    filters = listed.form
    # The page picks an endpoint from a list (the API takes its id): same field, a select widget.
    filters.fields["endpoint"].widget = forms.Select(
        choices=[("", "Any endpoint"), *[(e.pk, _short(e)) for e in endpoints]]
    )
    chosen = {k: v for k, v in listed.values.items() if v}
    page = Paginator(listed.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = "&".join(f"{k}={v}" for k, v in chosen.items())
    return {
        "endpoints": endpoints,
        "form": extra.pop("form", None) or EndpointForm(),
        "filters": filters,
        "filter_errors": listed.errors,
        "page": page,
        "query": query,
        "can_write": can_write(request.user, "billing"),
        "event_types": [(t, EVENT_TYPE_LABELS[t]) for t in EVENT_TYPES],
        "max_attempts": MAX_ATTEMPTS,
        "now": timezone.now(),
        **extra,
    }


def _endpoints_response(request: HttpRequest, **extra) -> HttpResponse:
    context = _context(request, **extra)
    if request.htmx:
        return render(request, f"{TEMPLATE}#endpoints", context)
    return render(request, TEMPLATE, context)


@login_required
@require_area("billing")
def webhooks(request: HttpRequest) -> HttpResponse:
    context = _context(request)
    if request.htmx and request.htmx.target == "delivery-results":
        return render(request, f"{TEMPLATE}#deliveries", context)
    return render(request, TEMPLATE, context)


@never_cache
@login_required
@require_area("billing", write=True)
@require_POST
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = webhook_endpoint_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            for error in exc.errors or []:
                field = error.field.split("[", 1)[0]
                form.add_error(field if field in form.fields else None, error.message)
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            return _endpoints_response(request, new_secret={"endpoint": endpoint, "verb": "created"})
    return _endpoints_response(request, form=form, form_open=True)


@never_cache
@login_required
@require_area("billing", write=True)
@require_POST
def endpoint_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    endpoint = webhook_endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
    return _endpoints_response(request, new_secret={"endpoint": endpoint, "verb": "rotated"})


@login_required
@require_area("billing", write=True)
@require_POST
def endpoint_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhook_endpoint_deactivate(endpoint=endpoint, actor=request.user)
    if request.htmx:
        return _endpoints_response(request, notice=f"Deactivated {endpoint.url}. Its delivery log is kept.")
    messages.success(request, f"Deactivated {endpoint.url}. Its delivery log is kept.")
    return redirect("webhooks")


@login_required
@require_area("billing", write=True)
@require_POST
def endpoint_activate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhook_endpoint_update(endpoint=endpoint, actor=request.user, active=True)
    if request.htmx:
        return _endpoints_response(request, notice=f"Reactivated {endpoint.url}.")
    messages.success(request, f"Reactivated {endpoint.url}.")
    return redirect("webhooks")


@login_required
@require_area("billing", write=True)
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    error = ""
    try:
        webhook_delivery_retry(delivery=delivery, actor=request.user)
    except DomainError as exc:
        error = exc.detail
    if request.htmx:
        delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=pk)
        context = {
            "d": delivery,
            "row_error": error,
            "can_write": can_write(request.user, "billing"),
            "max_attempts": MAX_ATTEMPTS,
            "now": timezone.now(),
        }
        return render(request, f"{TEMPLATE}#delivery-row", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Delivery #{pk} queued for another attempt.")
    return redirect("webhooks")
