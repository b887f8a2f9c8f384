from django.urls import re_path

from billing.api import customers, discounts, invoices

ID = r"(?P<pk>[0-9]+)"
REF = r"(?P<ref>[-a-zA-Z0-9_.:@]+)"

urlpatterns = [
    re_path(r"^customers/?$", customers.CustomerListView.as_view(), name="api-customers"),
    re_path(rf"^customers/{REF}/?$", customers.CustomerDetailView.as_view(), name="api-customer"),
    re_path(
        rf"^customers/{REF}/credit-grants/?$",
        discounts.CreditGrantListView.as_view(),
        name="api-customer-credit-grants",
    ),
    re_path(r"^coupons/?$", discounts.CouponListView.as_view(), name="api-coupons"),
    re_path(r"^coupons/(?P<code>[-a-zA-Z0-9_]+)/?$", discounts.CouponDetailView.as_view(), name="api-coupon"),
    re_path(r"^billing-runs/?$", invoices.BillingRunListView.as_view(), name="api-billing-runs"),
    re_path(rf"^billing-runs/{ID}/?$", invoices.BillingRunDetailView.as_view(), name="api-billing-run"),
    re_path(r"^invoices/?$", invoices.InvoiceListView.as_view(), name="api-invoices"),
    re_path(
        r"^invoices/finalize/?$", invoices.InvoiceBulkFinalizeView.as_view(), name="api-invoices-finalize"
    ),
    re_path(
        rf"^invoices/finalize/{ID}/?$",
        invoices.FinalizationRunDetailView.as_view(),
        name="api-finalization-run",
    ),
    re_path(rf"^invoices/{ID}/?$", invoices.InvoiceDetailView.as_view(), name="api-invoice"),
    re_path(
        rf"^invoices/{ID}/finalize/?$", invoices.InvoiceFinalizeView.as_view(), name="api-invoice-finalize"
    ),
    re_path(rf"^invoices/{ID}/refresh/?$", invoices.InvoiceRefreshView.as_view(), name="api-invoice-refresh"),
    re_path(rf"^invoices/{ID}/void/?$", invoices.InvoiceVoidView.as_view(), name="api-invoice-void"),
    re_path(
        rf"^invoices/{ID}/payments/?$", invoices.InvoicePaymentsView.as_view(), name="api-invoice-payments"
    ),
    re_path(
        rf"^invoices/{ID}/payments/(?P<payment_id>[0-9]+)/reverse/?$",
        invoices.PaymentReverseView.as_view(),
        name="api-payment-reverse",
    ),
    re_path(rf"^invoices/{ID}/pdf/?$", invoices.InvoicePdfView.as_view(), name="api-invoice-pdf"),
    re_path(
        rf"^invoices/{ID}/statement/?$", invoices.InvoiceStatementView.as_view(), name="api-invoice-statement"
    ),
    re_path(r"^credit-notes/?$", invoices.CreditNoteListView.as_view(), name="api-credit-notes"),
    re_path(rf"^credit-notes/{ID}/pdf/?$", invoices.CreditNotePdfView.as_view(), name="api-credit-note-pdf"),
]
