from .contracts import Contract, ContractLine, ContractVersion
from .renewals import ContractRenewal, RenewalPolicy
from .scheduled import ScheduledChange
from .trials import ContractTrial

__all__ = [
    "Contract",
    "ContractLine",
    "ContractRenewal",
    "ContractTrial",
    "ContractVersion",
    "RenewalPolicy",
    "ScheduledChange",
]
