"""Django admin for products (through the product services, audited) and a read-only list of
customers (they change through their own services and pages); contracts: billing/contracts/admin.py.

``ServiceForm`` is shared with the catalog admin (billing/admin.py): admin writes call the same
services as the API and the UI."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction

from revops.books import revenue_account_errors
from revops.errors import DomainError
from revops.parties.models import Customer, Product
from revops.parties.services.products import EDITABLE, product_create, product_update_requested


class _DryRun(Exception):
    pass


class ServiceForm(forms.ModelForm):
    """A ModelForm whose ``service_call()`` is tried in ``clean()`` and rolled back, so a refusal by
    the service shows as field errors instead of a server error."""

    def service_call(self, data: dict):  # pragma: no cover - overridden
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            with transaction.atomic():
                self.service_call(data)
                raise _DryRun
        except _DryRun:
            pass
        except DomainError as exc:
            for error in exc.errors or []:
                self.add_error(error.field if error.field in self.fields else None, error.message)
            if not exc.errors:
                self.add_error(None, exc.detail)
        return data


def changed_values(form: forms.ModelForm, editable) -> dict:
    return {k: form.cleaned_data[k] for k in form.changed_data if k in editable}


class ProductForm(ServiceForm):
    class Meta:
        model = Product
        fields = ["code", "name", "description", "recognition", "revenue_account", "active"]

    def clean_revenue_account(self):
        code = (self.cleaned_data.get("revenue_account") or "").strip()
        errors = revenue_account_errors(code)
        if errors:
            raise forms.ValidationError(errors[0].message)
        return code

    def service_call(self, data):
        if self.instance.pk:
            result = product_update_requested(
                product=self.instance, actor=self.user, **changed_values(self, EDITABLE)
            )
            self.approval = result.approval
            return result.product
        return product_create(
            actor=self.user,
            **{k: data.get(k) for k in ("code", "name", "recognition", "revenue_account")},
            description=data.get("description") or "",
        )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = ("code", "name", "recognition", "revenue_account", "active")
    list_filter = ("recognition", "active")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code", "created_at") if obj else ()

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change):
        saved = form.service_call(form.cleaned_data)
        obj.pk, obj.created_at = saved.pk, saved.created_at
        obj.revenue_account = saved.revenue_account  # still the old one while a change awaits approval
        obj.recognition = saved.recognition
        approval = getattr(form, "approval", None)
        if approval is not None:
            what = "revenue account" if "revenue_account" in approval.payload else "recognition"
            key = "revenue_account" if what == "revenue account" else "recognition"
            messages.warning(
                request,
                f"The product has postings: its {what} change to "
                f"{approval.payload[key]['to']} waits for an approver (request #{approval.pk}).",
            )

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: charges, contracts and revenue refer to products


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("external_id", "name", "currency", "timezone", "legal_entity", "created_at")
    list_filter = ("currency", "legal_entity")
    search_fields = ("external_id", "name", "email")
