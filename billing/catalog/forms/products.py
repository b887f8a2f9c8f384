"""Product and meter forms of the pricing UI."""

from __future__ import annotations

from django import forms

from billing.models import Meter
from revops.parties.models import Product, RecognitionMethod


class ProductForm(forms.Form):
    code = forms.SlugField(max_length=64)
    name = forms.CharField(max_length=200)
    recognition = forms.ChoiceField(
        choices=RecognitionMethod.choices,
        initial=RecognitionMethod.RATABLE_DAILY,
        label="Revenue recognition",
        help_text=(
            "When the revenue is earned. Ratable (daily): spread evenly over the service period, day by "
            "day — subscriptions and support. Ratable (monthly): an equal share each month of the term. "
            "Point in time: all at once when delivered — set-up fees, licences. As used: as the customer "
            "consumes it, following the usage billed — metered charges. Milestone: when an agreed "
            "milestone is reached and recorded."
        ),
    )
    revenue_account = forms.CharField(
        max_length=32, initial="4000", help_text="A revenue account (4000, or a sub-account 4001–4799)."
    )
    description = forms.CharField(required=False)

    def clean_revenue_account(self):
        from revops.books import revenue_account_errors

        code = self.cleaned_data["revenue_account"].strip()
        errors = revenue_account_errors(code)
        if errors:
            raise forms.ValidationError(errors[0].message)
        return code


class MeterForm(forms.Form):
    code = forms.SlugField(max_length=64, help_text="Events are sent with this code.")
    name = forms.CharField(max_length=200)
    aggregation = forms.ChoiceField(choices=Meter.Aggregation.choices)
    field = forms.CharField(
        max_length=64, required=False, label="Property aggregated", help_text="Not needed for count."
    )
    group_by = forms.CharField(
        required=False, label="Group by", help_text="Comma-separated property names, e.g. model, token_type."
    )
    description = forms.CharField(required=False)
    allow_negative = forms.BooleanField(
        required=False,
        label="Allow negative values",
        help_text="Off: an event with a negative value is quarantined at ingestion.",
    )

    def service_kwargs(self) -> dict:
        cd = self.cleaned_data
        code = {"code": cd["code"]} if "code" in self.fields else {}  # an existing meter keeps its code
        return code | {
            "name": cd["name"],
            "aggregation": cd["aggregation"],
            "field": cd["field"].strip(),
            "group_by": [g.strip() for g in cd["group_by"].split(",") if g.strip()],
            "description": cd["description"],
            "allow_negative": cd["allow_negative"],
        }


def products_and_meters() -> tuple[list[Product], list[Meter]]:
    return list(Product.objects.filter(active=True).order_by("code")), list(Meter.objects.order_by("code"))


class ProductEditForm(ProductForm):
    """An existing product: its code is its identity (charges, invoices and postings name it)."""

    active = forms.BooleanField(required=False, help_text="Off: no new charge can use it.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]

    @classmethod
    def of(cls, product: Product, data=None) -> ProductEditForm:
        return cls(data, initial={k: getattr(product, k) for k in ProductEditForm.base_fields if k != "code"})


class MeterEditForm(MeterForm):
    """An existing meter: its code is what events are sent with."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]

    @classmethod
    def of(cls, meter: Meter, data=None) -> MeterEditForm:
        initial = {k: getattr(meter, k) for k in MeterForm.base_fields if k not in ("code", "group_by")}
        initial["group_by"] = ", ".join(meter.group_by or [])
        return cls(data, initial=initial)
