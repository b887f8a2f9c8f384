"""Pricing-admin pages: plan list, plan page and plan details, plus the helpers the other pricing pages
share (loading a plan or version, a draft's charges, saving a draft). The version pages and the diff
are in catalog_versions.py.

Function-based views that call the same catalog services as the API (billing.catalog.services);
what a service refuses comes back as field errors next to the inputs. The charge editor is in
catalog_charges.py, the simulator in catalog_simulator.py."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.catalog import selectors
from billing.catalog import services as catalog
from billing.catalog.forms.errors import apply_errors
from billing.catalog.forms.plans import (
    COMMON_CURRENCIES,
    PlanCreateForm,
    PlanDetailsForm,
    VersionCreateForm,
)
from billing.catalog.ui_support import in_force, plan_overview
from billing.models import Plan, PlanVersion
from billing.views.catalog_display import charge_view
from revops.core.ui import require_area
from revops.errors import ValidationFailed
from revops.formatting import money
from revops.roles import can_write


def get_plan(code: str) -> Plan:
    return get_object_or_404(Plan, code=code)


def get_version(code: str, number: int) -> PlanVersion:
    return get_object_or_404(PlanVersion.objects.select_related("plan"), plan__code=code, number=number)


def charge_payloads(version: PlanVersion) -> list[dict]:
    charges = version.charges.select_related("product", "meter").order_by("position", "id")
    return [selectors.charge_payload(c) for c in charges]


def update_draft(request: HttpRequest, version: PlanVersion, payloads: list[dict], **settings) -> PlanVersion:
    """``plan_version_update_draft`` keeping the version's settings unless given."""
    return catalog.plan_version_update_draft(
        version=version,
        charges=payloads,
        effective_from=settings.get("effective_from", version.effective_from),
        minimum_amount=settings.get("minimum_amount", version.minimum_amount),
        notes=settings.get("notes", version.notes),
        actor=request.user,
    )


def version_state(version: PlanVersion, current: PlanVersion | None, today) -> tuple[str, str]:
    """(badge css, label): draft, in force, scheduled or superseded."""
    if not version.is_published:
        return "draft", "Draft"
    if current is not None and version.pk == current.pk:
        return "ok", "In force"
    if version.effective_from > today:
        return "info", "Scheduled"
    return "", "Superseded"


def _base(request: HttpRequest, **context) -> dict:
    return {"can_edit": can_write(request.user, "catalog"), "today": timezone.localdate(), **context}


# --- plans --------------------------------------------------------------------------------------


@login_required
@require_area("catalog")
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "billing/catalog/plan_list.html", _base(request, rows=plan_overview(on=timezone.localdate()))
    )


@login_required
@require_area("catalog", write=True)
def plan_create(request: HttpRequest) -> HttpResponse:
    form = PlanCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = catalog.plan_create(**form.cleaned_data, charges=[], publish=False, actor=request.user)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            messages.success(
                request, f"Plan {plan.code} created with a draft version 1. Add its charges, then publish."
            )
            return redirect("pricing-version-edit", code=plan.code, number=1)
    return render(
        request,
        "billing/catalog/plan_create.html",
        _base(request, form=form, currencies=COMMON_CURRENCIES),
        status=400 if form.is_bound else 200,
    )


@login_required
@require_area("catalog")
def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    plan = get_plan(code)
    today = timezone.localdate()
    versions = list(selectors.versions_of(plan))
    current = in_force(versions, today)
    rows = []
    for v in versions:
        css, label = version_state(v, current, today)
        rows.append({"version": v, "css": css, "label": label, "charges": len(v.charges.all())})
    latest = versions[0] if versions else None
    return render(
        request,
        "billing/catalog/plan_detail.html",
        _base(
            request,
            plan=plan,
            versions=versions,
            rows=rows,
            current=current,
            charges=[charge_view(selectors.charge_payload(c), plan.currency) for c in current.charges.all()]
            if current
            else [],
            current_minimum=_minimum(current, plan.currency),
            drafts=[v for v in versions if not v.is_published],
            version_form=VersionCreateForm(
                initial={"effective_from": _next_period_start(today, plan.interval)},
                versions=versions,
                current=current,
                default=current or latest,
            ),
            details_form=PlanDetailsForm(
                initial={
                    "name": plan.name,
                    "description": plan.description,
                    "version_policy": plan.version_policy,
                }
            ),
            compare_a=_default_pair(versions, current)[0],
            compare_b=_default_pair(versions, current)[1],
        ),
    )


def _next_period_start(today, interval: str):
    """The first day of the next month: a sensible default effective date for a price change."""
    first = today.replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


def _default_pair(versions: list[PlanVersion], current: PlanVersion | None) -> tuple[int | None, int | None]:
    """What to compare by default: the version in force with the newest one (e.g. a pending draft),
    or, when the newest is in force, its predecessor with it."""
    if not versions:
        return None, None
    newest = versions[0]
    if current is not None and current.pk != newest.pk:
        return current.number, newest.number
    return _previous_number(versions, newest), newest.number


def _previous_number(versions: list[PlanVersion], version: PlanVersion | None) -> int | None:
    if version is None:
        return None
    older = [v.number for v in versions if v.number < version.number]
    return max(older) if older else version.number


def _minimum(version: PlanVersion | None, currency: str) -> str:
    if version is None or version.minimum_amount is None:
        return ""
    return money(version.minimum_amount, currency)


@login_required
@require_area("catalog", write=True)
@require_POST
def plan_details_update(request: HttpRequest, code: str) -> HttpResponse:
    plan = get_plan(code)
    form = PlanDetailsForm(request.POST)
    if form.is_valid():
        try:
            catalog.plan_update(plan=plan, actor=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            messages.error(request, "; ".join(e.message for e in exc.errors) or exc.detail)
        else:
            messages.success(request, "Plan details saved.")
    else:
        messages.error(
            request, "Plan details not saved: " + "; ".join(m for errs in form.errors.values() for m in errs)
        )
    return redirect("pricing-plan", code=plan.code)
