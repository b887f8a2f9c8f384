"""Finance pages of billing, mounted at "" by billing/urls.py: customers, billing runs and invoices
(contract pages: billing/contracts/urls.py)."""

from django.urls import path

from billing.views import (
    credit_notes,
    customers,
    documents,
    invoice_lines,
    invoices,
    payments,
    runs,
    settings,
)

urlpatterns = [
    # customers
    path("customers/", customers.customer_list, name="customers"),
    path("customers/new/", customers.customer_create_view, name="customer-create"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer"),
    path("customers/<int:pk>/edit/", customers.customer_edit_view, name="customer-edit"),
    path("customers/<int:pk>/credits/", customers.credit_grant_view, name="customer-credit-grant"),
    path("customers/<int:pk>/grace/", customers.customer_grace_view, name="customer-grace"),
    # billing settings (the organization's grace period before drafts finalize themselves)
    path("billing/settings/", settings.billing_settings_view, name="billing-settings"),
    # billing runs
    path("billing/runs/", runs.run_list, name="billing-runs"),
    path("billing/runs/<int:pk>/", runs.run_detail, name="billing-run"),
    path("billing/runs/<int:pk>/live/", runs.run_live, name="billing-run-live"),
    # invoices
    path("invoices/", invoices.invoice_list_view, name="invoices"),
    path("invoices/finalize/", invoices.invoice_bulk_finalize, name="invoices-finalize"),
    path("invoices/finalize/<int:pk>/", invoices.finalization_run_detail, name="finalization-run"),
    path("invoices/<int:pk>/", invoices.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/refresh/", invoices.invoice_refresh, name="invoice-refresh"),
    path("invoices/<int:pk>/finalize/", invoices.invoice_finalize_view, name="invoice-finalize"),
    path("invoices/<int:pk>/void/", invoices.invoice_void_view, name="invoice-void"),
    path("invoices/<int:pk>/payments/", payments.invoice_payment_view, name="invoice-payment"),
    path(
        "invoices/<int:pk>/payments/<int:payment_id>/reverse/",
        payments.payment_reverse_view,
        name="invoice-payment-reverse",
    ),
    path("invoices/<int:pk>/credit-note/", credit_notes.credit_note_view, name="invoice-credit-note"),
    path("invoices/<int:pk>/pdf/", invoices.invoice_pdf, name="invoice-pdf"),
    path("invoices/<int:pk>/statement/", documents.invoice_statement, name="invoice-statement"),
    path(
        "invoices/<int:pk>/credit-notes/<int:note_id>/pdf/",
        documents.credit_note_document,
        name="credit-note-pdf",
    ),
    path("invoices/<int:pk>/lines/<int:line_id>/", invoice_lines.invoice_line_detail, name="invoice-line"),
]
