"""Django admin for the catalog: meters, plans (versions and charges read-only), coupons.

Writes go through the catalog services, like the API and the pricing pages, so the same rules apply
and every change is audited: the form first runs the service inside a rolled-back transaction to show
its field errors, then ``save_model`` runs it for real. Published versions are never deleted."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from billing.catalog import services
from billing.contracts import admin as contracts_admin  # noqa: F401  (registers the contract admin)
from billing.models import Charge, Coupon, Meter, Plan, PlanVersion
from revops.parties.admin import ServiceForm, changed_values

# --- meters -------------------------------------------------------------------------------------

METER_EDITABLE = ("name", "description", "aggregation", "field", "filters", "group_by", "allow_negative")


class MeterForm(ServiceForm):
    class Meta:
        model = Meter
        fields = [
            "code",
            "name",
            "description",
            "aggregation",
            "field",
            "filters",
            "group_by",
            "allow_negative",
        ]

    def service_call(self, data):
        if self.instance.pk:
            return services.meter_update(
                meter=self.instance, actor=self.user, **changed_values(self, METER_EDITABLE)
            )
        return services.meter_create(
            actor=self.user,
            **{k: data.get(k) for k in ("code", "name", "aggregation", "description")},
            field=data.get("field") or "",
            filters=data.get("filters") or {},
            group_by=data.get("group_by") or [],
            allow_negative=bool(data.get("allow_negative")),
        )


@admin.register(Meter)
class MeterAdmin(admin.ModelAdmin):
    form = MeterForm
    list_display = ("code", "name", "aggregation", "field", "group_by", "charge_count")
    list_filter = ("aggregation",)
    search_fields = ("code", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_charges=Count("charges"))

    @admin.display(description="Charges", ordering="n_charges")
    def charge_count(self, obj):
        return obj.n_charges

    def get_readonly_fields(self, request, obj=None):
        return ("code", "created_at") if obj else ()

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change):
        saved = form.service_call(form.cleaned_data)
        obj.pk, obj.created_at = saved.pk, saved.created_at

    def has_delete_permission(self, request, obj=None):
        return False  # charges and usage refer to meters


# --- plans, versions, charges (read-only) -------------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PlanVersionInline(ReadOnlyInline):
    model = PlanVersion
    fields = (
        "number",
        "effective_from",
        "status",
        "minimum_amount",
        "published_at",
        "published_by",
        "charge_count",
    )
    readonly_fields = fields
    ordering = ("-number",)

    @admin.display(description="Charges")
    def charge_count(self, obj):
        return obj.charges.count()


class ChargeInline(ReadOnlyInline):
    model = Charge
    fields = ("position", "code", "name", "product", "meter", "model", "timing", "properties", "filters")
    readonly_fields = fields
    show_change_link = False


PLAN_EDITABLE = ("name", "description", "version_policy")


class PlanForm(ServiceForm):
    class Meta:
        model = Plan
        fields = ["name", "description", "version_policy"]

    def service_call(self, data):
        return services.plan_update(
            plan=self.instance, actor=self.user, **changed_values(self, PLAN_EDITABLE)
        )


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    """Plans are created in the pricing pages or the API (with their first version); here only the
    name, description and version policy can change. Prices change by publishing a new version."""

    form = PlanForm
    list_display = ("code", "name", "currency", "interval", "version_policy", "version_count")
    list_filter = ("currency", "interval")
    search_fields = ("code", "name")
    readonly_fields = ("code", "currency", "interval", "created_by", "created_at")
    fields = (
        "code",
        "name",
        "description",
        "currency",
        "interval",
        "version_policy",
        "created_by",
        "created_at",
    )
    inlines = [PlanVersionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_versions=Count("versions"))

    @admin.display(description="Versions", ordering="n_versions")
    def version_count(self, obj):
        return obj.n_versions

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user
        return form

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        form.service_call(form.cleaned_data)


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    """Read-only: nothing is published from here (publishing goes through ``plan_version_publish`` in
    the pricing pages and the API, with its approval rules). A draft may be deleted
    (``plan_version_discard_draft``) unless it waits for an approver; a published version never."""

    list_display = ("__str__", "plan", "number", "effective_from", "status", "published_at")
    list_filter = ("status", "plan")
    readonly_fields = (
        "plan",
        "number",
        "effective_from",
        "status",
        "minimum_amount",
        "notes",
        "created_by",
        "created_at",
        "published_at",
        "published_by",
    )
    fields = readonly_fields
    inlines = [ChargeInline]
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.is_published or services.publish_request_for(obj) is not None):
            return False  # a draft waiting for an approver is decided in the approval queue first
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.plan_version_discard_draft(version=obj, actor=request.user)


# --- coupons ------------------------------------------------------------------------------------


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    """Read-only: a coupon is created or changed only through an approved ``coupon_change`` request
    (the pricing page or ``POST/PATCH /api/v1/coupons``), never by saving it here."""

    list_display = (
        "code",
        "name",
        "kind",
        "value",
        "currency",
        "duration",
        "duration_periods",
        "active",
        "version",
    )
    list_filter = ("kind", "duration", "active")
    search_fields = ("code", "name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate (through a request) instead: invoices may refer to a coupon
