"""Customers API (api.md: Customers, contracts, usage): list, create, read and update, through the
kernel's customer services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from revops.core.api.fields import DecimalStringField, decimal_str
from revops.core.api.serializers import InputModelSerializer
from revops.core.api.views import ApiGenericView
from revops.core.filters import ApiFilterBackend
from revops.errors import ValidationFailed
from revops.parties.filters import CustomerFilter
from revops.parties.models import Customer
from revops.parties.models.customers import MAX_GRACE_HOURS
from revops.parties.services.customers import customer_by_ref, customer_create, customer_update


class CustomerSerializer(InputModelSerializer):
    timezone = serializers.CharField(max_length=64, required=False, default="UTC")
    tax_rate = DecimalStringField(required=False, min_value=0, max_value=100, max_digits=7, decimal_places=4)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    currency = serializers.CharField(max_length=3)
    external_id = serializers.CharField(max_length=128)
    auto_finalize_grace_hours = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_GRACE_HOURS,
        help_text="Hours this customer's drafts stay open after they were created before they finalize "
        "themselves; null: the organization's grace period (GET /billing-settings); 0: at once",
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "external_id",
            "name",
            "currency",
            "timezone",
            "email",
            "tax_rate",
            "address",
            "auto_finalize_grace_hours",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {"address": {"required": False}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["tax_rate"] = decimal_str(instance.tax_rate)
        return data


class CustomerListView(ApiGenericView):
    area = "customers"
    list_view = True
    serializer_class = CustomerSerializer
    queryset = Customer.objects.all()
    filter_backends = [ApiFilterBackend]
    filterset_class = CustomerFilter

    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CustomerSerializer(page, many=True).data)

    @extend_schema(request=CustomerSerializer, responses={201: CustomerSerializer})
    def post(self, request):
        data = CustomerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_create(actor=request.user, **data.validated_data)
        return Response(CustomerSerializer(customer).data, status=201)


class CustomerDetailView(ApiGenericView):
    area = "customers"
    serializer_class = CustomerSerializer

    def get(self, request, ref):
        return Response(CustomerSerializer(customer_by_ref(ref)).data)

    def patch(self, request, ref):
        customer = customer_by_ref(ref)
        if isinstance(request.data, dict) and "external_id" in request.data:
            # The customer's key in the caller's systems and in every URL: fixed once created (api.md,
            # unknown or read-only fields are a 400 naming them — it was silently ignored).
            raise ValidationFailed(
                "external_id cannot be changed once the customer exists.", field="external_id"
            )
        data = CustomerSerializer(customer, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        return Response(
            CustomerSerializer(customer_update(customer=customer, actor=request.user, **changes)).data
        )
