"""Contract writes (one module per concern): ``lifecycle`` (create, submit, activate, terminate),
``amend`` (amendments and their preview), ``changes`` (applying an amendment),
``override_requests`` (price-override requests and their re-binding), ``revert`` (undoing a rejected
amendment) and ``renewals`` (renewal policy, notice of non-renewal, the daily renewal step). Input is checked by ``billing.contracts.validation``; what a contract is worth by
``billing.contracts.value``; reads are in ``billing.contracts.selectors``.

The names below are the services other apps and the API/UI call."""

from billing.contracts.services.amend import contract_amend, proration_preview
from billing.contracts.services.lifecycle import (
    TRANSITIONS,
    contract_activate,
    contract_create,
    contract_submit,
    contract_terminate,
    transition,
)
from billing.contracts.services.override_requests import override_rebind
from billing.contracts.services.renewals import (
    contract_renew,
    contracts_renew_due,
    renewal_decline,
    renewal_policy_set,
)
from billing.contracts.services.revert import contract_amendment_revert
from billing.contracts.services.trials import contract_trial_cancel
from billing.contracts.value import contract_transaction_price, line_fixed_value

__all__ = [
    "TRANSITIONS",
    "contract_activate",
    "contract_amend",
    "contract_amendment_revert",
    "contract_create",
    "contract_renew",
    "contracts_renew_due",
    "contract_submit",
    "contract_terminate",
    "contract_trial_cancel",
    "contract_transaction_price",
    "line_fixed_value",
    "override_rebind",
    "proration_preview",
    "renewal_decline",
    "renewal_policy_set",
    "transition",
]
