"""Every action the audit trail records, as one typed enumeration (house-style: Append-only records).

The values are the strings stored in ``AuditEvent.action`` and covered by each event's keyed hash: they
never change (a renamed value would be a new action; old events keep the old one). ``audit_record``
accepts members only, so a misspelt action fails where it is written, not in an auditor's search."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    API_TOKEN_CREATED = "api_token.created"  # noqa: S105 - an action name, not a secret
    API_TOKEN_RENAMED = "api_token.renamed"  # noqa: S105 - an action name, not a secret
    API_TOKEN_REVOKED = "api_token.revoked"  # noqa: S105 - an action name, not a secret

    APPROVAL_APPROVED = "approval.approved"
    APPROVAL_REJECTED = "approval.rejected"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_SUPERSEDED = "approval.superseded"
    APPROVAL_WITHDRAWN = "approval.withdrawn"

    AUDIT_CHAIN_KEYED = "audit.chain_keyed"

    AUTH_LOCKED_OUT = "auth.locked_out"
    AUTH_LOGIN_FAILED = "auth.login_failed"

    BILLING_RUN_COMPLETED = "billing_run.completed"
    BILLING_RUN_STARTED = "billing_run.started"

    BILLING_SETTINGS_CHANGED = "billing_settings.changed"

    COMPLIANCE_RUN = "compliance.run"

    CONTRACT_ACTIVATED = "contract.activated"
    CONTRACT_AMENDED = "contract.amended"
    CONTRACT_AMENDMENT_REVERTED = "contract.amendment_reverted"
    CONTRACT_CANCEL_SCHEDULED = "contract.cancel_scheduled"
    CONTRACT_CANCELED = "contract.canceled"
    CONTRACT_CHANGE_SCHEDULED = "contract.change_scheduled"
    CONTRACT_CREATED = "contract.created"
    CONTRACT_DRAFT_EDITED = "contract.draft_edited"
    CONTRACT_PRICE_OVERRIDE_REJECTED = "contract.price_override_rejected"
    CONTRACT_PRICE_OVERRIDE_REQUESTED = "contract.price_override_requested"
    CONTRACT_PRICE_OVERRIDE_VOIDED = "contract.price_override_voided"
    CONTRACT_SCHEDULED_CHANGE_APPLIED = "contract.scheduled_change_applied"
    CONTRACT_SCHEDULED_CHANGE_FAILED = "contract.scheduled_change_failed"
    CONTRACT_SCHEDULED_CHANGE_WITHDRAWN = "contract.scheduled_change_withdrawn"
    CONTRACT_RENEWAL_POLICY_CHANGED = "contract.renewal_policy_changed"
    CONTRACT_RENEWAL_REJECTED = "contract.renewal_rejected"
    CONTRACT_RENEWAL_REQUESTED = "contract.renewal_requested"
    CONTRACT_RENEWED = "contract.renewed"
    CONTRACT_SUBMITTED = "contract.submitted"
    CONTRACT_TERMINATED = "contract.terminated"
    CONTRACT_TRIAL_CANCELED = "contract.trial_canceled"
    CONTRACT_TRIAL_CONVERTED = "contract.trial_converted"
    CONTRACT_TRIAL_ENDING = "contract.trial_ending"

    COUPON_APPLIED = "coupon.applied"
    COUPON_CHANGE_REQUESTED = "coupon.change_requested"
    COUPON_CHANGED = "coupon.changed"
    COUPON_CREATED = "coupon.created"

    CREDIT_GRANT_CREATED = "credit_grant.created"
    CREDIT_GRANT_EXPIRED = "credit_grant.expired"
    CREDIT_GRANT_GOODWILL_REQUESTED = "credit_grant.goodwill_requested"
    CREDIT_GRANT_PURCHASED_REQUESTED = "credit_grant.purchased_requested"

    CREDIT_NOTE_ISSUED = "credit_note.issued"

    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"

    EVIDENCE_DOWNLOADED = "evidence.downloaded"

    EXCEPTION_OPENED = "exception.opened"
    EXCEPTION_RESOLVED = "exception.resolved"
    EXCEPTION_WAIVED = "exception.waived"
    EXCEPTION_WAIVER_LAPSED = "exception.waiver_lapsed"

    GROUP_CREATED = "group.created"
    GROUP_DELETED = "group.deleted"
    GROUP_PERMISSIONS_CHANGED = "group.permissions_changed"

    INVOICE_DOCUMENT_STORED = "invoice.document_stored"
    INVOICE_DRAFTED = "invoice.drafted"
    INVOICE_FINALIZATION_COMPLETED = "invoice_finalization.completed"
    INVOICE_FINALIZATION_STARTED = "invoice_finalization.started"
    INVOICE_FINALIZED = "invoice.finalized"
    INVOICE_PAID = "invoice.paid"
    INVOICE_REFRESHED = "invoice.refreshed"
    INVOICE_TOPPED_UP = "invoice.topped_up"
    INVOICE_VOIDED = "invoice.voided"

    METER_CREATED = "meter.created"
    METER_UPDATED = "meter.updated"

    MODIFICATION_APPLIED = "modification.applied"
    MODIFICATION_PROPOSED = "modification.proposed"
    MODIFICATION_REJECTED = "modification.rejected"
    MODIFICATION_SUPERSEDED = "modification.superseded"
    MODIFICATION_TREATMENT_CHOSEN = "modification.treatment_chosen"

    OBLIGATION_COST_RECORDED = "obligation.cost_recorded"
    OBLIGATION_EXPECTED_COSTS_REJECTED = "obligation.expected_costs_rejected"
    OBLIGATION_MODIFIED = "obligation.modified"
    OBLIGATION_REALLOCATED = "obligation.reallocated"

    OBLIGATIONS_ALLOCATED = "obligations.allocated"

    PAYMENT_RECORDED = "payment.recorded"
    PAYMENT_REVERSED = "payment.reversed"

    PERIOD_CLOSED = "period.closed"
    PERIOD_REOPENED = "period.reopened"

    PLAN_CREATED = "plan.created"
    PLAN_UPDATED = "plan.updated"

    PLAN_VERSION_CREATED = "plan_version.created"
    PLAN_VERSION_DRAFT_DISCARDED = "plan_version.draft_discarded"
    PLAN_VERSION_DRAFT_UPDATED = "plan_version.draft_updated"
    PLAN_VERSION_PUBLISH_REJECTED = "plan_version.publish_rejected"
    PLAN_VERSION_PUBLISH_REQUESTED = "plan_version.publish_requested"
    PLAN_VERSION_PUBLISHED = "plan_version.published"

    PRODUCT_ACCOUNT_CHANGE_REJECTED = "product.account_change_rejected"
    PRODUCT_ACCOUNT_CHANGE_REQUESTED = "product.account_change_requested"
    PRODUCT_CREATED = "product.created"
    PRODUCT_RECOGNITION_CHANGE_REJECTED = "product.recognition_change_rejected"
    PRODUCT_RECOGNITION_CHANGE_REQUESTED = "product.recognition_change_requested"
    PRODUCT_UPDATED = "product.updated"

    REVENUE_RECOGNIZED = "revenue.recognized"

    REVENUE_RUN_COMPLETED = "revenue_run.completed"
    REVENUE_RUN_STARTED = "revenue_run.started"

    SCHEDULE_APPROVED = "schedule.approved"
    SCHEDULE_CREATED = "schedule.created"
    SCHEDULE_REJECTED = "schedule.rejected"
    SCHEDULE_REVISED = "schedule.revised"
    SCHEDULE_SUPERSEDED = "schedule.superseded"

    SOD_EXCEPTION_RECORDED = "sod_exception.recorded"
    SOD_EXCEPTION_REVOKED = "sod_exception.revoked"

    SSP_APPROVED = "ssp.approved"
    SSP_PROPOSED = "ssp.proposed"
    SSP_REJECTED = "ssp.rejected"

    USAGE_QUARANTINE_DISCARDED = "usage.quarantine.discarded"
    USAGE_QUARANTINE_REPLAYED = "usage.quarantine.replayed"

    USER_ACTIVATED = "user.activated"
    USER_CREATED = "user.created"
    USER_DEACTIVATED = "user.deactivated"
    USER_DELETED = "user.deleted"
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 - an action name, not a secret
    USER_PRIVILEGES_CHANGED = "user.privileges_changed"
    USER_ROLE_GRANTED = "user.role_granted"
    USER_ROLE_REVOKED = "user.role_revoked"

    VARIABLE_CONSIDERATION_RE_ESTIMATE_REJECTED = "variable_consideration.re_estimate_rejected"
    VARIABLE_CONSIDERATION_RE_ESTIMATED = "variable_consideration.re_estimated"

    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_DEACTIVATED = "webhook_endpoint.deactivated"
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated"  # noqa: S105 - an action name, not a secret
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated"
