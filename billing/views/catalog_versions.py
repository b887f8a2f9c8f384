"""Price-version pages: a new version, the read-only version page, the draft editor, publish, discard,
moving and removing a draft's charges, and the side-by-side diff of two versions.

Function-based views that call the same catalog services as the API (billing.catalog.services);
what a service refuses comes back as field errors next to the inputs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.catalog import selectors
from billing.catalog import services as catalog
from billing.catalog.forms.errors import apply_errors
from billing.catalog.forms.plans import (
    DraftSettingsForm,
    VersionCreateForm,
    payloads_moved,
)
from billing.catalog.ui_support import in_force
from billing.models import PlanVersion
from billing.views.catalog import (
    _base,
    _default_pair,
    _minimum,
    _next_period_start,
    _previous_number,
    charge_payloads,
    get_plan,
    get_version,
    update_draft,
    version_state,
)
from billing.views.catalog_display import charge_view, diff_rows
from revops.core.confirm import Confirmation, confirm_page, is_confirmed
from revops.core.ui import require_area
from revops.errors import DomainError, InvalidTransition, ValidationFailed
from revops.formatting import money

# --- versions -----------------------------------------------------------------------------------


@login_required
@require_area("catalog", write=True)
def version_create(request: HttpRequest, code: str) -> HttpResponse:
    plan = get_plan(code)
    versions = list(selectors.versions_of(plan))
    current = in_force(versions, timezone.localdate())
    form = VersionCreateForm(
        request.POST or None,
        initial={"effective_from": _next_period_start(timezone.localdate(), plan.interval)},
        versions=versions,
        current=current,
        default=current or (versions[0] if versions else None),
    )
    if request.method == "POST" and form.is_valid():
        source = next((v for v in versions if v.number == form.cleaned_data["copy_from"]), None)
        try:
            version = catalog.plan_version_create(
                plan=plan,
                effective_from=form.cleaned_data["effective_from"],
                charges=[selectors.charge_payload(c) for c in source.charges.all()] if source else [],
                minimum_amount=source.minimum_amount if source else None,
                publish=False,
                actor=request.user,
            )
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            copied = f" with the charges of v{source.number}" if source else ""
            messages.success(
                request,
                f"Draft version {version.number} created{copied}. Change what you need, then publish.",
            )
            return redirect("pricing-version-edit", code=plan.code, number=version.number)
    return render(
        request,
        "billing/catalog/version_create.html",
        _base(request, plan=plan, form=form),
        status=400 if form.is_bound else 200,
    )


@login_required
@require_area("catalog")
def version_detail(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = get_version(code, number)
    versions = list(selectors.versions_of(version.plan))
    current = in_force(versions, timezone.localdate())
    css, label = version_state(version, current, timezone.localdate())
    return render(
        request,
        "billing/catalog/version_detail.html",
        _base(
            request,
            plan=version.plan,
            version=version,
            state_css=css,
            state_label=label,
            charges=[charge_view(p, version.plan.currency) for p in charge_payloads(version)],
            previous=_previous_number(versions, version),
            minimum=_minimum(version, version.plan.currency),
            pending=None if version.is_published else catalog.publish_request_for(version),
        ),
    )


@login_required
@require_area("catalog", write=True)
def version_edit(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """The draft editor: version settings and the list of charges."""
    version = get_version(code, number)
    if version.is_published:
        messages.info(
            request, f"Version {number} is published and can no longer change; create a new version instead."
        )
        return redirect("pricing-version", code=code, number=number)
    initial = {
        "effective_from": version.effective_from,
        "minimum_amount": version.minimum_amount,
        "notes": version.notes,
    }
    form = DraftSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            update_draft(
                request,
                version,
                charge_payloads(version),
                effective_from=cd["effective_from"],
                minimum_amount=cd["minimum_amount"].strip() or None,
                notes=cd["notes"],
            )
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        except InvalidTransition as exc:
            messages.error(request, exc.detail)
            return redirect("pricing-version", code=code, number=number)
        else:
            messages.success(request, "Version settings saved.")
            return redirect("pricing-version-edit", code=code, number=number)
    if form.is_bound is False and version.minimum_amount is not None:
        form.initial["minimum_amount"] = _plain(version.minimum_amount)
    return render(
        request,
        "billing/catalog/version_edit.html",
        _base(
            request,
            plan=version.plan,
            version=version,
            form=form,
            charges=[charge_view(p, version.plan.currency) for p in charge_payloads(version)],
            previous=_compare_base(version),
            pending=catalog.publish_request_for(version),
        ),
        status=400 if form.is_bound else 200,
    )


def _compare_base(version: PlanVersion) -> int | None:
    """The version a draft is best compared with: the one in force today, else the latest other one."""
    versions = [v for v in selectors.versions_of(version.plan) if v.pk != version.pk]
    base = in_force(versions, timezone.localdate()) or (versions[0] if versions else None)
    return base.number if base else None


def _plain(value) -> str:
    text = format(value.normalize(), "f")
    return text


@login_required
@require_area("catalog", write=True)
def version_publish(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Confirm, then publish — or, for a back-dated version or one that changes what existing
    contracts pay, submit it for an approver (``plan_version_publish`` decides; same as the API)."""
    version = get_version(code, number)
    if version.is_published:
        messages.info(request, f"Version {number} is already published.")
        return redirect("pricing-version", code=code, number=number)
    error = ""
    if request.method == "POST":
        try:
            version = catalog.plan_version_publish(version=version, actor=request.user)
        except DomainError as exc:
            error = "; ".join(e.message for e in exc.errors) or exc.detail
        else:
            if version.is_published:
                messages.success(
                    request,
                    f"Version {number} published. It takes effect on {version.effective_from:%Y-%m-%d} "
                    "and is now read-only.",
                )
            else:
                pending = catalog.publish_request_for(version)
                messages.info(
                    request,
                    f"Version {number} was submitted for approval (request #{pending.pk}): "
                    f"{'; '.join(pending.payload.get('reasons', []))}. It is published once another "
                    "person approves it.",
                )
            return redirect("pricing-version", code=code, number=number)
    versions = list(selectors.versions_of(version.plan))
    current = in_force(versions, timezone.localdate())
    pending = catalog.publish_request_for(version)
    reasons: list[str] = []
    if not pending and not error:
        blocked = catalog.closed_period_errors(version.effective_from)
        if blocked:
            error = blocked[0].message
        else:
            try:
                reasons, _impact = catalog.publish_reasons(version)
            except DomainError as exc:  # prices that cannot rate a contract on the plan
                error = "; ".join(e.message for e in exc.errors) or exc.detail
    return render(
        request,
        "billing/catalog/version_publish.html",
        _base(
            request,
            plan=version.plan,
            version=version,
            current=current,
            charges=[charge_view(p, version.plan.currency) for p in charge_payloads(version)],
            error=error,
            pending=pending,
            reasons=reasons,
        ),
        status=400 if error else 200,
    )


@login_required
@require_area("catalog", write=True)
@require_POST
def version_discard(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = get_version(code, number)
    back = reverse("pricing-version", args=[code, number])
    if not is_confirmed(request):
        return confirm_page(
            request,
            Confirmation(
                title=f"Discard draft version {number} of {code}?",
                subject=f"{code} v{number}",
                consequence=(
                    f"The draft version {number} and every charge priced in it are thrown away; this "
                    "cannot be undone. Published versions are not touched."
                ),
                button=f"Discard draft version {number}",
                back=back,
                danger=True,
            ),
        )
    try:
        catalog.plan_version_discard_draft(version=version, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("pricing-version", code=code, number=number)
    messages.success(request, f"Draft version {number} discarded.")
    return redirect("pricing-plan", code=code)


@login_required
@require_area("catalog", write=True)
@require_POST
def charge_remove(request: HttpRequest, code: str, number: int, index: int) -> HttpResponse:
    if not is_confirmed(request):
        return confirm_page(
            request,
            Confirmation(
                title=f"Remove charge {index + 1} from draft version {number} of {code}?",
                subject=f"{code} v{number}",
                consequence="The charge and its pricing are removed from this draft; add it again to restore it.",
                button="Remove the charge",
                back=reverse("pricing-version-edit", args=[code, number]),
                danger=True,
            ),
        )
    return _change_charges(request, code, number, index, remove=True)


@login_required
@require_area("catalog", write=True)
@require_POST
def charge_move(request: HttpRequest, code: str, number: int, index: int) -> HttpResponse:
    return _change_charges(request, code, number, index, direction=request.POST.get("direction", "up"))


def _change_charges(request, code, number, index, *, remove=False, direction="up") -> HttpResponse:
    version = get_version(code, number)
    payloads = charge_payloads(version)
    if not 0 <= index < len(payloads):
        messages.error(request, "That charge no longer exists; the list below is current.")
        return redirect("pricing-version-edit", code=code, number=number)
    removed = payloads[index]["code"]
    changed = (
        [p for i, p in enumerate(payloads) if i != index]
        if remove
        else payloads_moved(payloads, index, direction)
    )
    try:
        update_draft(request, version, changed)
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("pricing-version", code=code, number=number)
    messages.success(
        request, f"Charge {removed} removed." if remove else f"Charge {removed} moved {direction}."
    )
    return redirect("pricing-version-edit", code=code, number=number)


# --- diff ---------------------------------------------------------------------------------------


@login_required
@require_area("catalog")
def version_diff(request: HttpRequest, code: str) -> HttpResponse:
    plan = get_plan(code)
    versions = list(selectors.versions_of(plan))
    by_number = {v.number: v for v in versions}
    default_a, default_b = _default_pair(versions, in_force(versions, timezone.localdate()))
    b = _int(request.GET.get("b")) or default_b
    a = _int(request.GET.get("a")) or (
        default_a if b == default_b else _previous_number(versions, by_number.get(b))
    )
    old, new = by_number.get(a), by_number.get(b)
    diff = selectors.version_diff(old, new) if old and new else None
    rows = diff_rows(diff, plan.currency) if diff else []
    return render(
        request,
        "billing/catalog/version_diff.html",
        _base(
            request,
            plan=plan,
            versions=versions,
            a=a,
            b=b,
            old=old,
            new=new,
            diff=diff,
            rows=rows,
            header=[
                {
                    "label": h["label"],
                    "old": _shown_setting(h["old"], plan.currency),
                    "new": _shown_setting(h["new"], plan.currency),
                    "changed": h["changed"],
                }
                for h in (diff["header"] if diff else [])
            ],
            changed_count=sum(1 for r in rows if r["status"] != "same"),
            missing=[n for n in (a, b) if n is not None and n not in by_number],
        ),
    )


def _shown_setting(value, currency: str) -> str:
    if value is None:
        return "none"
    if isinstance(value, Decimal):
        return money(value, currency)
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
