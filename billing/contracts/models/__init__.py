from .contracts import Contract, ContractLine, ContractVersion
from .renewals import ContractRenewal, RenewalPolicy
from .scheduled import ScheduledChange

__all__ = [
    "Contract",
    "ContractLine",
    "ContractRenewal",
    "ContractVersion",
    "RenewalPolicy",
    "ScheduledChange",
]
