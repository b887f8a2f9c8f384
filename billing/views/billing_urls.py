"""Finance pages of billing, mounted at "" by billing/urls.py: customers, contracts, billing runs and
invoices."""

from django.urls import path

from billing.views import contracts, credit_notes, customers, invoice_lines, invoices, runs

urlpatterns = [
    # customers
    path("customers/", customers.customer_list, name="customers"),
    path("customers/new/", customers.customer_create_view, name="customer-create"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer"),
    path("customers/<int:pk>/credits/", customers.credit_grant_view, name="customer-credit-grant"),
    # contracts
    path("contracts/", contracts.contract_list, name="contracts"),
    path("contracts/new/", contracts.contract_create_view, name="contract-create"),
    path("contracts/_line-row/", contracts.contract_line_row, name="contract-line-row"),
    path("contracts/<int:pk>/", contracts.contract_detail, name="contract"),
    path("contracts/<int:pk>/submit/", contracts.contract_submit_view, name="contract-submit"),
    path("contracts/<int:pk>/activate/", contracts.contract_activate_view, name="contract-activate"),
    path("contracts/<int:pk>/terminate/", contracts.contract_terminate_view, name="contract-terminate"),
    path("contracts/<int:pk>/amend/", contracts.contract_amend_view, name="contract-amend"),
    path(
        "contracts/<int:pk>/amend/preview/", contracts.contract_amend_preview, name="contract-amend-preview"
    ),
    # billing runs
    path("billing/runs/", runs.run_list, name="billing-runs"),
    path("billing/runs/<int:pk>/", runs.run_detail, name="billing-run"),
    path("billing/runs/<int:pk>/live/", runs.run_live, name="billing-run-live"),
    # invoices
    path("invoices/", invoices.invoice_list_view, name="invoices"),
    path("invoices/finalize/", invoices.invoice_bulk_finalize, name="invoices-finalize"),
    path("invoices/<int:pk>/", invoices.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/refresh/", invoices.invoice_refresh, name="invoice-refresh"),
    path("invoices/<int:pk>/finalize/", invoices.invoice_finalize_view, name="invoice-finalize"),
    path("invoices/<int:pk>/void/", invoices.invoice_void_view, name="invoice-void"),
    path("invoices/<int:pk>/payments/", invoices.invoice_payment_view, name="invoice-payment"),
    path("invoices/<int:pk>/credit-note/", credit_notes.credit_note_view, name="invoice-credit-note"),
    path("invoices/<int:pk>/pdf/", invoices.invoice_pdf, name="invoice-pdf"),
    path("invoices/<int:pk>/lines/<int:line_id>/", invoice_lines.invoice_line_detail, name="invoice-line"),
]
