from .contracts import Contract, ContractLine, ContractVersion
from .scheduled import ScheduledChange

__all__ = ["Contract", "ContractLine", "ContractVersion", "ScheduledChange"]
